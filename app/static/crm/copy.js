/* A button with data-copy="#field" copies that field's text to the clipboard and says so
   for a moment; where the clipboard is out of reach (a page not served over HTTPS), it
   selects the text for Ctrl+C instead. */
(function () {
  "use strict";
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = document.querySelector(button.getAttribute("data-copy"));
      if (!field) { return; }
      field.focus();
      field.select();
      if (!navigator.clipboard || !window.isSecureContext) { return; }
      navigator.clipboard.writeText(field.value).then(function () {
        var label = button.innerHTML;
        button.innerHTML = '<i class="fa fa-check"></i> ' + (button.getAttribute("data-copied") || "");
        setTimeout(function () { button.innerHTML = label; }, 1500);
      });
    });
  });
})();
