// Swagger UI for agentdeck's REST layer, from /openapi.json on this origin. Authorize takes an
// access token for the bearer scheme the document declares; "Try it out" then sends it.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  // Swagger UI's default posts the document to an outside validator service for a badge.
  validatorUrl: null,
});
