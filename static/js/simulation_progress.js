// Policy simulation progress: poll the run's JSON endpoint and move the bar; reload the page when
// the run has finished, to show its result or why it failed, is gone (404: cancelled) or was
// interrupted (its worker died: the page then offers to run it again).
(function () {
  "use strict";
  var box = document.getElementById("simulation-progress");
  if (!box) { return; }
  var url = box.getAttribute("data-url");
  var bar = box.querySelector(".progress");

  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.status === 404) { return { finished: true }; }
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (!data) { window.setTimeout(poll, 3000); return; }
        if (data.finished || data.interrupted) { window.location.reload(); return; }
        bar.querySelector("span").style.width = data.percent + "%";
        bar.setAttribute("aria-valuenow", data.percent);
        box.querySelector(".progress-percent").textContent = data.percent;
        box.querySelector(".progress-status").textContent = data.status_display;
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 1000);
})();
