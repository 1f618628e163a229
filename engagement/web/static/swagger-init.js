// Starts Swagger UI on /docs. A file, not an inline script: the page's CSP allows no inline code.
// "Try it out" rides on the session cookie, so state-changing calls echo the CSRF token.
window.addEventListener("DOMContentLoaded", function () {
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    layout: "BaseLayout",
    presets: [SwaggerUIBundle.presets.apis],
    validatorUrl: null,
    requestInterceptor: function (request) {
      request.headers["X-CSRF-Token"] = csrf;
      return request;
    },
  });
});
