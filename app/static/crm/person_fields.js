/* A client's form: the birthday is a person's, so it shows only when the kind is
   "person" (a birthday already typed stays in sight, to be cleared). */
(function ($) {
  "use strict";
  $("form.crm-record-form").each(function () {
    var form = $(this);
    var kind = form.find("select[name=kind]");
    var birthday = form.find(".crm-field-birthday");
    if (!kind.length || !birthday.length) { return; }
    var show = function () {
      var typed = birthday.find("input").val();
      birthday.toggle(kind.val() === "person" || Boolean(typed));
    };
    kind.on("change", show);
    show();
  });
})(window.jQuery);
