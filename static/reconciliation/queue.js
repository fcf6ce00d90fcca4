// Tick or untick every item on the queue page at once.
document.addEventListener("DOMContentLoaded", () => {
  const all = document.getElementById("tick-all");
  if (!all) return;
  all.addEventListener("change", () => {
    document.querySelectorAll("input.tick").forEach((box) => {
      box.checked = all.checked;
    });
  });
});
