// Roster import progress: poll the job's JSON endpoint every second and move the bar;
// reload the page when the job has finished, to show its summary or errors.
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box) { return; }
  var url = box.getAttribute("data-url");
  var bar = box.querySelector(".progress");
  var fill = bar.querySelector("span");
  var status = document.getElementById("job-status");

  function show(data) {
    fill.style.width = data.percent + "%";
    bar.setAttribute("aria-valuenow", data.percent);
    box.querySelector(".progress-percent").textContent = data.percent;
    box.querySelector(".progress-done").textContent = data.done;
    box.querySelector(".progress-total").textContent = data.total;
    if (status) { status.textContent = data.status_display; }
  }

  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { window.setTimeout(poll, 3000); return; }
        show(data);
        if (data.finished) { window.location.reload(); return; }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 1000);
})();
