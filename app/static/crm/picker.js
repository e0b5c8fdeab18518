/* Voronka CRM: the calendar of date and time fields, and the language of select boxes.

   Inputs with data-crm-picker="datetime" or "date" (app.forms) get flatpickr in the page's
   language, writing what people type: 03.12.2026 14:30 (the company's time zone; the
   server converts). Typing stays possible (allowInput). Flask-AppBuilder's own date fields
   (search filters) call jQuery's .datepicker()/.datetimepicker(): those calls get flatpickr
   too, so no other date picker is loaded. Select boxes speak the page's language and put
   the cursor into their search box when they open. */
(function ($) {
    "use strict";

    var language = (document.documentElement.lang || "ru").slice(0, 2);
    var russian = language === "ru" && window.flatpickr && flatpickr.l10ns && flatpickr.l10ns.ru;

    function attach(input, kind) {
        if (!input || input._flatpickr || !window.flatpickr) {
            return;
        }
        var withTime = kind !== "date";
        flatpickr(input, {
            allowInput: true,
            enableTime: withTime,
            time_24hr: true,
            minuteIncrement: 5,
            dateFormat: withTime ? "d.m.Y H:i" : "d.m.Y",
            locale: russian ? flatpickr.l10ns.ru : {firstDayOfWeek: 1},
            // A typed value is read when the field is left, as the server reads it.
            parseDate: function (text) { return parseTyped(text, withTime); }
        });
    }

    // 03.12.2026 14:30, 3.12.2026 9:05, 03.12.2026, 2026-12-03 14:30 (as app/services/clock.py).
    function parseTyped(text, withTime) {
        var m = /^\s*(?:(\d{1,2})[.\/](\d{1,2})[.\/](\d{4})|(\d{4})-(\d{1,2})-(\d{1,2}))(?:(?:\s+|T)(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*$/.exec(text || "");
        if (!m) {
            return undefined;
        }
        var day = m[1] ? +m[1] : +m[6], month = m[1] ? +m[2] : +m[5], year = m[1] ? +m[3] : +m[4];
        var date = new Date(year, month - 1, day, withTime ? +(m[7] || 0) : 0,
                            withTime ? +(m[8] || 0) : 0);
        return date.getMonth() === month - 1 ? date : undefined;
    }

    function attachAll(root) {
        $(root).find("input[data-crm-picker]").each(function () {
            attach(this, this.getAttribute("data-crm-picker"));
        });
    }

    // Flask-AppBuilder's date widgets: a div.appbuilder_date(time) around an <input>.
    function fabPicker() {
        return this.each(function () {
            var holder = $(this);
            var input = holder.is("input") ? this : holder.find("input")[0];
            attach(input, holder.hasClass("appbuilder_date") ? "date" : "datetime");
        });
    }
    $.fn.datepicker = fabPicker;
    $.fn.datetimepicker = fabPicker;

    if ($.fn.select2 && $.fn.select2.defaults) {
        $.fn.select2.defaults.set("language", language === "ru" ? "ru" : "en");
    }
    $(document).on("select2:open", function () {
        var search = document.querySelector(".select2-container--open .select2-search__field");
        if (search) {
            search.focus();
        }
    });

    // Forms loaded later (a dialog of the board) attach their pickers with this.
    window.crmAttachPickers = attachAll;
    $(function () { attachAll(document); });
}(jQuery));
