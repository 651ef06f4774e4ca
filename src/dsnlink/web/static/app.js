// dsnlink — Centre de maintenance. Our own small script (no framework, no CDN): loaded by every
// page with `defer`; each feature looks for its elements and does nothing when they are absent.
"use strict";

(function () {
  // Forms marked data-confirm ask before submitting (delete, disable).
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm) {
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
      }
    }
  });
})();
