// Draws the impact dashboard's charts from the JSON the page carries.
(function () {
  "use strict";
  var source = document.getElementById("impact-charts");
  if (!source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var palette = ["#0d6efd", "#198754", "#fd7e14", "#6f42c1", "#d63384", "#20c997", "#6c757d"];
  Chart.defaults.animation = false;

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (canvas) { new Chart(canvas, config); }
  }

  var channels = Object.keys(data.deposits_per_hour);
  draw("chart-deposits", {
    type: "bar",
    data: {
      labels: data.hours,
      datasets: channels.map(function (name, i) {
        return { label: name, data: data.deposits_per_hour[name], backgroundColor: palette[i % palette.length] };
      })
    },
    options: { responsive: true, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } }
  });

  function doughnut(id, values) {
    var labels = Object.keys(values).filter(function (k) { return values[k] > 0; });
    draw(id, {
      type: "doughnut",
      data: {
        labels: labels,
        datasets: [{ data: labels.map(function (k) { return values[k]; }), backgroundColor: palette }]
      },
      options: { responsive: true, plugins: { legend: { position: "bottom" } } }
    });
  }
  doughnut("chart-confirmation", data.confirmation);
  doughnut("chart-notices", data.notices);
})();
