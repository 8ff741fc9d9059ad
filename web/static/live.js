// Live views (web/live_views.py) in the browser; no inline script needed (CSP script-src 'self').
(function () {
  "use strict";

  // A server-sent state the page already shows (this tab made the change, and its command's answer
  // carried it) is skipped: every versioned element in it is not newer than the one on the page.
  function alreadyShown(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    var incoming = template.content.querySelectorAll("[id][data-version]");
    if (incoming.length === 0) return false;
    for (var i = 0; i < incoming.length; i++) {
      var current = document.getElementById(incoming[i].id);
      if (!current || !(Number(current.dataset.version) >= Number(incoming[i].dataset.version))) return false;
    }
    return true;
  }

  // While this tab waits for its own command's answer, a message may arrive first (the change is
  // published before the answer is written): hold it, and apply it after the answer only if newer.
  var inFlight = 0;
  var held = [];

  document.addEventListener("htmx:beforeRequest", function () {
    inFlight += 1;
  });
  document.addEventListener("htmx:afterRequest", function () {
    inFlight = Math.max(0, inFlight - 1);
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (inFlight > 0 || held.length === 0) return;
    var messages = held;
    held = [];
    messages.forEach(function (message) {
      if (!alreadyShown(message.data) && document.body.contains(message.elt)) {
        // The listener swaps nothing itself: its messages only carry out-of-band swaps.
        htmx.swap(message.elt, message.data, { swapStyle: "none" });
      }
    });
  });

  document.addEventListener("htmx:sseBeforeMessage", function (event) {
    var detail = event.detail;
    if (!detail || typeof detail.data !== "string") return;
    if (alreadyShown(detail.data)) {
      event.preventDefault();
    } else if (inFlight > 0) {
      event.preventDefault();
      held.push({ data: detail.data, elt: detail.elt || event.target });
    }
  });

  // The signed-in user's preferences (partials/preferences_state.html) apply to the whole page.
  // Without it (signed out since), the page follows the system again.
  function applyPreferences() {
    var state = document.getElementById("preferences_state");
    var root = document.documentElement;
    if (!state) {
      delete root.dataset.theme;
      return;
    }
    if (state.dataset.theme === "light" || state.dataset.theme === "dark") {
      root.dataset.theme = state.dataset.theme;
    } else {
      delete root.dataset.theme;
    }
    if (state.dataset.language) root.lang = state.dataset.language;
  }

  document.addEventListener("htmx:oobAfterSwap", applyPreferences);
  document.addEventListener("htmx:afterSettle", applyPreferences);
})();
