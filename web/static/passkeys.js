// Passkeys (WebAuthn) on the account page, the sign-in page and the sign-up page (web/auth/passkeys.py).
// A static file, so CSP script-src 'self' holds: no inline script, no eval. Where WebAuthn is missing
// the passkey controls stay hidden and the pages work as they do without JavaScript.
(function () {
  "use strict";

  // RP ids are domain names: at an IP address (BASE_URL's default 127.0.0.1) no passkey can work.
  var atIpAddress = /^[0-9.]+$|:/.test(location.hostname);
  var supported = Boolean(
    window.PublicKeyCredential && navigator.credentials && window.isSecureContext && window.htmx && !atIpAddress
  );
  var NOT_USED = "No passkey was used. Try again, or sign in another way.";
  var NOT_CREATED = "No passkey was created. Try again.";
  // Under the server's five minutes (domain/auth/challenges.py CHALLENGE_TTL_S).
  var CHALLENGE_REFRESH_MS = 4 * 60 * 1000;
  // One ceremony at a time: starting one (a button press) aborts the one waiting (autofill).
  var waiting = null;

  // --- base64url <-> bytes: WebAuthn's JSON carries every byte string as base64url ------------------

  function toBytes(text) {
    var base64 = String(text).replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) base64 += "=";
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toText(buffer) {
    if (!buffer) return null;
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      return Object.assign({}, item, { id: toBytes(item.id) });
    });
  }

  function creationOptions(options) {
    return Object.assign({}, options, {
      challenge: toBytes(options.challenge),
      user: Object.assign({}, options.user, { id: toBytes(options.user.id) }),
      excludeCredentials: descriptors(options.excludeCredentials),
    });
  }

  function requestOptions(options) {
    return Object.assign({}, options, {
      challenge: toBytes(options.challenge),
      allowCredentials: descriptors(options.allowCredentials),
    });
  }

  // The PublicKeyCredential as the JSON py_webauthn parses (what PublicKeyCredential.toJSON() gives).
  function credentialJSON(credential) {
    var answer = credential.response;
    var response = { clientDataJSON: toText(answer.clientDataJSON) };
    if (answer.attestationObject) {
      response.attestationObject = toText(answer.attestationObject);
      response.transports = typeof answer.getTransports === "function" ? answer.getTransports() : [];
    } else {
      response.authenticatorData = toText(answer.authenticatorData);
      response.signature = toText(answer.signature);
      response.userHandle = toText(answer.userHandle);
    }
    return JSON.stringify({
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response: response,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
    });
  }

  // --- talking to the remote functions -------------------------------------------------------------

  function refused(message) {
    var error = new Error(message);
    error.name = "Refused";
    return error;
  }

  // The CSRF token the page sends with every htmx request (base.html's hx-headers).
  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["x-csrftoken"] || "";
    } catch (error) {
      return "";
    }
  }

  // POST JSON to a remote function; a refusal rejects with the server's message (or its first field error).
  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body || {}),
    }).then(function (answer) {
      return answer
        .json()
        .catch(function () {
          return {};
        })
        .then(function (data) {
          if (answer.ok && data.options) return data.options;
          var errors = data.errors || {};
          var first = Object.keys(errors).map(function (key) {
            return errors[key];
          })[0];
          throw refused(data.error || first || "Something went wrong. Please try again.");
        });
    });
  }

  // The authenticator's answer goes through htmx, so the answer is the partial a form gets (errors
  // shown in place) or a redirect (signed in).
  function finish(url, source, target, values) {
    return htmx.ajax("POST", url, { source: source, target: target, swap: "outerHTML", values: values });
  }

  function ceremony() {
    if (waiting) waiting.abort();
    waiting = new AbortController();
    return waiting.signal;
  }

  // The message box is an alert only while it shows one (an empty, hidden one is no alert).
  function show(box, message) {
    var alert = box.querySelector("[data-passkey-error]");
    if (!alert) return;
    alert.textContent = message || "";
    alert.hidden = !message;
    if (message) alert.setAttribute("role", "alert");
    else alert.removeAttribute("role");
  }

  function explain(error, fallback) {
    if (error.name === "Refused") return error.message;
    if (error.name === "InvalidStateError") return "This device already has a passkey for this account.";
    if (error.name === "SecurityError") return "Passkeys work only at this site's own address.";
    return fallback;
  }

  // A button that runs `action` once at a time and says why it failed (an abort is not a failure).
  function wire(box, action, fallback) {
    var button = box.querySelector("[data-passkey-button]");
    button.addEventListener("click", function (event) {
      event.preventDefault();
      show(box, "");
      button.disabled = true;
      action()
        .catch(function (error) {
          if (error.name === "AbortError") return;
          show(box, explain(error, fallback));
        })
        .then(function () {
          button.disabled = false;
        });
    });
  }

  // --- sign in: the button, and autofill on the email field ("username webauthn") -------------------

  function signIn(box, mediation) {
    var signal = ceremony();
    return post("/auth/passkey/options")
      .then(function (options) {
        var request = { publicKey: requestOptions(options), signal: signal };
        if (mediation) request.mediation = mediation;
        return navigator.credentials.get(request);
      })
      .then(function (credential) {
        if (!credential) throw refused(NOT_USED);
        var section = box.closest("#auth_sign_in");
        var next = section.querySelector('input[name="next"]');
        return finish("/auth/passkey", box, section, {
          response: credentialJSON(credential),
          next: next ? next.value : "",
        });
      });
  }

  function autofill(box) {
    if (typeof PublicKeyCredential.isConditionalMediationAvailable !== "function") return;
    PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
      if (!available || !document.body.contains(box)) return;
      // Offered quietly beside saved passwords; a refusal or a cancel leaves the form as it is.
      signIn(box, "conditional").catch(function (error) {
        if (error.name === "Refused") show(box, error.message);
      });
      // The server forgets a challenge after five minutes: ask again before then, if still waiting.
      var mine = waiting;
      setTimeout(function () {
        if (waiting === mine && document.body.contains(box)) autofill(box);
      }, CHALLENGE_REFRESH_MS);
    });
  }

  function setUpSignIn(box) {
    box.hidden = false;
    wire(
      box,
      function () {
        return signIn(box);
      },
      NOT_USED
    );
    // Not again right after a refusal (the form came back with an error): an authenticator that
    // answers autofill at once would otherwise be refused over and over. The button still works.
    var refusal = box.closest("#auth_sign_in").querySelector('[role="alert"]:not([data-passkey-error])');
    if (!refusal) autofill(box);
  }

  // --- sign up with a passkey and no password -------------------------------------------------------

  function setUpSignUp(box) {
    var section = box.closest("#auth_sign_up");
    var form = section && section.querySelector("form");
    if (!form) return;
    box.hidden = false;
    wire(
      box,
      function () {
        var name = form.elements.namedItem("name");
        var email = form.elements.namedItem("email");
        if (!name.reportValidity() || !email.reportValidity()) return Promise.resolve();
        var signal = ceremony();
        return post("/auth/sign-up/passkey/options", { name: name.value, email: email.value })
          .then(function (options) {
            return navigator.credentials.create({ publicKey: creationOptions(options), signal: signal });
          })
          .then(function (credential) {
            if (!credential) throw refused(NOT_CREATED);
            return finish("/auth/sign-up/passkey", box, section, { response: credentialJSON(credential) });
          });
      },
      NOT_CREATED
    );
  }

  // --- the account page: add a passkey --------------------------------------------------------------

  function setUpRegister(form) {
    var section = form.closest("#account_passkeys");
    var unsupported = section.querySelector("[data-passkey-unsupported]");
    if (unsupported) unsupported.hidden = true;
    form.hidden = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector('button[type="submit"]');
      button.disabled = true;
      var signal = ceremony();
      post("/account/passkeys/options")
        .then(function (options) {
          return navigator.credentials.create({ publicKey: creationOptions(options), signal: signal });
        })
        .then(function (credential) {
          if (!credential) throw refused(NOT_CREATED);
          form.elements.namedItem("response").value = credentialJSON(credential);
          return finish(form.getAttribute("action"), form, section);
        })
        .catch(function (error) {
          if (error.name === "AbortError") return;
          var alert = document.createElement("div");
          alert.setAttribute("role", "alert");
          alert.className = "alert-error";
          alert.setAttribute("data-passkey-error", "");
          alert.textContent = explain(error, NOT_CREATED);
          var old = form.querySelector("[data-passkey-error]");
          if (old) old.remove();
          form.prepend(alert);
        })
        .then(function () {
          button.disabled = false;
        });
    });
  }

  function within(root, selector) {
    var found = Array.prototype.slice.call(root.querySelectorAll(selector));
    if (root.matches && root.matches(selector)) found.unshift(root);
    return found;
  }

  if (!supported) return;
  htmx.onLoad(function (root) {
    within(root, "[data-passkey-sign-in]").forEach(setUpSignIn);
    within(root, "[data-passkey-sign-up]").forEach(setUpSignUp);
    within(root, "form[data-passkey-register]").forEach(setUpRegister);
  });
})();
