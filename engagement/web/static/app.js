// engagebot: keyboard shortcuts, live SLA countdowns, template insertion. No inline scripts (CSP).
(function () {
  "use strict";

  // The page scripts' words in the page's language (base.html's #ui-texts, from the catalogue):
  // engagebotText("%(num)s selected", {num: 3}); an unknown text comes back as it is.
  var texts = {};
  try { texts = JSON.parse((document.getElementById("ui-texts") || {}).textContent || "{}"); } catch (e) { texts = {}; }
  window.engagebotText = function (text, values) {
    var said = texts[text] || text;
    return said.replace(/%\((\w+)\)s/g, function (_, key) { return values && key in values ? values[key] : ""; });
  };
  var t = window.engagebotText;

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
    if (d) { return t("%(days)sd %(hours)sh", { days: d, hours: h }); }
    if (h) { return t("%(hours)sh %(minutes)sm", { hours: h, minutes: String(m).padStart(2, "0") }); }
    return t("%(minutes)sm", { minutes: m });
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-due]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-due"));
      if (isNaN(due)) { return; }
      var left = (due - now) / 1000;
      el.textContent = left < 0 ? t("overdue %(duration)s", { duration: fmt(left) }) : t("due in %(duration)s", { duration: fmt(left) });
      el.classList.toggle("overdue", left < 0);
    });
  }

  function focusField(id) {
    var el = document.getElementById(id);
    if (!el) { return false; }
    el.focus();
    if (el.select && el.tagName === "INPUT") { el.select(); }
    return true;
  }
  function submitButton(id) {
    var button = document.getElementById(id);
    if (!button || button.disabled) { return false; }
    button.form.requestSubmit(button);
    return true;
  }
  function hasDraft() {
    var text = document.getElementById("reply-text");
    return !!text && text.value.trim() !== "";
  }
  function showHelp() {
    var help = document.getElementById("keys-help");
    if (help && !help.open) { help.showModal(); }
    return !!help;
  }

  // Every action has a key (the list is on "?", from base.html's #keys-help).
  var keys = {
    "j": function () { move(1); return true; },
    "k": function () { move(-1); return true; },
    "Enter": openSelected,
    "o": openSelected,
    "n": function () {
      var next = document.getElementById("next-form");
      if (next) { next.requestSubmit(); } else { window.location.href = "/queue"; }
      return true;
    },
    "/": function () { return focusField("q"); },
    "c": function () { return submitButton("claim"); },
    "u": function () { return submitButton("release"); },
    "t": function () { return submitButton("take-over"); },
    "r": function () { return focusField("reply-text"); },
    "p": function () { return focusField("template"); },
    "y": function () { return submitButton("approve-reply"); },
    "i": function () { var b = document.querySelector(".identity-confirm"); if (b) { b.focus(); } return !!b; },
    "b": function () { return focusField("send-back-reason"); },
    "x": function () { return focusField("dismiss-reason"); },
    "e": function () { return focusField("escalate-reason"); },
    "a": function () { return focusField("reassign-to"); },
    "l": function () { var s = document.querySelector(".label-form select"); if (s) { s.focus(); } return !!s; },
    "?": showHelp,
    "Escape": function () {
      if (!document.querySelector(".case-head")) { return false; }
      if (hasDraft()) {
        // Esc never leaves a case with text in the reply box: the draft stays, and so do we.
        var status = document.getElementById("draft-status");
        if (status) { status.textContent = t("You have a draft here: send it, or clear it before leaving with Esc."); }
        document.getElementById("reply-text").focus();
        return true;
      }
      window.location.href = "/queue";
      return true;
    }
  };
  function openSelected() {
    var row = document.querySelector("tr.selected[data-href]");
    if (row) { window.location.href = row.getAttribute("data-href"); }
    return !!row;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.key === "Escape" && typing(event)) { event.target.blur(); event.preventDefault(); return; }
    if (typing(event)) { return; }
    if (document.querySelector("dialog[open]")) { return; }
    var action = Object.prototype.hasOwnProperty.call(keys, event.key) ? keys[event.key] : null;
    if (action && action()) { event.preventDefault(); }
  });

  document.addEventListener("click", function (event) {
    var back = event.target.closest("[data-back]");
    if (back && window.history.length > 1) { event.preventDefault(); window.history.back(); return; }
    var row = event.target.closest("tr[data-href]");
    if (row && !event.target.closest("a, button, summary, details, form")) {
      window.location.href = row.getAttribute("data-href");
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

  // On a phone the filter bar folds to the search box and a "More filters" button.
  function compactFilters() {
    var form = document.getElementById("filters");
    if (!form || !window.matchMedia("(max-width: 640px)").matches) { return; }
    form.classList.add("collapsed");
    var toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "filters-toggle";
    toggle.id = "filters-toggle";
    toggle.textContent = t("More filters");
    toggle.setAttribute("aria-expanded", "false");
    toggle.addEventListener("click", function () {
      var open = !form.classList.toggle("collapsed");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      toggle.textContent = open ? t("Fewer filters") : t("More filters");
    });
    form.appendChild(toggle);
  }

  document.addEventListener("DOMContentLoaded", function () { restoreSelection(); tick(); compactFilters(); });
  setInterval(tick, 30000);
})();
