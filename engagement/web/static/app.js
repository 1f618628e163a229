// engagebot: keyboard shortcuts, live SLA countdowns, template insertion. No inline scripts (CSP).
(function () {
  "use strict";

  function typing(event) {
    var t = event.target;
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }

  // --- queue rows: j/k to move, Enter/o to open; the selection survives HTMX polling ---
  var selectedCase = sessionStorage.getItem("engagebot.selected");
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("table[data-rows] tbody tr[data-href]")); }
  function select(row) {
    rows().forEach(function (r) { r.classList.remove("selected"); });
    if (!row) { return; }
    row.classList.add("selected");
    selectedCase = row.getAttribute("data-case");
    sessionStorage.setItem("engagebot.selected", selectedCase);
    row.scrollIntoView({ block: "nearest" });
  }
  function restoreSelection() {
    if (!selectedCase) { return; }
    var row = document.querySelector('tr[data-case="' + CSS.escape(selectedCase) + '"]');
    if (row) { row.classList.add("selected"); }
  }
  function move(step) {
    var all = rows();
    if (!all.length) { return; }
    var index = all.findIndex(function (r) { return r.classList.contains("selected"); });
    index = index < 0 ? 0 : Math.min(all.length - 1, Math.max(0, index + step));
    select(all[index]);
  }

  // --- SLA countdown, refreshed every 30 s between server polls ---
  function fmt(seconds) {
    seconds = Math.abs(Math.floor(seconds));
    var d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600), m = Math.floor((seconds % 3600) / 60);
    if (d) { return d + "d " + h + "h"; }
    if (h) { return h + "h " + String(m).padStart(2, "0") + "m"; }
    return m + "m";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-due]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-due"));
      if (isNaN(due)) { return; }
      var left = (due - now) / 1000;
      el.textContent = left < 0 ? "overdue " + fmt(left) : "due in " + fmt(left);
      el.classList.toggle("overdue", left < 0);
    });
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.key === "Escape" && typing(event)) { event.target.blur(); return; }
    if (typing(event)) { return; }
    var key = event.key;
    if (key === "j") { move(1); }
    else if (key === "k") { move(-1); }
    else if (key === "Enter" || key === "o") {
      var row = document.querySelector("tr.selected[data-href]");
      if (row) { window.location.href = row.getAttribute("data-href"); } else { return; }
    }
    else if (key === "n") {
      var next = document.getElementById("next-form");
      if (next) { next.requestSubmit(); } else { window.location.href = "/queue"; }
    }
    else if (key === "/") {
      var q = document.getElementById("q");
      if (q) { q.focus(); q.select(); } else { return; }
    }
    else if (key === "c") {
      var claim = document.getElementById("claim");
      if (claim && !claim.disabled) { claim.form.requestSubmit(); } else { return; }
    }
    else if (key === "r") {
      var text = document.getElementById("reply-text");
      if (text) { text.focus(); } else { return; }
    }
    else if (key === "Escape") {
      if (document.querySelector(".case-head")) { window.location.href = "/queue"; } else { return; }
    }
    else { return; }
    event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    var back = event.target.closest("[data-back]");
    if (back && window.history.length > 1) { event.preventDefault(); window.history.back(); return; }
    var row = event.target.closest("tr[data-href]");
    if (row && !event.target.closest("a, button, summary, details, form")) {
      window.location.href = row.getAttribute("data-href");
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.id !== "template") { return; }
    var option = event.target.selectedOptions[0];
    var text = document.getElementById("reply-text");
    if (text && option && option.getAttribute("data-text") !== null) {
      text.value = option.getAttribute("data-text");
      text.focus();
    }
  });

  // Keep open "why" panels open across HTMX polling swaps.
  var openWhy = new Set();
  document.addEventListener("toggle", function (event) {
    var row = event.target.closest && event.target.closest("tr[data-case]");
    if (!row || !event.target.matches("details.why")) { return; }
    if (event.target.open) { openWhy.add(row.getAttribute("data-case")); } else { openWhy.delete(row.getAttribute("data-case")); }
  }, true);
  document.addEventListener("htmx:afterSwap", function () {
    restoreSelection();
    openWhy.forEach(function (id) {
      var d = document.querySelector('tr[data-case="' + CSS.escape(id) + '"] details.why');
      if (d) { d.open = true; }
    });
    tick();
  });

  document.addEventListener("DOMContentLoaded", function () { restoreSelection(); tick(); });
  setInterval(tick, 30000);
})();
