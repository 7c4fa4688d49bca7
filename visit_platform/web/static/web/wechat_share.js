// The invitation's share card: inside WeChat, the JS-SDK (wx.config signed by the server) sets
// the card WeChat shows when the page is forwarded; everywhere, a link to copy.
(function () {
  "use strict";
  var share = JSON.parse(document.getElementById("share-data").textContent);
  var copy = document.getElementById("copy-link");
  var field = document.getElementById("share-link");
  if (copy && field) {
    copy.addEventListener("click", function () {
      var done = function () { copy.textContent = copy.getAttribute("data-copied"); };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(field.value).then(done, function () { field.select(); });
      } else {
        field.select();
        try { document.execCommand("copy"); done(); } catch (error) { /* selected: copy by hand */ }
      }
    });
  }
  var configElement = document.getElementById("wx-config");
  if (!configElement || typeof window.wx === "undefined") {
    return;
  }
  var config = JSON.parse(configElement.textContent);
  window.wx.config({
    debug: false,
    appId: config.appId,
    timestamp: config.timestamp,
    nonceStr: config.nonceStr,
    signature: config.signature,
    jsApiList: ["updateAppMessageShareData", "updateTimelineShareData"]
  });
  window.wx.ready(function () {
    var card = { title: share.title, desc: share.desc, link: share.link, imgUrl: "" };
    window.wx.updateAppMessageShareData(card);
    window.wx.updateTimelineShareData({ title: share.title, link: share.link, imgUrl: "" });
  });
})();
