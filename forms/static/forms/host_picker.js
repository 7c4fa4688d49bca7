/* The invitation form's host picker (company and property admins invite on an employee's
   behalf): typing in #host-search asks the console's host search (JSON) for the company's
   employees with that name; choosing one puts its id into the form's hidden "host" field.
   No inline script or eval: the page's Content-Security-Policy allows neither. */
(function () {
  "use strict";
  var input = document.getElementById("host-search");
  var list = document.getElementById("host-results");
  var chosen = document.getElementById("chosen-host");
  var heading = document.getElementById("invite-for");
  if (!input || !list || !chosen) { return; }
  var timer = null;
  var asked = 0;

  function say(text) {
    list.textContent = "";
    var item = document.createElement("li");
    item.className = "muted";
    item.textContent = text;
    list.appendChild(item);
  }

  function choose(host) {
    chosen.value = String(host.id);
    input.value = host.name;
    list.textContent = "";
    if (heading) { heading.textContent = input.getAttribute("data-chosen").replace("{name}", host.name); }
    var problem = document.getElementById("host-problem");
    if (problem) { problem.remove(); }
  }

  function show(hosts) {
    list.textContent = "";
    if (!hosts.length) { say(input.getAttribute("data-none")); return; }
    hosts.forEach(function (host) {
      var item = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "btn";
      button.setAttribute("role", "option");
      button.setAttribute("data-host-id", String(host.id));
      button.textContent = host.department ? host.name + " · " + host.department : host.name;
      button.addEventListener("click", function () { choose(host); });
      item.appendChild(button);
      list.appendChild(item);
    });
  }

  function search() {
    var text = input.value.trim();
    chosen.value = "";
    if (!text) { list.textContent = ""; return; }
    var number = ++asked;
    var url = input.getAttribute("data-url") + "?company=" + encodeURIComponent(input.getAttribute("data-company")) + "&q=" + encodeURIComponent(text);
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.json().then(function (body) { return { ok: response.ok, body: body }; }); })
      .then(function (answer) {
        if (number !== asked) { return; }
        if (!answer.ok) { say(answer.body.message || input.getAttribute("data-failed")); return; }
        show(answer.body.hosts);
      })
      .catch(function () { if (number === asked) { say(input.getAttribute("data-failed")); } });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(search, 250);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter") { event.preventDefault(); window.clearTimeout(timer); search(); }
  });
})();
