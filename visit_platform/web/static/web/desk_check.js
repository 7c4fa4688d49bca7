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

  // The visitor's consent to face data, asked before any photo or comparison: recorded
  // without leaving the page (what reception has filled in stays), then the photo and the
  // face comparison appear. Without the script the form posts and the page comes back.
  var consentForm = document.querySelector("[data-face-consent-form]");
  if (consentForm) {
    consentForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var error = form.querySelector("[data-face-consent-error]");
      fetch(consentForm.action, {
        method: "POST",
        body: new FormData(consentForm),
        credentials: "same-origin",
        headers: { Accept: "application/json" }
      })
        .then(function (response) { return response.json(); })
        .then(function (answer) {
          if (answer.code) {
            error.textContent = answer.message;
            error.hidden = false;
            return;
          }
          var given = form.querySelector("[data-test=face-consent-given]");
          given.textContent = answer.message;
          given.hidden = false;
          form.querySelector("[data-face-consent-ask]").remove();
          form.querySelectorAll("[data-needs-face-consent]").forEach(function (part) {
            part.hidden = false;
          });
          var missing = form.querySelector("[data-face-consent-missing]");
          if (missing) missing.hidden = true;
        })
        .catch(function () { consentForm.submit(); });
    });
  }

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
