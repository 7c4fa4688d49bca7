/* Small behaviours every page may use, declared by data attributes instead of inline handlers
   (the Content-Security-Policy allows no inline event handler):
   - <select data-autosubmit>: choosing an option sends its form (the language switch);
   - <form data-confirm="question">: asks before sending;
   - <button data-open-window="url">: also opens url in a new window (the slip to print);
   - <form data-inert>: never sends (the designer's preview);
   - <a data-back href="/">: goes back a page when there is one, else follows its link;
   - <button data-menu-button aria-controls="id" aria-expanded="false">: opens and closes the
     element named by aria-controls (the console's menu on a phone); Escape closes it;
   - <table class="data"> with a <thead>: each body cell gets its column's heading as
     data-label, and the table the class "reflow", so a phone shows each row as a card
     (console.css). A table opts out with data-reflow="off"; one whose rows start with a <th>
     (a record's fields) is left as it is.
   The console loads this file without defer, so <html> is marked "js" before the body paints:
   the stylesheet folds the menu away only when a script is there to open it. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

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

  function setMenu(button, open) {
    var menu = document.getElementById(button.getAttribute("aria-controls"));
    button.setAttribute("aria-expanded", open ? "true" : "false");
    if (menu) { menu.classList.toggle("open", open); }
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-open-window]");
    if (button) { window.open(button.getAttribute("data-open-window"), "_blank"); }
    var back = event.target.closest && event.target.closest("a[data-back]");
    if (back && window.history.length > 1) { event.preventDefault(); window.history.back(); }
    var menuButton = event.target.closest && event.target.closest("[data-menu-button]");
    if (menuButton) { setMenu(menuButton, menuButton.getAttribute("aria-expanded") !== "true"); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var open = document.querySelector("[data-menu-button][aria-expanded=true]");
    if (open) { setMenu(open, false); open.focus(); }
  });

  function labelCells(table) {
    // A table of headed rows (what is on file beside what was typed) already reads on a phone.
    if (table.getAttribute("data-reflow") === "off" || !table.tHead || table.querySelector("tbody th")) { return; }
    var headings = [];
    Array.prototype.forEach.call(table.tHead.rows[0] ? table.tHead.rows[0].cells : [], function (cell) {
      for (var i = 0; i < cell.colSpan; i++) { headings.push(cell.textContent.trim()); }
    });
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        var column = 0;
        Array.prototype.forEach.call(row.cells, function (cell) {
          // A cell across several columns (a row saying "nothing yet") speaks for itself.
          if (cell.colSpan === 1 && headings[column] && !cell.hasAttribute("data-label")) {
            cell.setAttribute("data-label", headings[column]);
          }
          column += cell.colSpan;
        });
      });
    });
    table.classList.add("reflow");
  }
  function labelTablesIn(root) {
    if (root.matches && root.matches("table.data")) { labelCells(root); }
    if (root.querySelectorAll) { Array.prototype.forEach.call(root.querySelectorAll("table.data"), labelCells); }
  }
  document.addEventListener("DOMContentLoaded", function () {
    labelTablesIn(document);
    // Rows a page adds later (a refreshed list) are labelled as they arrive.
    new MutationObserver(function (changes) {
      changes.forEach(function (change) {
        var table = change.target.closest && change.target.closest("table.data");
        if (table) { labelCells(table); }
        Array.prototype.forEach.call(change.addedNodes, labelTablesIn);
      });
    }).observe(document.body, { childList: true, subtree: true });
  });
})();
