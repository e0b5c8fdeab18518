/* Voronka CRM: how many of my items are overdue and due today, as badges next to "My tasks"
   in the menu (app.screens.my_tasks, GET /my_tasks/counts). The menu itself is cached for
   everyone with the same rights, so its figures come afterwards. */
(function () {
    "use strict";

    var link = document.querySelector('.navbar a[href$="/my_tasks/"]');
    if (!link || !window.fetch) {
        return;
    }
    fetch(link.getAttribute("href") + "counts", {
        credentials: "same-origin", headers: {Accept: "application/json"}
    }).then(function (response) {
        return response.ok ? response.json() : null;
    }).then(function (counts) {
        if (!counts) {
            return;
        }
        [["overdue", "#d9534f"], ["today", "#f0ad4e"]].forEach(function (pair) {
            var figure = counts[pair[0]];
            if (!figure) {
                return;
            }
            var badge = document.createElement("span");
            badge.className = "badge crm-menu-badge crm-menu-" + pair[0];
            badge.style.background = pair[1];
            badge.style.marginLeft = "4px";
            badge.textContent = figure > 99 ? "99+" : String(figure);
            badge.title = (counts.labels || {})[pair[0]] || "";
            link.appendChild(badge);
        });
    }).catch(function () { /* no badge: the page works without it */ });
}());
