// Roster import progress: poll the job's JSON endpoint and move the bar; reload the page when the
// job has finished (to show its summary or errors) or when it was interrupted or runs again (to
// show the retry, or the progress once more). An interrupted job is polled every five seconds.
(function () {
  "use strict";
  var box = document.getElementById("import-progress") || document.getElementById("import-interrupted");
  if (!box) { return; }
  var interrupted = box.id === "import-interrupted";
  var every = interrupted ? 5000 : 1000;
  var url = box.getAttribute("data-url");
  var bar = box.querySelector(".progress");
  var status = document.getElementById("job-status");

  function show(data) {
    if (status) { status.textContent = data.status_display; }
    if (!bar) { return; }
    bar.querySelector("span").style.width = data.percent + "%";
    bar.setAttribute("aria-valuenow", data.percent);
    box.querySelector(".progress-percent").textContent = data.percent;
    box.querySelector(".progress-done").textContent = data.done;
    box.querySelector(".progress-total").textContent = data.total;
  }

  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { window.setTimeout(poll, 3000); return; }
        if (data.finished || data.interrupted !== interrupted) { window.location.reload(); return; }
        show(data);
        window.setTimeout(poll, every);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, every);
})();
