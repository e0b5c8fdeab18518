/* A record's page opens on its details, not on the tab last used on some other record
   (Flask-AppBuilder keeps one "last tab" for every page). Paging or sorting a related list
   (page_InteractionView=2, _oc_InteractionView=…) comes back to that list's tab; an edit form
   always opens on the form. */
$(function () {
    "use strict";
    var tabs = $('a[data-toggle="tab"]');
    if (!tabs.length) {
        return;
    }
    var wanted = null;
    var pane = $("#model_form").closest(".tab-pane");
    if (pane.length) {
        wanted = "#" + pane.attr("id");
    } else {
        new URLSearchParams(location.search).forEach(function (_value, name) {
            var match = /^(?:page|psize|_oc|_od)_(\w+)$/.exec(name);
            if (match) {
                wanted = "#" + match[1];
            }
        });
    }
    var target = wanted ? tabs.filter(function () { return $(this).attr("href") === wanted; }) : $();
    // After every other ready handler: Flask-AppBuilder's ab_keep_tab.js comes later.
    setTimeout(function () {
        (target.length ? target : tabs.first()).tab("show");
    }, 0);
});
