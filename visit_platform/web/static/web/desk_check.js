/* Reception's desk check (screen 2 of 3): the visitor terminal's face-match score appears as
   the terminal reports it (the page polls a small JSON endpoint); a chosen photo's name shows
   beside its button; the face comparison's part hides when reception checks by eye, and
   everything but the host's answer hides when the host does not agree. */
(function () {
  "use strict";
  var form = document.querySelector("[data-desk-check]");
  if (!form) return;

  form.addEventListener("change", function (event) {
    var input = event.target;
    if (input.type === "file") {
      var name = input.closest(".file-picker").querySelector("[data-file-name]");
      name.textContent = input.files.length ? input.files[0].name : name.dataset.empty;
    }
    showRoutes();
  });

  function checked(name) {
    var input = form.querySelector("input[name=" + name + "]:checked");
    return input ? input.value : "";
  }

  function showRoutes() {
    var faceRoute = form.querySelector("[data-route=face]");
    if (faceRoute) faceRoute.hidden = checked("identity_check") === "eye";
    var admitOnly = form.querySelector("[data-admit-only]");
    if (admitOnly) admitOnly.hidden = checked("host_consent") === "no";
  }
  showRoutes();

  var panel = form.querySelector("[data-face-score]");
  if (!panel) return;
  var value = panel.querySelector(".face-score-value");
  var low = panel.querySelector("[data-face-low]");

  function show(report) {
    if (report.score === null) return;
    value.textContent = panel.dataset.result
      .replace("{score}", report.score).replace("{source}", report.source);
    panel.classList.toggle("ok", report.passes);
    panel.classList.toggle("low", !report.passes);
    low.textContent = report.passes ? "" : panel.dataset.low;
  }

  function poll() {
    fetch(panel.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (report) { if (report) show(report); })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { window.setTimeout(poll, 1500); });
  }
  window.setTimeout(poll, 1500);
})();
