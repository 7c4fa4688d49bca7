/* An export's progress (reports/export_detail.html): the page polls the export's JSON status
   ({"state", "done", "total", "percent"}) until it is written or has failed, moves the bar,
   and shows the download link. A script file of its own: the Content-Security-Policy allows
   no inline script. */
(function () {
  "use strict";
  var panel = document.querySelector("[data-export-progress]");
  if (!panel) return;
  var bar = panel.querySelector("[data-bar]");
  var percent = panel.querySelector("[data-percent]");
  var rows = panel.querySelector("[data-rows-text]");
  var state = panel.querySelector("[data-state]");
  var error = panel.querySelector("[data-error]");
  var download = panel.querySelector("[data-download]");
  var FINISHED = ["done", "failed", "expired"];

  function show(status) {
    bar.value = status.percent;
    bar.textContent = status.percent + " %";
    percent.textContent = status.percent + " %";
    rows.textContent = panel.dataset.rows
      .replace("{done}", status.done).replace("{total}", status.total);
    state.textContent = status.state_label;
    state.className = "badge " + (status.state === "done" ? "ok" : status.state === "failed" ? "bad" : "info");
    panel.dataset.state = status.state;
    if (status.state === "done" && status.download_url) {
      download.href = status.download_url;
      download.hidden = false;
    }
    if (status.state === "failed") {
      error.textContent = panel.dataset.failed + " " + (status.error || "");
      error.hidden = false;
    }
  }

  function poll() {
    fetch(panel.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (status) show(status);
        if (!status || FINISHED.indexOf(status.state) < 0) window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  poll();
})();
