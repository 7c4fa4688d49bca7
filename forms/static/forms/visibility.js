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
  var forms = document.querySelectorAll(".ff-form");
  for (var i = 0; i < forms.length; i++) {
    (function (form) {
      form.addEventListener("change", function () { update(form); });
      update(form);
    })(forms[i]);
  }
})();
