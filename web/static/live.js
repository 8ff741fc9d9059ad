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

  document.addEventListener("htmx:sseBeforeMessage", function (event) {
    if (event.detail && typeof event.detail.data === "string" && alreadyShown(event.detail.data)) {
      event.preventDefault();
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
