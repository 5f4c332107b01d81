// linli's own script: no inline scripts anywhere (the CSP forbids them), and every
// page works without it. It tells screen-reader users what an HTMX swap changed.
(function () {
  "use strict";

  function live() {
    return document.getElementById("live");
  }

  // Clearing first makes screen readers repeat a message that has not changed.
  function announce(text) {
    const region = live();
    if (!region || !text) return;
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    const region = live();
    const target = event.detail && event.detail.target;
    if (!region || !target) return;
    const marked = target.querySelector("[data-announce]");
    const heading = target.querySelector("h1, h2, h3");
    let text = region.dataset.updated;
    if (marked) text = marked.dataset.announce || marked.textContent.trim();
    else if (heading) text = heading.textContent.trim();
    announce(text);
  });

  function failed() {
    const region = live();
    if (region) announce(region.dataset.failed);
  }
  document.addEventListener("htmx:responseError", failed);
  document.addEventListener("htmx:sendError", failed);
})();
