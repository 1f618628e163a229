// engagebot: live updates. One EventSource per page on /events (server-sent events); every
// "change" fires "engagebot:change" on <body>, which HTMX regions and the case page listen to.
// When EventSource is missing or keeps failing, the same event fires every poll interval instead.
(function () {
  "use strict";
  var body = document.body;
  if (!body || !body.hasAttribute("data-live")) { return; }
  var pollSeconds = parseFloat(body.getAttribute("data-poll-seconds") || "10");
  var caseId = body.getAttribute("data-case-id");
  var polling = null;
  var failures = 0;

  function fire(detail) {
    body.dispatchEvent(new CustomEvent("engagebot:change", { detail: detail || {} }));
  }
  function setMode(mode) { document.documentElement.setAttribute("data-live", mode); }
  function fallBack() {
    setMode("polling");
    if (polling === null) { polling = setInterval(function () { fire({ what: ["poll"] }); }, pollSeconds * 1000); }
  }

  if (!window.EventSource) { fallBack(); return; }
  var source = new EventSource("/events" + (caseId ? "?case=" + encodeURIComponent(caseId) : ""));
  source.addEventListener("ready", function () {
    failures = 0;
    setMode("sse");
    if (polling !== null) { clearInterval(polling); polling = null; }
  });
  source.addEventListener("change", function (event) {
    var detail = {};
    try { detail = JSON.parse(event.data); } catch (e) { detail = {}; }
    fire(detail);
  });
  source.addEventListener("error", function () {
    failures += 1;
    // The browser reconnects on its own after a dropped stream; poll meanwhile, and for good
    // when the stream is refused outright (closed) or keeps failing.
    fallBack();
    if (source.readyState === EventSource.CLOSED || failures > 5) { source.close(); }
  });
  window.addEventListener("pagehide", function () { source.close(); });
})();
