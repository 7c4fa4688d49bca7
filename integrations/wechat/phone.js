/* The sandbox's simulated phone (phone.py). Links to H5 pages open at the top level: in this
   tab on a phone-sized screen; in a phone-sized window of their own from a desktop or from
   inside the side-by-side view (without JavaScript, target="_top" replaces that view). The
   chat is fetched again every two seconds, so what the platform sends meanwhile appears. */
(function () {
  var chat = document.getElementById("chat"), last = null;
  var openid = document.querySelector(".phone").dataset.openid;
  chat.scrollTop = chat.scrollHeight;
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a.h5");
    if (link && (window.top !== window.self || window.innerWidth > 600)) {
      event.preventDefault();
      window.open(link.href, "wechat-h5-" + openid, "popup,width=390,height=844");
    }
  });
  setInterval(function () {
    fetch("/phone/" + openid + "/chat", {cache: "no-store"}).then(function (answer) {
      return answer.ok ? answer.text() : null;
    }).then(function (html) {
      if (html === null || html === last) return;
      last = html;
      chat.innerHTML = html;
      chat.scrollTop = chat.scrollHeight;
    }).catch(function () {});
  }, 2000);
})();
