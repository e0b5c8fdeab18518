/* Voronka CRM: a meeting's contact persons in the interaction's form follow the client
   chosen: as the client changes, the choice offers that client's contact persons (read
   from /lookup/contact?client=<id>), keeping those already chosen who are among them. */
(function ($) {
    "use strict";

    var client = document.querySelector("select[name=client]");
    var contacts = document.querySelector("select[name=participant_contacts]");
    if (!client || !contacts) {
        return;
    }

    function offer(people) {
        var chosen = {};
        Array.prototype.forEach.call(contacts.options, function (option) {
            if (option.selected) {
                chosen[option.value] = true;
            }
        });
        while (contacts.options.length) {
            contacts.remove(0);
        }
        people.forEach(function (person) {
            var option = new Option(person.text, String(person.id), false,
                                    Boolean(chosen[String(person.id)]));
            contacts.add(option);
        });
        $(contacts).trigger("change");
    }

    function follow() {
        if (!client.value) {
            offer([]);
            return;
        }
        fetch("/lookup/contact?client=" + encodeURIComponent(client.value),
              {credentials: "same-origin", headers: {"Accept": "application/json"}})
            .then(function (answer) { return answer.ok ? answer.json() : null; })
            .then(function (found) { if (found) { offer(found.results || []); } })
            .catch(function () { /* the choice stays as it was */ });
    }

    $(client).on("change", follow);
}(jQuery));
