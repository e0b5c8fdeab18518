/* The reports' pages (app/templates/crm/report_grid.html): the chart, drawn by Chart.js
   from the grid's figures in the canvas's data-chart, and sorting a table by a click on
   its heading (the totals row stays last). */
(function () {
  "use strict";

  function drawChart() {
    var canvas = document.getElementById("report-chart");
    if (!canvas || typeof Chart === "undefined") { return; }
    var spec = JSON.parse(canvas.getAttribute("data-chart") || "{}");
    if (!spec.labels || !spec.labels.length) { canvas.parentNode.style.display = "none"; return; }
    var palette = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948"];
    var datasets = spec.series.map(function (series, index) {
      return {
        label: series.label,
        data: series.data,
        backgroundColor: series.colors || palette[index % palette.length],
        borderWidth: 0
      };
    });
    var plugins = { legend: { display: datasets.length > 1 } };
    var options = {
      responsive: true, maintainAspectRatio: false, animation: false,
      plugins: plugins,
      scales: {
        x: { stacked: !!spec.stacked },
        y: { beginAtZero: true, stacked: !!spec.stacked, max: spec.max, ticks: { precision: 0 } }
      }
    };
    if (spec.line) {
      datasets.push({
        type: "line", label: "100 %", data: spec.labels.map(function () { return spec.line; }),
        borderColor: "#e15759", borderDash: [6, 4], pointRadius: 0, fill: false
      });
    }
    new Chart(canvas, { type: spec.type || "bar", data: { labels: spec.labels, datasets: datasets },
                        options: options });
  }

  function sortable(table) {
    var heads = table.querySelectorAll("thead th");
    Array.prototype.forEach.call(heads, function (head, column) {
      if (head.getAttribute("data-kind") === "none") { return; }
      head.classList.add("crm-sortable");
      head.addEventListener("click", function () {
        var ascending = head.getAttribute("data-order") !== "asc";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("data-order"); });
        head.setAttribute("data-order", ascending ? "asc" : "desc");
        var numeric = ["integer", "decimal", "money"].indexOf(head.getAttribute("data-kind")) >= 0;
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[column].getAttribute("data-value") || "";
          var y = b.cells[column].getAttribute("data-value") || "";
          var order;
          if (numeric) {
            order = (parseFloat(x) || 0) - (parseFloat(y) || 0);
          } else {
            order = x.localeCompare(y);
          }
          return ascending ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawChart();
    Array.prototype.forEach.call(document.querySelectorAll(".crm-sortable-table"), sortable);
  });
})();
