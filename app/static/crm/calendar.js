/* Voronka CRM: the calendar (app/screens/calendar.py), drawn by FullCalendar (vendored in
   static/vendor/fullcalendar). The server gives and takes the company's wall-clock time,
   which FullCalendar keeps as if it were UTC, so everyone sees the company's time zone.
   Dragging or resizing an item reschedules it at the version the page read; a refusal (a
   stale version, no right) puts it back with the message; someone busy at the new time is
   asked about before it moves. Clicking or selecting an empty time opens the interaction's
   form with that time filled in. */
(function () {
    "use strict";

    var el = document.getElementById("crm-calendar");
    document.querySelectorAll(".crm-autosubmit").forEach(function (input) {
        input.addEventListener("change", function () { input.form.submit(); });
    });
    if (!el || !window.FullCalendar) {
        return;
    }
    var cfg = JSON.parse(el.dataset.config);
    var csrf = document.getElementById("crm-csrf");
    var box = document.querySelector(".crm-calendar-message");

    function say(text, kind) {
        box.textContent = text;
        box.className = "alert crm-calendar-message alert-" + (kind || "info");
    }

    function pad(n) { return (n < 10 ? "0" : "") + n; }

    // A date FullCalendar keeps as UTC is the company's wall-clock time.
    function wall(date) {
        return date.getUTCFullYear() + "-" + pad(date.getUTCMonth() + 1) + "-" +
            pad(date.getUTCDate()) + "T" + pad(date.getUTCHours()) + ":" +
            pad(date.getUTCMinutes());
    }

    function move(info, confirmed) {
        var event = info.event;
        var body = new URLSearchParams();
        body.append("csrf_token", csrf ? csrf.value : "");
        body.append("start", wall(event.start));
        if (event.end) {
            body.append("minutes", String(Math.round((event.end - event.start) / 60000)));
        }
        body.append("version", event.extendedProps.version);
        if (confirmed) {
            body.append("confirm", "1");
        }
        fetch(cfg.move + event.id, {method: "POST", body: body, credentials: "same-origin",
                                    headers: {"Accept": "application/json"}})
            .then(function (response) {
                return response.json().catch(function () { return {}; })
                    .then(function (answer) { return {status: response.status, answer: answer}; });
            })
            .then(function (result) {
                var answer = result.answer;
                if (result.status === 200 && answer.ok) {
                    event.setExtendedProp("version", answer.version);
                    say(answer.message || cfg.texts.moved, "success");
                    calendar.refetchEvents();
                    return;
                }
                if (result.status === 409 && answer.code === "busy" && !confirmed) {
                    var text = cfg.texts.busy + "\n" + (answer.conflicts || []).join("\n") +
                        "\n\n" + cfg.texts.anyway;
                    if (window.confirm(text)) {
                        move(info, true);
                        return;
                    }
                    info.revert();
                    return;
                }
                info.revert();
                say(cfg.texts.failed + " " + (answer.message || result.status), "danger");
            })
            .catch(function () {
                info.revert();
                say(cfg.texts.failed, "danger");
            });
    }

    function plan(start, end, allDay) {
        var when = wall(start);
        if (allDay) {
            when = when.slice(0, 10) + "T10:00";
        }
        var url = cfg.add + "?planned_at=" + encodeURIComponent(when) +
            "&_flt_0_responsible=" + encodeURIComponent(cfg.user);
        if (end && !allDay) {
            url += "&planned_minutes=" + Math.round((end - start) / 60000);
        }
        window.location.href = url;
    }

    var calendar = new FullCalendar.Calendar(el, {
        timeZone: "UTC",
        locale: cfg.locale,
        initialView: cfg.view,
        initialDate: cfg.date,
        now: function () { return new Date(Date.now() + cfg.offset * 60000); },
        headerToolbar: {left: "prev,next today", center: "title",
                        right: "timeGridDay,timeGridWeek,dayGridMonth,listWeek"},
        firstDay: 1,
        buttonText: cfg.locale === "en" ? {today: "Today", day: "Day", week: "Week",
                                           month: "Month", list: "List"} : undefined,
        views: {dayGridMonth: {eventDisplay: "block", displayEventEnd: false}},
        nowIndicator: true,
        navLinks: true,  // a day's number or heading opens that day
        allDaySlot: false,
        // The whole day, scrolled to the working morning: nothing planned early or late
        // is out of sight.
        scrollTime: "08:00:00",
        slotDuration: "00:30:00",
        contentHeight: 680,
        dayMaxEvents: 4,
        eventTimeFormat: {hour: "2-digit", minute: "2-digit", hour12: false},
        slotLabelFormat: {hour: "2-digit", minute: "2-digit", hour12: false},
        editable: true,
        eventStartEditable: true,
        eventDurationEditable: true,
        selectable: true,
        selectMirror: true,
        events: {url: cfg.events, failure: function () { say(cfg.texts.failed, "danger"); }},
        eventDrop: function (info) { move(info, false); },
        eventResize: function (info) { move(info, false); },
        select: function (info) { plan(info.start, info.end, info.allDay); },
        eventDidMount: function (info) {
            var props = info.event.extendedProps;
            info.el.title = [props.type, info.event.title, props.place].filter(Boolean).join(" — ");
            info.el.setAttribute("data-id", info.event.id);
        }
    });
    calendar.render();
    window.crmCalendar = calendar;
}());
