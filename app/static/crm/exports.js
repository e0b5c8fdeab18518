/* The exports' page (app.screens.exports): an export being written in the background
   shows how far it got, and its download link once it is ready. */
(function () {
  "use strict";
  var rows = document.querySelectorAll(".crm-export[data-status-url]");
  if (!rows.length) { return; }
  var numbers = new Intl.NumberFormat(document.documentElement.lang || undefined);

  function show(row, state) {
    var bar = row.querySelector(".progress-bar");
    var count = row.querySelector(".crm-export-rows");
    if (bar && state.total) {
      bar.style.width = Math.min(100, Math.round(100 * state.rows / state.total)) + "%";
    }
    if (count) {
      count.textContent = state.status === "done" ? numbers.format(state.rows)
        : numbers.format(state.rows) + " / " + numbers.format(state.total || 0);
    }
    if (state.status !== "queued" && state.status !== "running") {
      var progress = row.querySelector(".crm-export-progress");
      if (progress) { progress.remove(); }
      var label = row.querySelector(".crm-export-state .label");
      if (label) {
        label.textContent = state.status_label;
        label.className = "label crm-run-" + (state.status === "done" ? "succeeded" : state.status);
      }
      var cell = row.querySelector(".crm-export-file");
      if (cell && state.download_url) {
        var link = document.createElement("a");
        link.className = "btn btn-primary btn-xs";
        link.href = state.download_url;
        var icon = document.createElement("i");
        icon.className = "fa fa-download";
        link.appendChild(icon);
        link.appendChild(document.createTextNode(" " + (cell.dataset.download || "")));
        cell.appendChild(link);
      }
      row.removeAttribute("data-status-url");
      return false;
    }
    return true;
  }

  function poll(row) {
    var url = row.getAttribute("data-status-url");
    if (!url) { return; }
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (state && show(row, state)) { window.setTimeout(function () { poll(row); }, 2000); }
      })
      .catch(function () { window.setTimeout(function () { poll(row); }, 5000); });
  }

  Array.prototype.forEach.call(rows, function (row) { window.setTimeout(function () { poll(row); }, 1000); });
})();
