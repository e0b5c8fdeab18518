/* The bell keeps its number of unread notifications fresh (every minute, while the page
   is visible), and the notifications page's kind filter applies when it is chosen. */
(function () {
  "use strict";
  var bells = Array.prototype.slice.call(document.querySelectorAll(".crm-bell a[data-count-url]"));
  if (bells.length) {
    var refresh = function () {
      if (document.hidden) { return; }
      fetch(bells[0].getAttribute("data-count-url"), {credentials: "same-origin",
                                                      headers: {"Accept": "application/json"}})
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          var unread = data.unread || 0;
          bells.forEach(function (bell) {
            var badge = bell.querySelector(".crm-bell-count");
            badge.textContent = unread > 99 ? "99+" : String(unread);
            badge.classList.toggle("hidden", unread === 0);
            bell.setAttribute("aria-label",
                              bell.getAttribute("aria-label").replace(/:\s*\d+$/, "") + ": " + unread);
          });
        })
        .catch(function () { /* offline for a moment: the next minute tries again */ });
    };
    window.setInterval(refresh, 60000);
    document.addEventListener("visibilitychange", refresh);
  }
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();
