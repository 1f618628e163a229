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

  function refresh() {
    boxes().forEach(function (box) { box.checked = picked.has(box.value); });
    const all = document.getElementById("select-all");
    if (all) all.checked = boxes().length > 0 && boxes().every(function (b) { return b.checked; });
    count.textContent = picked.size + " selected";
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
  document.body.addEventListener("htmx:afterSwap", refresh);
  action.addEventListener("change", showFields);
  showFields();
  refresh();
})();
