/* Voronka CRM: the colours of stages on an interest's card and its command pages, from
   their data-color (an inline style would be refused by the content security policy). */
(function () {
  "use strict";
  var HEX = /^#[0-9a-fA-F]{3,8}$/;
  document.querySelectorAll("[data-color]").forEach(function (element) {
    var colour = element.getAttribute("data-color");
    if (HEX.test(colour)) {
      element.style.setProperty("--crm-stage-colour", colour);
    }
  });
})();
