// Starts Swagger UI on /schema from this file (the app's CSP allows no inline script).
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  function csrfToken() {
    var row = document.cookie.split("; ").find(function (part) { return part.indexOf("csrftoken=") === 0; });
    return row ? decodeURIComponent(row.split("=")[1]) : undefined;
  }
  window.ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    // "Try it out" on a command needs the CSRF token a page would send.
    requestInterceptor: function (request) {
      var token = csrfToken();
      if (token) { request.headers["x-csrftoken"] = token; }
      return request;
    },
  });
});
