// The requests pages' small helpers. Every page works without this file: it only
// hides the buttons that exist for browsers without JavaScript, fills a reply from a
// template the moment one is chosen, and offers "select all" on the workbench.
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  function hideFallbacks(root) {
    // The "show the questions" / "use template" buttons post or reload the page; with
    // htmx (or this script) the same happens at once, so they are only clutter.
    if (!window.htmx) return;
    root.querySelectorAll("[data-nojs]").forEach(function (el) { el.hidden = true; });
  }

  function showEnhancements(root) {
    root.querySelectorAll("[data-select-all]").forEach(function (el) { el.hidden = false; });
  }

  ready(function () {
    hideFallbacks(document);
    showEnhancements(document);
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    const target = event.detail && event.detail.target;
    if (target) {
      hideFallbacks(target);
      showEnhancements(target);
    }
  });

  // A reply template fills the reply box (without JavaScript, "use template" reloads the page with it).
  document.addEventListener("change", function (event) {
    const select = event.target;
    if (!(select instanceof HTMLSelectElement) || !select.dataset.fill) return;
    const box = document.getElementById(select.dataset.fill);
    const option = select.options[select.selectedIndex];
    if (!box || !option || !option.dataset.body) return;
    if (box.value.trim() && !box.dataset.filled) {
      // Keep what was typed: the template goes below it.
      box.value = box.value.replace(/\s+$/, "") + "\n\n" + option.dataset.body;
    } else {
      box.value = option.dataset.body;
    }
    box.dataset.filled = "1";
    box.focus();
  });

  // "Select all on this page" on the workbench.
  document.addEventListener("change", function (event) {
    const box = event.target;
    if (!(box instanceof HTMLInputElement) || !box.closest("[data-select-all]")) return;
    const form = box.form;
    if (!form) return;
    form.querySelectorAll("input[name='ids']").forEach(function (item) { item.checked = box.checked; });
  });
})();
