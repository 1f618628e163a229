// The queue page's bulk bar: pick cases with the row checkboxes, then apply one action.
// Checked boxes survive the table's live refreshes (HTMX swaps it), and only the field the
// chosen action needs is shown. Without this script every field shows and the form still works.
(function () {
  "use strict";
  const picked = new Set();
  const form = document.getElementById("bulk");
  if (!form) return;
  const count = document.getElementById("bulk-count");
  const action = document.getElementById("bulk-action");
  const apply = document.getElementById("bulk-apply");

  function boxes() { return Array.from(document.querySelectorAll("input.pick-case")); }

  let gone = [];  // ids dropped from the selection by the last refresh of the table, and why

  // Only listed rows can be submitted (the checkboxes are the form's fields), so a picked case
  // whose row left the table (handled by someone else, or filtered out) leaves the selection,
  // and the count says so instead of promising more than the action will touch.
  function dropMissing(why) {
    const listed = new Set(boxes().map(function (box) { return box.value; }));
    const dropped = Array.from(picked).filter(function (id) { return !listed.has(id); });
    dropped.forEach(function (id) { picked.delete(id); });
    gone = dropped.length ? dropped.map(function (id) { return "case " + id + " " + why; }) : [];
  }

  function refresh() {
    boxes().forEach(function (box) { box.checked = picked.has(box.value); });
    const all = document.getElementById("select-all");
    if (all) all.checked = boxes().length > 0 && boxes().every(function (b) { return b.checked; });
    count.textContent = window.engagebotText("%(num)s selected", { num: picked.size }) + (gone.length ? "; " + gone.join(", ") : "");
    apply.disabled = picked.size === 0;
    form.classList.toggle("active", picked.size > 0);
  }

  function showFields() {
    form.querySelectorAll("[data-for]").forEach(function (el) {
      el.hidden = el.getAttribute("data-for") !== action.value;
    });
  }

  document.addEventListener("change", function (event) {
    const target = event.target;
    if (target.matches && target.matches("input.pick-case")) {
      if (target.checked) picked.add(target.value); else picked.delete(target.value);
      refresh();
    } else if (target.id === "select-all") {
      boxes().forEach(function (box) { if (target.checked) picked.add(box.value); else picked.delete(box.value); });
      refresh();
    }
  });
  // A click on a checkbox must not open the case (rows open on click).
  document.addEventListener("click", function (event) {
    if (event.target.matches && event.target.matches("td.pick, td.pick *, th.pick *")) event.stopPropagation();
  }, true);
  document.body.addEventListener("htmx:afterSwap", function (event) {
    const source = event.detail && event.detail.requestConfig ? event.detail.requestConfig.elt : null;
    const byFilters = source && source.id === "filters";
    dropMissing(byFilters ? "is not shown with these filters" : "left the queue");
    refresh();
  });
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("input.pick-case, #select-all")) gone = [];
  }, true);
  // After the action, come back to the same filters (the bar changes them without a reload).
  form.addEventListener("submit", function () {
    const filters = document.getElementById("filters");
    const next = form.querySelector("input[name=next]");
    if (!filters || !next) return;
    const query = new URLSearchParams(new FormData(filters)).toString();
    next.value = "/queue" + (query ? "?" + query : "");
  });
  action.addEventListener("change", showFields);
  showFields();
  refresh();
})();
