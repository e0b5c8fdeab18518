/* Select boxes over large tables (clients, contacts, interests): the options come from
   /lookup/<entity>?q=<typed text>, a few at a time. Uses the select2 that FAB ships.
   Forms loaded later (a dialog of the board) attach theirs with crmAttachLookups(root). */
(function ($) {
    "use strict";

    function attach(root, dropdownParent) {
        $(root).find("select.crm-lookup").each(function () {
            var el = $(this);
            el.select2({
                theme: "bootstrap",
                width: "100%",
                allowClear: true,
                placeholder: el.data("placeholder") || "",
                minimumInputLength: 1,
                dropdownParent: dropdownParent || $(document.body),
                ajax: {
                    url: el.data("endpoint"),
                    dataType: "json",
                    delay: 250,
                    data: function (params) { return {q: params.term}; },
                    processResults: function (data) { return data; }
                }
            });
        });
    }

    window.crmAttachLookups = attach;
    $(function () { attach(document); });
}(jQuery));
