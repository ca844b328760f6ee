// Draws every chart placeholder (data-vega holds a Vega-Lite spec) with the offline
// Vega bundle, on page load and after each HTMX fragment swap.
(function () {
  "use strict";
  function draw(root) {
    root.querySelectorAll("[data-vega]:not([data-drawn])").forEach(function (el) {
      el.setAttribute("data-drawn", "1");
      var spec = JSON.parse(el.getAttribute("data-vega"));
      window.vegaEmbed(el, spec, { actions: false, renderer: "svg" })
        .then(function () { el.setAttribute("data-drawn", "done"); })
        .catch(function (e) { console.error(e); });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
})();
