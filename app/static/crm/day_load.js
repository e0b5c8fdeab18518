/* Voronka CRM: the responsible's load on the day an interaction is planned for, under its
   planned time in the interaction's form (1C:CRM's "load by day"): how many items that
   day and which, read from /calendar/load as the time or the responsible changes. */
(function ($) {
    "use strict";

    var config = document.getElementById("crm-day-load-config");
    var when = document.querySelector("input[name=planned_at]");
    if (!config || !when) {
        return;
    }
    var who = document.querySelector("[name=responsible]");
    var holder = document.createElement("div");
    holder.className = "help-block crm-day-load";
    holder.setAttribute("aria-live", "polite");
    (when.closest(".input-group") || when).insertAdjacentElement("afterend", holder);

    // "05.12.2026 14:30" or "2026-12-05 14:30" -> "2026-12-05"
    function dayOf(text) {
        var m = /^(\d{1,2})\.(\d{1,2})\.(\d{4})/.exec(text || "");
        if (m) {
            return m[3] + "-" + ("0" + m[2]).slice(-2) + "-" + ("0" + m[1]).slice(-2);
        }
        m = /^(\d{4}-\d{2}-\d{2})/.exec(text || "");
        return m ? m[1] : null;
    }

    // The responsible chosen, if any ("__None": Flask-AppBuilder's blank choice).
    function user() {
        return who && who.value && who.value !== "__None" ? who.value : "";
    }

    function show() {
        var day = dayOf(when.value);
        if (!day) {
            holder.textContent = "";
            return;
        }
        var url = config.dataset.url + "?day=" + day;
        if (user()) {
            url += "&user=" + encodeURIComponent(user());
        }
        fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
            .then(function (r) { return r.ok ? r.json() : null; })
            .then(function (load) {
                holder.textContent = "";
                if (!load) {
                    return;
                }
                var link = document.createElement("a");
                link.href = config.dataset.calendar + "?view=timeGridDay&date=" + day +
                    (user() ? "&user=" + encodeURIComponent(user()) : "");
                link.textContent = load.text;
                holder.appendChild(link);
                if (load.items.length) {
                    var list = document.createElement("ul");
                    list.className = "crm-day-load-list";
                    list.style.cssText = "margin:4px 0 0;padding-left:18px;font-size:12px;color:#555";
                    load.items.forEach(function (item) {
                        var li = document.createElement("li");
                        li.textContent = item.time + "–" + item.end + " " + item.subject;
                        list.appendChild(li);
                    });
                    holder.appendChild(list);
                }
            })
            .catch(function () { holder.textContent = ""; });
    }

    when.addEventListener("change", show);
    when.addEventListener("blur", show);
    if (who) {
        $(who).on("change", show);
    }
    show();
}(window.jQuery));
