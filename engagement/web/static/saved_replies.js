// engagebot saved-replies page: live preview with an example case, unknown variables named, edit.
(function () {
  "use strict";
  var text = document.getElementById("saved-text");
  if (!text) { return; }
  var csrf = document.querySelector("input[name=csrf_token]").value;
  var out = document.getElementById("saved-preview");
  var error = document.getElementById("saved-error");
  var submit = document.getElementById("saved-submit");
  var timer = null;
  function preview() {
    fetch("/saved-replies/preview", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ text: text.value })
    }).then(function (r) { return r.json(); }).then(function (p) {
      out.textContent = p.text;
      error.textContent = p.error || "";
      submit.disabled = !p.ok;
    }).catch(function () {});
  }
  text.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(preview, 150); });
  document.addEventListener("click", function (event) {
    var edit = event.target.closest("[data-edit-saved]");
    if (!edit) { return; }
    var id = document.getElementById("saved-id");
    id.value = edit.getAttribute("data-id");
    id.disabled = !id.value;
    document.getElementById("saved-name").value = edit.getAttribute("data-name");
    var team = document.getElementById("saved-team");
    if (Array.prototype.some.call(team.options, function (o) { return o.value === edit.getAttribute("data-team"); })) {
      team.value = edit.getAttribute("data-team");
    }
    text.value = edit.getAttribute("data-text");
    document.getElementById("saved-title").textContent = id.value ? window.engagebotText("Edit a saved reply") : window.engagebotText("Override a default");
    text.focus();
    preview();
  });
})();
