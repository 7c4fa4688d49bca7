/* Small behaviours every page may use, declared by data attributes instead of inline handlers
   (the Content-Security-Policy allows no inline event handler):
   - <select data-autosubmit>: choosing an option sends its form (the language switch);
   - <form data-confirm="question">: asks before sending;
   - <button data-open-window="url">: also opens url in a new window (the slip to print);
   - <form data-inert>: never sends (the designer's preview);
   - <a data-back href="/">: goes back a page when there is one, else follows its link. */
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var select = event.target.closest && event.target.closest("select[data-autosubmit]");
    if (select && select.form) { select.form.submit(); }
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute("data-inert")) { event.preventDefault(); return; }
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-open-window]");
    if (button) { window.open(button.getAttribute("data-open-window"), "_blank"); }
    var back = event.target.closest && event.target.closest("a[data-back]");
    if (back && window.history.length > 1) { event.preventDefault(); window.history.back(); }
  });
})();
