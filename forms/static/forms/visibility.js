/* Shows a conditional field only while the field it depends on has the expected answer.
   The server ignores answers to hidden fields, so this is a convenience, not a rule. */
(function () {
  "use strict";
  function valueOf(form, key) {
    var inputs = form.querySelectorAll('[name="' + key + '"]');
    if (!inputs.length) { return undefined; }
    var input = inputs[0];
    if (input.type === "checkbox") { return input.checked; }
    if (input.type === "radio") {
      for (var i = 0; i < inputs.length; i++) { if (inputs[i].checked) { return inputs[i].value; } }
      return undefined;
    }
    return input.value;
  }
  function update(form) {
    var rows = form.querySelectorAll(".ff[data-depends-on]");
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      var key = row.getAttribute("data-depends-on");
      var controller = form.querySelector('.ff[data-key="' + key + '"]');
      var expected = JSON.parse(row.getAttribute("data-depends-value"));
      var shown = controller !== null && !controller.hidden && valueOf(form, key) === expected;
      row.hidden = !shown;
    }
  }
  // Companion rows: show the filled ones and one empty row to add the next person.
  function updatePeople(form) {
    var groups = form.querySelectorAll(".ff-people");
    for (var g = 0; g < groups.length; g++) {
      var inputs = groups[g].querySelectorAll("input");
      var lastFilled = -1;
      for (var k = 0; k < inputs.length; k += 2) {
        if (inputs[k].value || (inputs[k + 1] && inputs[k + 1].value)) { lastFilled = k / 2; }
      }
      for (var m = 0; m < inputs.length; m++) {
        inputs[m].hidden = Math.floor(m / 2) > lastFilled + 1;
      }
    }
  }
  var forms = document.querySelectorAll(".ff-form");
  for (var i = 0; i < forms.length; i++) {
    (function (form) {
      form.addEventListener("change", function () { update(form); });
      form.addEventListener("input", function () { updatePeople(form); });
      update(form);
      updatePeople(form);
    })(forms[i]);
  }
})();
