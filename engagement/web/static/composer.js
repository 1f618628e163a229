// engagebot case page: the reply box (server-side drafts, live preview and length counter,
// Ctrl/Cmd+Enter to send, nothing lost on Esc or navigation) and presence (who else is here).
(function () {
  "use strict";
  var form = document.getElementById("composer");
  var box = document.getElementById("reply-text");
  var caseId = document.body.getAttribute("data-case-id");
  if (!caseId) { return; }
  var csrfInput = document.querySelector("input[name=csrf_token]");
  var csrf = csrfInput ? csrfInput.value : "";
  var send = document.getElementById("send-reply");
  var counter = document.getElementById("reply-counter");
  var errorLine = document.getElementById("reply-error");
  var previewText = document.getElementById("preview-text");
  var draftStatus = document.getElementById("draft-status");
  var heldByOther = form ? form.getAttribute("data-held-by-other") === "true" : false;
  var previewOk = true;
  var savedText = box ? box.value : "";
  var submitting = false;
  var activity = box && box.value.trim() ? "replying" : "viewing";  // a restored draft is replying

  function call(method, url, data, keepalive) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      keepalive: !!keepalive,
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "Accept": "application/json" },
      body: data === undefined ? undefined : JSON.stringify(data)
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.status === 204 ? {} : response.json();
    });
  }
  function debounce(fn, ms) {
    var timer = null;
    return function () { clearTimeout(timer); timer = setTimeout(fn, ms); };
  }
  function dirty() { return !!box && box.value !== savedText; }
  function updateSend() {
    if (!send) { return; }
    send.hidden = heldByOther;  // no Send while someone else holds the case
    send.disabled = heldByOther || !previewOk;
    send.title = heldByOther ? "someone else holds this case" : (previewOk ? "" : (errorLine.textContent || ""));
  }
  function setHeldByOther(value) {
    if (heldByOther === value) { return; }
    heldByOther = value;
    if (form) { form.setAttribute("data-held-by-other", heldByOther ? "true" : "false"); }
    updateSend();
  }
  // The action bar is re-rendered by the server on every live change (HTMX); it says whether
  // someone else holds the case now, so Send follows the server's state, not the page's.
  document.body.addEventListener("htmx:afterSettle", function () {
    var bar = document.getElementById("case-actions");
    if (bar) { setHeldByOther(bar.getAttribute("data-held-by-other") === "true"); }
  });

  // --- presence: heartbeats say viewing or replying; the answer says who else is here ---
  function showPresence(info) {
    var list = document.getElementById("presence-list");
    if (list) {
      list.textContent = "";
      info.others.forEach(function (p) {
        var pill = document.createElement("span");
        pill.className = "pill presence-" + p.activity;
        pill.textContent = p.sentence;
        list.appendChild(pill);
        list.appendChild(document.createTextNode(" "));
      });
    }
    var notice = document.getElementById("taken-over");
    if (notice && info.taken_over) {
      var at = new Date(info.taken_over.at);
      var hhmm = String(at.getUTCHours()).padStart(2, "0") + ":" + String(at.getUTCMinutes()).padStart(2, "0");
      notice.textContent = info.taken_over.by + " took this case over at " + hhmm + " UTC. Your draft is kept; Send is off while " + info.taken_over.by + " holds it.";
      notice.hidden = false;
    }
    setHeldByOther(info.held_by_other);
  }
  function heartbeat() {
    call("POST", "/cases/" + caseId + "/presence", { activity: activity }).then(showPresence).catch(function () {});
  }
  function refreshPresence() {
    fetch("/cases/" + caseId + "/presence", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (info) { if (info) { showPresence(info); } })
      .catch(function () {});
  }
  heartbeat();
  setInterval(heartbeat, 10000);
  document.body.addEventListener("engagebot:change", refreshPresence);
  window.addEventListener("pagehide", function () {
    if (navigator.sendBeacon) {
      var data = new FormData();
      data.append("csrf_token", csrf);
      navigator.sendBeacon("/cases/" + caseId + "/presence/leave", data);
    }
  });

  if (!form || !box) { return; }

  // --- drafts: saved on the server as they are typed; one save in flight at a time, so an
  // older text can never land after a newer one ---
  var saving = false;
  var saveAgain = false;
  function saveNow() {
    if (saving) { saveAgain = true; return; }
    saving = true;
    var text = box.value;
    call("PUT", "/cases/" + caseId + "/draft", { text: text }).then(function (saved) {
      savedText = text;
      if (!dirty()) { draftStatus.textContent = saved.saved ? window.engagebotText("Draft saved") : ""; }
      // Typing keeps the claim: the server renewed it as it ran short (the holder banner follows live).
      if (saved.claim_renewed_until) {
        draftStatus.textContent = window.engagebotText("Draft saved; your claim now lasts until %(time)s UTC", { time: saved.claim_renewed_until.slice(11, 16) });
      }
    }).catch(function () {
      draftStatus.textContent = window.engagebotText("Draft not saved (offline?)");
    }).then(function () {
      saving = false;
      if (saveAgain) { saveAgain = false; saveNow(); }
    });
  }
  var saveDraft = debounce(saveNow, 500);

  // --- preview and counter: filled and counted by the server, the way the platform counts;
  // only the answer to the newest request is shown ---
  var previewSeq = 0;
  var limit = counter.getAttribute("data-limit");
  function showEmpty() {
    previewText.textContent = "";
    counter.textContent = limit ? "0 / " + Number(limit).toLocaleString("en") : "0";
    counter.classList.remove("over");
    errorLine.textContent = "";
    previewOk = false;
    updateSend();
  }
  var preview = debounce(function () {
    var asked = ++previewSeq;
    if (!box.value.trim()) { showEmpty(); return; }
    call("POST", "/cases/" + caseId + "/preview", { text: box.value }).then(function (p) {
      if (asked !== previewSeq) { return; }
      previewText.textContent = p.text;
      counter.textContent = p.limit ? p.length.toLocaleString("en") + " / " + p.limit.toLocaleString("en") : String(p.length);
      counter.classList.toggle("over", !p.ok && p.limit !== null && p.length > p.limit);
      errorLine.textContent = p.error || "";
      previewOk = p.ok && box.value.trim() !== "";
      updateSend();
    }).catch(function () {});
  }, 150);

  function typed() {
    var now = box.value.trim() ? "replying" : "viewing";
    if (now !== activity) { activity = now; heartbeat(); }
    draftStatus.textContent = dirty() ? window.engagebotText("Saving draft…") : draftStatus.textContent;
    saveDraft();
    preview();
  }
  box.addEventListener("input", typed);
  preview();

  document.addEventListener("change", function (event) {
    if (event.target.id !== "template") { return; }
    var option = event.target.selectedOptions[0];
    if (option && option.getAttribute("data-text") !== null) {
      box.value = option.getAttribute("data-text");
      box.focus();
      typed();
    }
  });

  box.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if (send && !send.disabled) { form.requestSubmit(send); }
    }
  });
  form.addEventListener("submit", function (event) {
    if (send && send.disabled) { event.preventDefault(); return; }
    submitting = true;
  });
  // Another form on the page (claim, take over, label): keep the text on the server, no question.
  document.addEventListener("submit", function (event) {
    if (event.target === form || event.defaultPrevented || !dirty()) { return; }
    call("PUT", "/cases/" + caseId + "/draft", { text: box.value }, true).catch(function () {});
    submitting = true;
  });

  // --- never lose text: ask before leaving with text not yet saved on the server ---
  window.addEventListener("beforeunload", function (event) {
    if (submitting || !dirty()) { return; }
    call("PUT", "/cases/" + caseId + "/draft", { text: box.value }, true).catch(function () {});
    event.preventDefault();
    event.returnValue = "";
  });
  updateSend();
})();
