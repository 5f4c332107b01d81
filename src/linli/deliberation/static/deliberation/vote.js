// The vote pages' one helper: a "print" button for the receipt and the paper-ballot
// codes. Without JavaScript the button stays hidden and the browser's own print works.
(function () {
  "use strict";

  function ready() {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
  }

  if (document.readyState !== "loading") ready();
  else document.addEventListener("DOMContentLoaded", ready);
})();
