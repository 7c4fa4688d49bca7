/* The form designer: edit the draft's fields, reorder them by drag and drop, preview the
   form as the real renderer draws it, save and publish. Every text the admin typed is put
   into the page with textContent or as a value, never as HTML. The server checks every edit
   again; its messages name the field. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("designer-config").textContent);
  var S = config.strings;
  var fields = config.draft;
  var selected = 0;
  var layout = "phone";
  var previewTimer = null;
  var csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  var list = document.getElementById("field-list");
  var editor = document.getElementById("editor");
  var statusBox = document.getElementById("designer-status");
  var typeLabels = {};
  config.fieldTypes.forEach(function (t) { typeLabels[t.type] = t.label; });
  var LANGS = [["zh-hans", S.chinese], ["en", S.english]];

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function labelOf(field) {
    var label = field.label || {};
    return label["zh-hans"] || label.en || field.key;
  }

  function typeInfo(type) {
    return config.fieldTypes.filter(function (t) { return t.type === type; })[0];
  }

  function showStatus(kind, message, problems) {
    statusBox.hidden = false;
    statusBox.className = "designer-status " + kind;
    statusBox.textContent = "";
    statusBox.appendChild(el("div", {}, message));
    if (problems && problems.length > 1) {
      var ul = el("ul");
      problems.forEach(function (p) { ul.appendChild(el("li", {}, p.message)); });
      statusBox.appendChild(ul);
    }
    var bad = {};
    (problems || []).forEach(function (p) { bad[p.field] = true; });
    Array.prototype.forEach.call(list.children, function (item) {
      item.classList.toggle("invalid", !!bad[item.getAttribute("data-key")]);
    });
  }

  function clearStatus() { statusBox.hidden = true; statusBox.textContent = ""; }

  function changed() {
    document.getElementById("draft-state").textContent = S.unsaved;
    renderList();
    schedulePreview();
  }

  // --- The list of fields, with drag and drop -------------------------------------------

  var dragFrom = null;

  function move(from, to) {
    if (to < 0 || to >= fields.length || from === to) { return; }
    var item = fields.splice(from, 1)[0];
    fields.splice(to, 0, item);
    selected = to;
    changed();
    renderEditor();
  }

  function renderList() {
    list.textContent = "";
    fields.forEach(function (field, index) {
      var item = el("li", {
        "class": "field-item" + (index === selected ? " selected" : "") + (field.locked ? " locked" : ""),
        "draggable": "true",
        "data-key": field.key,
        "data-index": String(index),
        "tabindex": "0"
      });
      var handle = el("span", {"class": "drag-handle", "aria-hidden": "true"}, "⋮⋮");
      var text = el("span", {"class": "field-text"});
      text.appendChild(el("strong", {"class": "field-label"}, labelOf(field)));
      text.appendChild(el("small", {}, field.key + " · " + (typeLabels[field.type] || field.type)));
      item.appendChild(handle);
      item.appendChild(text);
      var badges = el("span", {"class": "field-badges"});
      if (field.locked) {
        var lockBadge = el("span", {"class": "badge locked-badge", "title": S.lockedHelp});
        lockBadge.appendChild(el("span", {"class": "lock", "aria-hidden": "true"}));
        lockBadge.appendChild(document.createTextNode(S.locked));
        badges.appendChild(lockBadge);
      }
      if (field.privacy === "sensitive") { badges.appendChild(el("span", {"class": "badge warn"}, S.sensitive)); }
      if (field.visible_if) { badges.appendChild(el("span", {"class": "badge info"}, S.conditional)); }
      item.appendChild(badges);
      var up = el("button", {"type": "button", "class": "icon-btn", "aria-label": S.moveUp, "title": S.moveUp}, "↑");
      var down = el("button", {"type": "button", "class": "icon-btn", "aria-label": S.moveDown, "title": S.moveDown}, "↓");
      up.addEventListener("click", function (event) { event.stopPropagation(); move(index, index - 1); });
      down.addEventListener("click", function (event) { event.stopPropagation(); move(index, index + 1); });
      item.appendChild(up);
      item.appendChild(down);
      if (!field.locked) {
        var remove = el("button", {"type": "button", "class": "icon-btn danger", "aria-label": S.remove, "title": S.remove}, "✕");
        remove.addEventListener("click", function (event) {
          event.stopPropagation();
          if (!window.confirm(S.confirmRemove.replace("%s", labelOf(field)))) { return; }
          fields.splice(index, 1);
          selected = Math.max(0, Math.min(selected, fields.length - 1));
          changed();
          renderEditor();
        });
        item.appendChild(remove);
      }
      item.addEventListener("click", function () { selected = index; renderList(); renderEditor(); });
      item.addEventListener("dragstart", function (event) {
        dragFrom = index;
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", String(index));
        item.classList.add("dragging");
      });
      item.addEventListener("dragend", function () { item.classList.remove("dragging"); });
      item.addEventListener("dragover", function (event) { event.preventDefault(); item.classList.add("drop-target"); });
      item.addEventListener("dragleave", function () { item.classList.remove("drop-target"); });
      item.addEventListener("drop", function (event) {
        event.preventDefault();
        item.classList.remove("drop-target");
        var from = dragFrom !== null ? dragFrom : parseInt(event.dataTransfer.getData("text/plain"), 10);
        dragFrom = null;
        if (!isNaN(from)) { move(from, index); }
      });
      list.appendChild(item);
    });
  }

  // --- The editor of the selected field -------------------------------------------------

  function row(labelText, control, help) {
    var wrap = el("div", {"class": "field"});
    var id = "edit-" + Math.random().toString(36).slice(2);
    control.id = id;
    wrap.appendChild(el("label", {"for": id}, labelText));
    wrap.appendChild(control);
    if (help) { wrap.appendChild(el("div", {"class": "help"}, help)); }
    return wrap;
  }

  function input(value, onInput, attrs) {
    var node = el("input", Object.assign({"type": "text"}, attrs || {}));
    node.value = value === undefined || value === null ? "" : String(value);
    node.addEventListener("input", function () { onInput(node.value); changed(); });
    return node;
  }

  function textarea(value, onInput, rows) {
    var node = el("textarea", {"rows": String(rows || 3)});
    node.value = value || "";
    node.addEventListener("input", function () { onInput(node.value); changed(); });
    return node;
  }

  function select(options, value, onChange) {
    var node = el("select");
    options.forEach(function (option) {
      var opt = el("option", {"value": option[0]}, option[1]);
      if (String(option[0]) === String(value)) { opt.selected = true; }
      node.appendChild(opt);
    });
    node.addEventListener("change", function () { onChange(node.value); changed(); renderEditor(); });
    return node;
  }

  function bilingual(field, attribute, title, multiline) {
    var group = el("fieldset", {"class": "bilingual"});
    group.appendChild(el("legend", {}, title));
    LANGS.forEach(function (lang) {
      field[attribute] = field[attribute] || {};
      var setter = function (v) { field[attribute][lang[0]] = v; };
      var control = multiline ? textarea(field[attribute][lang[0]], setter, 4) : input(field[attribute][lang[0]], setter);
      control.setAttribute("data-attribute", attribute + "." + lang[0]);
      group.appendChild(row(lang[1], control));
    });
    return group;
  }

  function choicesText(field) {
    return (field.choices || []).map(function (c) {
      var label = c.label || {};
      return [c.value, label["zh-hans"] || "", label.en || ""].join(" | ");
    }).join("\n");
  }

  function parseChoices(text) {
    return text.split("\n").map(function (line) { return line.trim(); }).filter(Boolean).map(function (line) {
      var parts = line.split("|").map(function (p) { return p.trim(); });
      return {"value": parts[0], "label": {"zh-hans": parts[1] || parts[0], "en": parts[2] || ""}};
    });
  }

  function renderEditor() {
    editor.textContent = "";
    var field = fields[selected];
    if (!field) { editor.appendChild(el("p", {"class": "muted"}, S.noField)); return; }
    editor.appendChild(el("h2", {}, S.fieldSettings));
    if (field.locked) { editor.appendChild(el("div", {"class": "message info locked-note"}, S.lockedHelp)); }
    var info = typeInfo(field.type);
    if (field.privacy === "sensitive") {
      editor.appendChild(el("div", {"class": "message warning", "id": "sensitive-warning"}, S.sensitiveWarning));
    }
    var key = input(field.key, function (v) { field.key = v.trim(); }, {"name": "key", "autocomplete": "off"});
    if (field.locked) { key.disabled = true; }
    editor.appendChild(row(S.key, key, S.keyHelp));
    var type = select(config.fieldTypes.map(function (t) { return [t.type, t.label]; }), field.type, function (v) {
      field.type = v;
      field.privacy = typeInfo(v).privacy;
    });
    type.name = "type";
    if (field.locked) { type.disabled = true; }
    editor.appendChild(row(S.type, type));
    editor.appendChild(bilingual(field, "label", S.label));
    editor.appendChild(bilingual(field, "help", S.help));
    if (["text", "long_text", "number", "mobile", "email", "plate"].indexOf(field.type) >= 0) {
      editor.appendChild(bilingual(field, "placeholder", S.placeholder));
    }
    var required = el("input", {"type": "checkbox", "name": "required"});
    required.checked = !!field.required;
    if (field.locked || field.type === "yes_no") { required.disabled = true; }
    required.addEventListener("change", function () { field.required = required.checked; changed(); });
    var requiredRow = el("div", {"class": "field check"});
    var requiredLabel = el("label");
    requiredLabel.appendChild(required);
    requiredLabel.appendChild(document.createTextNode(" " + S.required));
    requiredRow.appendChild(requiredLabel);
    editor.appendChild(requiredRow);
    var privacy = select(config.privacyClasses.map(function (p) { return [p.value, p.label]; }), field.privacy || info.privacy, function (v) { field.privacy = v; });
    privacy.name = "privacy";
    editor.appendChild(row(S.privacy, privacy, S.privacyHelp));

    if (field.type === "text" || field.type === "long_text") {
      editor.appendChild(row(S.maxLength, input(field.max_length, function (v) { field.max_length = v ? parseInt(v, 10) : null; }, {"type": "number", "min": "1"})));
      editor.appendChild(row(S.pattern, input(field.pattern, function (v) { field.pattern = v; }, {"name": "pattern"}), S.patternHelp));
    }
    if (field.type === "number") {
      editor.appendChild(row(S.minimum, input(field.minimum, function (v) { field.minimum = v === "" ? null : Number(v); }, {"type": "number"})));
      editor.appendChild(row(S.maximum, input(field.maximum, function (v) { field.maximum = v === "" ? null : Number(v); }, {"type": "number"})));
    }
    if (field.type === "choice" || field.type === "multiple_choice") {
      editor.appendChild(row(S.choices, textarea(choicesText(field), function (v) { field.choices = parseChoices(v); }, 5), S.choicesHelp));
    }
    if (field.type === "photo" || field.type === "file") {
      editor.appendChild(row(S.maxSize, input(field.max_size_kb, function (v) { field.max_size_kb = v ? parseInt(v, 10) : null; }, {"type": "number", "min": "1"})));
    }
    if (field.type === "photo") {
      editor.appendChild(row(S.capture, select([["upload", S.captureUpload], ["camera", S.captureCamera]], field.capture || "upload", function (v) { field.capture = v; })));
    }
    if (field.type === "consent") {
      editor.appendChild(bilingual(field, "consent_text", S.consentText, true));
    }
    if (field.type === "companions") {
      editor.appendChild(row(S.maxItems, input(field.max_items, function (v) { field.max_items = v ? parseInt(v, 10) : null; }, {"type": "number", "min": "1", "max": "20"})));
    }
    if (!field.locked) { editor.appendChild(visibilityEditor(field)); }
  }

  function visibilityEditor(field) {
    var group = el("fieldset", {"class": "bilingual"});
    group.appendChild(el("legend", {}, S.visibleIf));
    var controllers = fields.slice(0, selected).filter(function (f) { return f.type === "yes_no" || f.type === "choice"; });
    var options = [["", S.always]].concat(controllers.map(function (f) { return [f.key, labelOf(f)]; }));
    var condition = field.visible_if || {};
    group.appendChild(row(S.dependsOn, select(options, condition.field || "", function (v) {
      if (!v) { delete field.visible_if; return; }
      var controller = controllers.filter(function (f) { return f.key === v; })[0];
      field.visible_if = {"field": v, "equals": controller.type === "yes_no" ? true : ((controller.choices || [])[0] || {}).value};
    })));
    var controller = controllers.filter(function (f) { return f.key === condition.field; })[0];
    if (controller && controller.type === "choice") {
      group.appendChild(row(S.equals, select((controller.choices || []).map(function (c) {
        return [c.value, (c.label || {})["zh-hans"] || c.value];
      }), condition.equals, function (v) { field.visible_if.equals = v; })));
    } else if (controller) {
      group.appendChild(el("div", {"class": "help"}, S.whenChecked));
    }
    return group;
  }

  // --- Adding fields ---------------------------------------------------------------------

  var newType = document.getElementById("new-type");
  config.fieldTypes.forEach(function (t) { newType.appendChild(el("option", {"value": t.type}, t.label)); });
  document.getElementById("add-field").addEventListener("click", function () {
    var type = newType.value;
    var base = type.replace(/[^a-z_]/g, "");
    var number = 1;
    var taken = {};
    fields.forEach(function (f) { taken[f.key] = true; });
    while (taken[base + "_" + number]) { number += 1; }
    var field = {"key": base + "_" + number, "type": type, "label": {"zh-hans": typeLabels[type], "en": ""},
      "required": false, "privacy": typeInfo(type).privacy};
    if (type === "choice" || type === "multiple_choice") {
      field.choices = [{"value": "option_1", "label": {"zh-hans": "选项 1", "en": "Option 1"}}];
    }
    if (type === "consent") { field.required = true; field.consent_text = {"zh-hans": "", "en": ""}; }
    fields.push(field);
    selected = fields.length - 1;
    changed();
    renderEditor();
    var keyInput = editor.querySelector("input[name=key]");
    if (keyInput) { keyInput.focus(); keyInput.select(); }
  });

  // --- Server calls ----------------------------------------------------------------------

  function post(url, body, accept) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": accept || "application/json"},
      body: JSON.stringify(body)
    });
  }

  function schedulePreview() {
    window.clearTimeout(previewTimer);
    previewTimer = window.setTimeout(refreshPreview, 350);
  }

  function refreshPreview() {
    post(config.urls.preview + "?layout=" + layout, {"fields": fields}, "text/html").then(function (response) {
      if (response.ok) {
        return response.text().then(function (html) {
          document.getElementById("preview").srcdoc = html;
          clearStatus();
        });
      }
      return response.json().then(function (error) {
        showStatus("error", error.message, (error.details || {}).problems);
      });
    }).catch(function () { showStatus("error", S.networkError); });
  }

  function saveDraft() {
    return post(config.urls.draft, {"fields": fields}).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) {
          showStatus("error", body.message, (body.details || {}).problems);
          throw new Error("refused");
        }
        fields = body.fields;
        document.getElementById("draft-state").textContent = body.unpublished ? S.savedUnpublished : S.savedPublished;
        showStatus("ok", S.saved);
        renderList();
        renderEditor();
        return body;
      });
    });
  }

  document.getElementById("save-draft").addEventListener("click", function () {
    saveDraft().catch(function () { /* shown already */ });
  });
  document.getElementById("publish").addEventListener("click", function () {
    saveDraft().then(function () {
      return post(config.urls.publish, {}).then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) { showStatus("error", body.message, (body.details || {}).problems); return; }
          window.location.reload();
        });
      });
    }).catch(function () { /* shown already */ });
  });

  Array.prototype.forEach.call(document.querySelectorAll(".preview-tabs button"), function (button) {
    button.addEventListener("click", function () {
      layout = button.getAttribute("data-layout");
      Array.prototype.forEach.call(document.querySelectorAll(".preview-tabs button"), function (b) {
        b.classList.toggle("primary", b === button);
      });
      document.getElementById("preview-box").className = "preview-frame preview-" + layout;
      refreshPreview();
    });
  });

  renderList();
  renderEditor();
  refreshPreview();
})();
