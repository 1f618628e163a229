// engagebot admin pages: every form and button talks JSON to /api/admin/ with the CSRF header,
// so the pages do exactly what the API does (and a script can do the same).
(function () {
  "use strict";
  var csrfField = document.getElementById("admin-csrf");
  if (!csrfField) { return; }
  var csrf = csrfField.value;

  function call(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (r) {
      return r.text().then(function (t) {
        var data = t ? JSON.parse(t) : {};
        if (!r.ok) { throw new Error(data.detail || data.message || ("HTTP " + r.status)); }
        return data;
      });
    });
  }

  function fields(form) {
    var body = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.type === "submit") { return; }
      var value = el.value.trim();
      if (el.hasAttribute("data-list")) {
        body[el.name] = value ? value.split(",").map(function (s) { return s.trim(); }).filter(Boolean) : [];
      } else if (el.hasAttribute("data-handles")) {
        var handles = {};
        value.split("\n").forEach(function (line) {
          var i = line.indexOf("=");
          if (i > 0) { (handles[line.slice(0, i).trim()] = handles[line.slice(0, i).trim()] || []).push(line.slice(i + 1).trim()); }
        });
        body[el.name] = handles;
      } else if (value === "" && el.hasAttribute("data-optional")) {
        return;
      } else if (el.hasAttribute("data-number")) {
        body[el.name] = Number(value);
      } else {
        body[el.name] = value;
      }
    });
    return body;
  }

  function show(result, text, failed) {
    if (!result) { return; }
    result.textContent = text;
    result.className = failed ? "flash flash-error" : "flash flash-info";
  }

  function showLink(link) {
    var box = document.getElementById("invite-link");
    if (!box || !link) { return; }
    box.value = link;
    box.hidden = false;
    box.select();
  }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("[data-api-form]");
    if (!form) { return; }
    event.preventDefault();
    var result = form.parentNode.querySelector("[data-api-result]");
    call(form.getAttribute("data-method"), form.getAttribute("data-url"), fields(form)).then(function (data) {
      var template = result && result.getAttribute("data-template");
      if (template) {
        show(result, template.replace(/\{(\w+)\}/g, function (_, k) { return data[k] === null ? window.engagebotText("none") : data[k]; }));
      } else if (data.invite_link) {
        show(result, window.engagebotText("Added %(name)s. Copy this one-time sign-in link to them:", { name: data.name }));
        showLink(data.invite_link);
      } else {
        show(result, window.engagebotText("Saved."));
        if (!form.hasAttribute("data-keep")) { setTimeout(function () { window.location.reload(); }, 300); }
      }
    }).catch(function (error) { show(result, error.message, true); });
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-api-button]");
    if (!button) { return; }
    var question = button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { return; }
    var raw = button.getAttribute("data-body");
    call(button.getAttribute("data-method"), button.getAttribute("data-url"), raw ? JSON.parse(raw) : undefined)
      .then(function (data) {
        if (button.hasAttribute("data-show-link")) { showLink(data.invite_link); return; }
        window.location.reload();
      })
      .catch(function (error) { window.alert(error.message); });
  });
})();
