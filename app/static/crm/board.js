/* Voronka CRM: the board "My sales". Cards are dragged between columns with SortableJS;
   dropping one opens the command's form of the interest's screen in a dialog (the move
   with the result and the next plan, or the close with the result and the reason). A
   refusal is shown in the dialog; cancelling puts the card back where it was. Saved, the
   board is read again, with its totals. An inquiry dropped on a stage opens the intake
   wizard. On a phone the board shows one column at a time and cards move with their
   "Move to…" button, so scrolling never moves a card. */
(function ($) {
    "use strict";

    var boardEl = document.querySelector(".crm-board");
    document.querySelectorAll(".crm-autosubmit").forEach(function (input) {
        input.addEventListener("change", function () { input.form.submit(); });
    });
    // A look-up box (the client) says it changed through jQuery, as select2 does.
    $(".crm-lookup-submit").on("change", function () { this.form.submit(); });
    if (!boardEl) {
        return;
    }
    var dialog = $(".crm-dialog");
    var dialogBody = dialog.find(".modal-body")[0];
    var csrf = document.getElementById("crm-csrf");
    var pending = null;   // the drop waiting for its dialog: {card, from, index, saved}

    // --- one column at a time on a phone ---------------------------------------------------
    var switcher = document.querySelector(".crm-board-switch");
    if (switcher) {
        switcher.addEventListener("change", function () {
            boardEl.querySelectorAll(".crm-kcol").forEach(function (column) {
                column.classList.toggle("crm-kcol-shown", column.dataset.key === switcher.value);
            });
        });
    }
    var narrow = window.matchMedia("(max-width: 767px)").matches;

    // --- dragging --------------------------------------------------------------------------
    function commandUrl(card, column) {
        var id = card.dataset.id;
        if (column.dataset.kind === "open") {
            return "/interestview/move/" + id + "?stage=" + column.dataset.stage + "&dialog=1";
        }
        return "/interestview/close/" + id + "?outcome=" + column.dataset.kind + "&dialog=1";
    }

    if (window.Sortable && !narrow) {
        boardEl.querySelectorAll(".crm-kcol").forEach(function (column) {
            var kind = column.dataset.kind;
            Sortable.create(column.querySelector(".crm-kcol-cards"), {
                group: {name: "board", pull: kind === "open" || kind === "inquiries",
                        put: kind !== "inquiries"},
                sort: false,
                draggable: ".crm-kcard",
                filter: ".crm-kcard-flag, .crm-kcard-moveto, .crm-kcard-process",
                preventOnFilter: false,
                animation: 120,
                onEnd: function (event) {
                    if (event.from === event.to) {
                        return;
                    }
                    pending = {card: event.item, from: event.from, index: event.oldIndex,
                               saved: false};
                    var target = event.to.closest(".crm-kcol");
                    if (event.item.dataset.kind === "inquiry") {
                        // An inquiry dropped on a stage opens the intake wizard for it.
                        var stage = target.dataset.kind === "open" ? target.dataset.stage : "";
                        putBack();
                        if (stage) {
                            window.location.href = "/inquiryview/process/" +
                                event.item.dataset.id + "?stage=" + stage;
                        }
                        return;
                    }
                    open(commandUrl(event.item, target), target.querySelector(
                        ".crm-kcol-title").firstChild.textContent.trim());
                }
            });
        });
    }

    function putBack() {
        if (!pending || pending.saved) {
            return;
        }
        var before = pending.from.children[pending.index] || null;
        pending.from.insertBefore(pending.card, before);
        pending = null;
    }

    // --- the dialog ----------------------------------------------------------------------------
    function open(url, title) {
        dialog.find(".modal-title").text(title || "");
        dialogBody.innerHTML = '<p class="text-muted"><i class="fa fa-spinner fa-spin"></i></p>';
        dialog.modal("show");
        fetch(url, {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}})
            .then(function (response) { return response.text(); })
            .then(show)
            .catch(function () { dialogBody.innerHTML = '<p class="text-danger">⚠</p>'; });
    }

    function show(html) {
        dialogBody.innerHTML = html;
        if (window.crmAttachPickers) { window.crmAttachPickers(dialogBody); }
        if (window.crmAttachLookups) { window.crmAttachLookups(dialogBody, dialog); }
        $(dialogBody).find("select.my_select2").select2({
            theme: "bootstrap", width: "100%", dropdownParent: dialog});
        var form = dialogBody.querySelector("form.crm-command-form");
        if (form) {
            form.addEventListener("submit", submit);
            var when = form.querySelector("[name=next_planned_at]");
            if (when) {
                when.addEventListener("change", function () { showLoad(form, when.value); });
            }
        }
        dialogBody.querySelectorAll("form.crm-inline-form").forEach(function (inline) {
            inline.addEventListener("submit", submit);
        });
    }

    function submit(event) {
        event.preventDefault();
        var form = event.target;
        var action = form.getAttribute("action");
        action += (action.indexOf("?") < 0 ? "?" : "&") + "dialog=1";
        fetch(action, {method: "POST", body: new FormData(form), credentials: "same-origin",
                       headers: {"X-Requested-With": "fetch"}})
            .then(function (response) {
                var json = (response.headers.get("Content-Type") || "").indexOf("json") >= 0;
                return (json ? response.json() : response.text()).then(function (body) {
                    return {ok: response.ok, json: json, body: body};
                });
            })
            .then(function (answer) {
                if (answer.json && answer.ok && answer.body.again) {
                    // A way out was taken (the client created): the command is asked again.
                    open(answer.body.again, dialog.find(".modal-title").text());
                } else if (answer.json && answer.ok) {
                    if (pending) { pending.saved = true; }
                    window.location.reload();
                } else {
                    show(answer.body);
                }
            });
    }

    function showLoad(form, value) {
        var holder = form.querySelector(".crm-day-load");
        var interest = form.getAttribute("data-interest");
        if (!holder || !interest || !value) {
            return;
        }
        var day = value.split(" ")[0];
        fetch(boardEl.dataset.loadUrl + "?interest=" + interest + "&day=" + encodeURIComponent(day),
              {credentials: "same-origin"})
            .then(function (response) { return response.ok ? response.json() : null; })
            .then(function (load) {
                if (!load) {
                    return;
                }
                holder.textContent = load.text;
                if (load.items && load.items.length) {
                    // Which: the day's items, as the calendar has them.
                    var list = document.createElement("ul");
                    list.className = "crm-day-load-list";
                    list.style.cssText = "margin:4px 0 0;padding-left:18px;font-size:12px";
                    load.items.forEach(function (item) {
                        var line = document.createElement("li");
                        line.textContent = item.time + "–" + item.end + " " + item.subject;
                        list.appendChild(line);
                    });
                    holder.appendChild(list);
                }
            });
    }

    dialog.on("hidden.bs.modal", putBack);
    // "Link an existing client" opens in the dialog too, and then the command again.
    dialogBody.addEventListener("click", function (event) {
        var link = event.target.closest(".crm-offer-link-client");
        if (!link) {
            return;
        }
        event.preventDefault();
        var again = dialogBody.querySelector("input[name=again]");
        open(link.getAttribute("href") + "?dialog=1" +
             (again ? "&again=" + encodeURIComponent(again.value) : ""),
             dialog.find(".modal-title").text());
    });

    // --- the pin and "show more" -------------------------------------------------------------
    boardEl.addEventListener("click", function (event) {
        var flag = event.target.closest(".crm-kcard-flag");
        if (flag) {
            var card = flag.closest(".crm-kcard");
            var body = new FormData();
            body.append("csrf_token", csrf ? csrf.value : "");
            body.append("version", card.dataset.version);
            fetch("/board/flag/" + card.dataset.id, {method: "POST", body: body,
                                                      credentials: "same-origin"})
                .then(function () { window.location.reload(); });
            return;
        }
        var more = event.target.closest(".crm-kcol-more");
        if (more) {
            var column = more.closest(".crm-kcol");
            var url = boardEl.dataset.moreUrl + "?" + boardEl.dataset.query +
                "&column=" + column.dataset.key + "&offset=" + more.dataset.offset;
            fetch(url, {credentials: "same-origin"})
                .then(function (response) { return response.text(); })
                .then(function (html) {
                    var list = column.querySelector(".crm-kcol-cards");
                    list.insertAdjacentHTML("beforeend", html);
                    var shown = list.querySelectorAll(".crm-kcard").length;
                    var total = +column.querySelector(".crm-kcol-count").textContent;
                    more.dataset.offset = shown;
                    if (shown >= total) { more.remove(); }
                });
        }
    });
}(jQuery));
