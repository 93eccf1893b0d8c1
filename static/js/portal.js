// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  // After a form comes back with errors, put the keyboard focus on the first invalid field.
  document.addEventListener("DOMContentLoaded", function () {
    var invalid = document.querySelector("main .is-invalid");
    if (invalid && typeof invalid.focus === "function") {
      invalid.focus();
    }
  });
})();
