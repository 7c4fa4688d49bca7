// The desk's ID-card reader fills in the walk-in form. The reader's own software on the desk
// computer calls window.visitIdCard(reading) with what the chip holds; the platform checks it
// (POST /reception/id-card/) and the checked fields are filled in. Nothing is kept.
(function () {
  "use strict";
  var panel = document.getElementById("id-card-reader");
  if (!panel) return;
  var status = document.getElementById("id-card-status");
  var photo = document.getElementById("id-card-photo");
  var form = document.getElementById("registration");

  function csrfToken() {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function fill(name, value) {
    var field = form.querySelector("[name='" + name + "']");
    if (!field) return;
    field.value = value;
    field.dispatchEvent(new Event("change", { bubbles: true }));
  }

  window.visitIdCard = function (reading) {
    status.textContent = "…";
    return fetch(panel.dataset.url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(reading),
    })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (answer) {
        if (!answer.ok) {
          status.textContent = answer.body.message;
          panel.dataset.state = "error";
          return false;
        }
        var card = answer.body;
        fill("visitor_name", card.name);
        fill("id_document_0", card.id_type);
        fill("id_document_1", card.id_number);
        if (card.photo) {
          photo.src = card.photo;
          photo.style.display = "block";
        }
        status.textContent = panel.dataset.readText || card.name;
        panel.dataset.state = "read";
        return true;
      });
  };
})();
