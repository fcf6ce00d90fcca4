// The run overview's two charts, drawn from the JSON the page carries.
document.addEventListener("DOMContentLoaded", () => {
  const source = document.getElementById("chart-data");
  if (!source || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const progress = document.getElementById("progress-chart");
  if (progress) {
    new Chart(progress, {
      type: "line",
      data: {
        labels: data.labels,
        datasets: [
          { label: data.names.matched, data: data.matched, borderColor: "#198754", backgroundColor: "#198754" },
          { label: data.names.open, data: data.open, borderColor: "#dc3545", backgroundColor: "#dc3545" },
          { label: data.names.resolved, data: data.resolved, borderColor: "#0d6efd", backgroundColor: "#0d6efd" },
        ],
      },
      options: {
        maintainAspectRatio: false,
        animation: false,
        // A dot per day only while there are few enough days to tell apart.
        elements: { point: { radius: data.labels.length > 31 ? 0 : 3 } },
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
      },
    });
  }
  const ageing = document.getElementById("ageing-chart");
  if (ageing) {
    new Chart(ageing, {
      type: "bar",
      data: {
        labels: data.ageing_labels,
        datasets: [{ label: data.names.ageing, data: data.ageing, backgroundColor: "#fd7e14" }],
      },
      options: { maintainAspectRatio: false, animation: false, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
  }
});
