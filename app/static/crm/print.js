/* A report on paper: the Print button opens the browser's print dialog. */
(function () {
  "use strict";
  var button = document.getElementById("crm-print-now");
  if (button) {
    button.addEventListener("click", function () { window.print(); });
  }
})();
