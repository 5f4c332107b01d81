// The deliberation pages' one helper: on the "convene a meeting" form, show only the
// time fields of the way chosen (a fixed time, or candidate times for a poll). Every
// page works without this file: then both groups simply stay visible.
(function () {
  "use strict";

  function sync(form) {
    const chosen = form.querySelector("input[name='timing']:checked");
    if (!chosen) return;
    form.querySelectorAll("[data-timing]").forEach(function (group) {
      group.hidden = group.dataset.timing !== chosen.value;
    });
  }

  function ready() {
    document.querySelectorAll("form").forEach(function (form) {
      if (form.querySelector("[data-timing]")) sync(form);
    });
  }

  if (document.readyState !== "loading") ready();
  else document.addEventListener("DOMContentLoaded", ready);
  document.addEventListener("change", function (event) {
    const input = event.target;
    if (input instanceof HTMLInputElement && input.name === "timing" && input.form) sync(input.form);
  });
})();
