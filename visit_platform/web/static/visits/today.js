/* Reception's day: a check-in opens the slip in a new tab; when reception comes back to this
   tab, the list is loaded again so the visitor shows as arrived. */
(function () {
  "use strict";
  var checkedIn = false;
  document.addEventListener("submit", function (event) {
    if (event.target.hasAttribute("data-check-in")) { checkedIn = true; }
  });
  function reloadOnReturn() {
    if (checkedIn && document.visibilityState === "visible") {
      checkedIn = false;
      window.location.reload();
    }
  }
  window.addEventListener("focus", reloadOnReturn);
  document.addEventListener("visibilitychange", reloadOnReturn);
})();
