// The surveys pages' one helper: hide the buttons that exist for browsers without
// JavaScript (with htmx the same happens as soon as a choice changes). Every page
// works without this file.
(function () {
  "use strict";

  function hideFallbacks(root) {
    if (!window.htmx) return;
    root.querySelectorAll("[data-nojs]").forEach(function (el) { el.hidden = true; });
  }

  if (document.readyState !== "loading") hideFallbacks(document);
  else document.addEventListener("DOMContentLoaded", function () { hideFallbacks(document); });
  document.addEventListener("htmx:afterSwap", function (event) {
    const target = event.detail && event.detail.target;
    if (target) hideFallbacks(target);
  });
})();
