/* The security screen: a client of the occupancy socket (docs: /ws/occupancy/ protocol).
 *
 * A snapshot on connect, then deltas with a per-building seq, applied idempotently to maps
 * keyed by visit id and alert id. A gap in seq not filled within 2 s asks for a resync; a lost
 * connection comes back with exponential backoff and jitter. The screen resyncs every 10
 * minutes and at the building's midnight, so it runs for days with its memory flat: every
 * collection is bounded or rebuilt by a snapshot, the DOM is updated by key, timers and
 * listeners are created once.
 *
 * Plain ES2020, no inline handlers (CSP-friendly); the page's config is a json_script tag.
 * `window.securityScreen` exposes the state and `apply(message)` for tests.
 */
(() => {
  "use strict";

  const config = JSON.parse(document.getElementById("security-config").textContent);
  const T = config.texts;

  const GAP_WAIT_MS = 2000;
  const RESYNC_EVERY_MS = 10 * 60 * 1000;
  const OVERSTAY_EVERY_MS = 30 * 1000;
  const BACKOFF_FIRST_MS = 1000;
  const BACKOFF_MAX_MS = 30000;
  const MAX_PENDING = 500; // deltas held while waiting for a missing seq
  const MAX_ALERTS = 200; // the snapshot sends at most 200 open alerts
  const MAX_SEEN_EVENTS = 2000; // event ids already counted (anonymous passages)
  const MAX_SENT_LOG = 20;
  const SOUND_KEY = "securityScreen.sound";

  const state = {
    building: "",
    names: "masked",
    graceMinutes: 0,
    seq: null, // last seq applied; null until the first snapshot
    clockOffsetMs: 0, // server now − local now, from the snapshot
    dayStart: null, // Date: the building's local midnight
    inside: new Map(), // visit_id → Person
    arrived: new Set(), // visit ids
    left: new Set(),
    expected: new Map(), // visit_id → Expected
    anonymous: { entries: 0, exits: 0 },
    alerts: new Map(), // alert id → AlertPayload (open ones only)
    gates: new Map(), // gate id → Gate
    zones: [],
    connection: "connecting",
    lastUpdate: null,
    sent: [], // the last messages sent to the server (for tests and debugging)
    nextReconnectMs: null,
    beeps: 0, // urgent alerts announced (sounded when the sound is on)
  };

  // --- Small helpers ------------------------------------------------------------------------

  const $ = (id) => document.getElementById(id);
  const format = (text, values) =>
    text.replace(/%\((\w+)\)s/g, (_, key) => (key in values ? String(values[key]) : ""));
  const serverNow = () => Date.now() + state.clockOffsetMs;
  const timeFormat = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
    timeZone: config.time_zone,
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  });
  const secondsFormat = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
    timeZone: config.time_zone,
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  });
  const time = (iso) => (iso ? timeFormat.format(new Date(iso)) : "");

  function setText(element, text) {
    if (element.textContent !== text) element.textContent = text;
  }

  function remember(set, value, limit) {
    set.delete(value);
    set.add(value);
    if (set.size > limit) set.delete(set.values().next().value);
  }

  const seenEvents = new Set();

  function isOverstay(person) {
    if (person.overstay) return true;
    if (!person.valid_until) return false;
    const limit = Date.parse(person.valid_until) + state.graceMinutes * 60000;
    return serverNow() > limit;
  }

  // --- Applying messages --------------------------------------------------------------------

  let pending = new Map(); // seq → delta, waiting for the gap before it to fill
  let gapTimer = null;
  let newAlertIds = []; // alerts to announce (sound) at the next render
  let lastSnapshotAt = null;

  function apply(message) {
    if (!message || typeof message !== "object") return;
    if (message.type === "batch" && Array.isArray(message.messages)) {
      message.messages.forEach(apply); // events published together, in order
      return;
    }
    if (message.type === "snapshot") {
      applySnapshot(message);
    } else if (typeof message.seq === "number") {
      receiveDelta(message);
    } else {
      return; // "hello" and anything the protocol does not name
    }
    state.lastUpdate = new Date();
    scheduleRender();
  }

  function applySnapshot(snapshot) {
    state.building = snapshot.building || "";
    state.names = snapshot.names || "masked";
    state.graceMinutes = Number(snapshot.grace_minutes) || 0;
    state.seq = Number(snapshot.seq) || 0;
    if (snapshot.now) state.clockOffsetMs = Date.parse(snapshot.now) - Date.now();
    state.dayStart = snapshot.day_start ? new Date(snapshot.day_start) : null;
    state.inside = new Map((snapshot.inside || []).map((person) => [person.visit_id, person]));
    state.arrived = new Set(snapshot.arrived_today || []);
    state.left = new Set(snapshot.left_today || []);
    state.expected = new Map((snapshot.expected || []).map((visit) => [visit.visit_id, visit]));
    const anonymous = snapshot.anonymous || {};
    state.anonymous = { entries: anonymous.entries || 0, exits: anonymous.exits || 0 };
    const known = state.alerts;
    state.alerts = new Map();
    for (const alert of (snapshot.alerts || []).slice(0, MAX_ALERTS)) {
      if (alert.acknowledged_at) continue;
      state.alerts.set(alert.id, alert);
      if (!known.has(alert.id) && lastSnapshotAt !== null) newAlertIds.push(alert.id);
    }
    state.gates = new Map((snapshot.gates || []).map((gate) => [gate.id, gate]));
    state.zones = Array.isArray(snapshot.zones) ? snapshot.zones.slice() : [];
    seenEvents.clear();
    lastSnapshotAt = Date.now();
    // Deltas that came in before the snapshot (or while waiting for one) and are newer.
    const held = pending;
    pending = new Map();
    clearGapTimer();
    for (const [seq, delta] of held) if (seq > state.seq) pending.set(seq, delta);
    drain();
    scheduleMidnight();
    if (state.connection !== "live") setConnection("live");
  }

  function receiveDelta(delta) {
    if (state.seq === null) {
      hold(delta); // no snapshot yet: keep it for when the snapshot comes
      return;
    }
    if (delta.seq <= state.seq) return; // already in the snapshot, or seen
    hold(delta);
    drain();
  }

  function hold(delta) {
    pending.set(delta.seq, delta);
    if (pending.size > MAX_PENDING) {
      pending = new Map();
      clearGapTimer();
      resync();
    }
  }

  function drain() {
    while (pending.has(state.seq + 1)) {
      const delta = pending.get(state.seq + 1);
      pending.delete(state.seq + 1);
      state.seq += 1;
      applyDelta(delta);
    }
    if (pending.size === 0) {
      clearGapTimer();
    } else if (gapTimer === null) {
      gapTimer = setTimeout(() => {
        gapTimer = null;
        if (pending.size > 0) resync();
      }, GAP_WAIT_MS);
    }
  }

  function clearGapTimer() {
    if (gapTimer !== null) clearTimeout(gapTimer);
    gapTimer = null;
  }

  function applyDelta(delta) {
    switch (delta.type) {
      case "access_event":
        return applyAccessEvent(delta);
      case "alert":
        return applyAlert(delta);
      case "alert_acknowledged":
        state.alerts.delete(delta.id);
        return undefined;
      case "visit":
        return applyVisit(delta);
      case "gate_health":
        return applyGateHealth(delta);
      default:
        return undefined;
    }
  }

  function applyAccessEvent(event) {
    if (!event.granted) return;
    if (event.event_id) {
      if (seenEvents.has(event.event_id)) return;
      remember(seenEvents, event.event_id, MAX_SEEN_EVENTS);
    }
    const id = event.visit_id;
    if (id === null || id === undefined) {
      if (event.direction === "in") state.anonymous.entries += 1;
      else state.anonymous.exits += 1;
      return;
    }
    if (event.direction === "in") {
      const person = event.person || state.inside.get(id);
      if (person) state.inside.set(id, { ...person, gate: event.gate ?? person.gate, gate_id: event.gate_id ?? person.gate_id, zone: event.zone ?? person.zone });
      if (event.first_entry) state.arrived.add(id);
      state.left.delete(id);
      state.expected.delete(id);
    } else {
      state.inside.delete(id);
      state.left.add(id);
    }
  }

  function applyAlert(alert) {
    if (alert.acknowledged_at) {
      state.alerts.delete(alert.id);
      return;
    }
    if (!state.alerts.has(alert.id)) newAlertIds.push(alert.id);
    state.alerts.set(alert.id, alert);
    if (state.alerts.size > MAX_ALERTS) {
      const oldest = [...state.alerts.values()].sort(byNewest).pop();
      state.alerts.delete(oldest.id);
    }
  }

  function applyVisit(change) {
    const id = change.visit_id;
    const person = change.person;
    switch (change.change) {
      case "expected":
        if (person && !state.inside.has(id) && !state.arrived.has(id)) state.expected.set(id, person);
        break;
      case "overstay":
        if (state.inside.has(id)) state.inside.set(id, { ...state.inside.get(id), ...(person || {}), overstay: true });
        break;
      case "extended":
        if (state.inside.has(id)) {
          state.inside.set(id, { ...state.inside.get(id), ...(person || {}) });
        } else if (state.expected.has(id)) {
          state.expected.set(id, { ...state.expected.get(id), ...(person || {}) });
        }
        break;
      case "checked_out":
        if (state.inside.delete(id)) state.left.add(id);
        state.expected.delete(id);
        break;
      case "cancelled":
        state.expected.delete(id);
        state.inside.delete(id);
        break;
      default:
        break;
    }
  }

  function applyGateHealth(health) {
    for (const controller of health.controllers || []) {
      for (const gateId of controller.gate_ids || []) {
        const gate = state.gates.get(gateId);
        if (!gate) continue;
        state.gates.set(gateId, {
          ...gate,
          online: Boolean(health.online && controller.online),
          controller: controller.name ?? gate.controller,
        });
      }
    }
  }

  // --- The socket ---------------------------------------------------------------------------

  let socket = null;
  let attempts = 0;
  let reconnectTimer = null;

  function backoff(attempt) {
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** attempt);
    return Math.round(base * (0.75 + Math.random() * 0.25)); // jitter: screens spread out
  }

  function socketUrl() {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + window.location.host + config.socket_path;
  }

  function connect() {
    reconnectTimer = null;
    let opened;
    try {
      opened = new WebSocket(socketUrl());
    } catch (error) {
      scheduleReconnect();
      return;
    }
    socket = opened;
    opened.onopen = () => {
      attempts = 0;
    };
    opened.onmessage = (event) => {
      if (opened !== socket) return;
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      apply(message);
    };
    opened.onclose = (event) => {
      if (opened !== socket) return;
      socket = null;
      opened.onopen = opened.onmessage = opened.onclose = opened.onerror = null;
      // The next connection starts with a snapshot: deltas before it wait for it.
      state.seq = null;
      pending = new Map();
      clearGapTimer();
      setConnection(event && event.code === 4403 ? "not_allowed" : "reconnecting");
      scheduleReconnect();
    };
    opened.onerror = () => {}; // a close follows
  }

  function scheduleReconnect() {
    if (reconnectTimer !== null) return;
    const delay = backoff(attempts);
    attempts += 1;
    state.nextReconnectMs = delay;
    reconnectTimer = setTimeout(connect, delay);
  }

  function send(message) {
    state.sent.push(message);
    if (state.sent.length > MAX_SENT_LOG) state.sent.shift();
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  function resync() {
    return send({ type: "resync" });
  }

  let midnightTimer = null;

  function scheduleMidnight() {
    if (midnightTimer !== null) clearTimeout(midnightTimer);
    midnightTimer = null;
    if (!state.dayStart) return;
    const next = state.dayStart.getTime() + 24 * 3600 * 1000;
    // A day is 23 or 25 hours across a DST change: the 10-minute resync corrects that.
    const wait = Math.max(1000, next - serverNow() + 1000);
    midnightTimer = setTimeout(() => {
      midnightTimer = null;
      resync();
    }, Math.min(wait, 2 ** 31 - 1));
  }

  function setConnection(value) {
    state.connection = value;
    scheduleRender();
  }

  // --- Rendering ----------------------------------------------------------------------------

  let frame = null;

  function scheduleRender() {
    if (frame === null) frame = requestAnimationFrame(render);
  }

  const screen = $("security-screen");

  function render() {
    frame = null;
    const inside = [...state.inside.values()];
    let people = 0;
    let overstays = 0;
    const byZone = new Map(state.zones.map((zone) => [zone, 0]));
    const byGate = new Map();
    for (const person of inside) {
      const count = 1 + (Number(person.companions) || 0);
      people += count;
      person._overstay = isOverstay(person);
      if (person._overstay) overstays += 1;
      const zone = person.zone || "";
      byZone.set(zone, (byZone.get(zone) || 0) + count);
      byGate.set(person.gate_id, (byGate.get(person.gate_id) || 0) + count);
    }
    setText($("count-inside"), String(people));
    setText($("count-inside-visits"), format(T.visits, { count: inside.length }));
    setText($("count-arrived"), String(state.arrived.size));
    setText($("count-left"), String(state.left.size));
    setText($("count-expected"), String(state.expected.size));
    setText($("count-overstay"), String(overstays));
    $("overstay-tile").classList.toggle("alarm", overstays > 0);
    setText($("count-anonymous-in"), String(state.anonymous.entries));
    setText($("count-anonymous-out"), String(state.anonymous.exits));
    setText($("people-count"), String(people));
    renderPeople(inside);
    renderZones(byZone, people);
    renderGates(byGate);
    renderAlerts();
    renderConnection();
    screen.dataset.state = state.connection;
    if (newAlertIds.length) {
      const urgent = newAlertIds.some((id) => state.alerts.get(id)?.urgent);
      newAlertIds = [];
      if (urgent) beep();
    }
  }

  function renderConnection() {
    const element = $("connection");
    element.dataset.state = state.connection === "not_allowed" ? "reconnecting" : state.connection;
    setText($("connection-state"), T[state.connection] || state.connection);
    setText(
      $("last-update"),
      state.lastUpdate ? format(T.updated, { time: secondsFormat.format(state.lastUpdate) }) : T.never_updated,
    );
  }

  /* Keyed update: one element per key, kept across renders (so a half-typed note survives),
   * moved into order, removed when its key goes. Returns the rows by key. */
  function keyed(container, rows, items, key, build, update) {
    const wanted = new Set();
    let previous = null;
    for (const item of items) {
      const id = key(item);
      wanted.add(id);
      let element = rows.get(id);
      if (!element) {
        element = build(item);
        rows.set(id, element);
      }
      update(element, item);
      const expectedPosition = previous ? previous.nextSibling : container.firstChild;
      if (element !== expectedPosition) container.insertBefore(element, expectedPosition);
      previous = element;
    }
    for (const [id, element] of rows) {
      if (!wanted.has(id)) {
        element.remove();
        rows.delete(id);
      }
    }
  }

  function cell(row, className) {
    const element = document.createElement("td");
    if (className) element.className = className;
    row.appendChild(element);
    return element;
  }

  const personRows = new Map();

  function renderPeople(inside) {
    inside.sort((a, b) => (b._overstay - a._overstay) || (Date.parse(b.since) - Date.parse(a.since)) || (a.visit_id - b.visit_id));
    keyed(
      $("people-rows"),
      personRows,
      inside,
      (person) => person.visit_id,
      () => {
        const row = document.createElement("tr");
        const name = cell(row, "name");
        name.append(document.createElement("strong"), document.createElement("span"), document.createElement("em"));
        name.children[1].className = "companions";
        name.children[1].title = T.companions_title;
        name.children[2].className = "flag";
        name.children[2].textContent = T.overstay;
        cell(row, "host");
        cell(row, "company");
        cell(row, "since num");
        cell(row, "where");
        return row;
      },
      (row, person) => {
        row.dataset.visit = String(person.visit_id);
        row.classList.toggle("overstay", person._overstay);
        const [name, host, company, since, where] = row.children;
        setText(name.children[0], person.name || "");
        const companions = Number(person.companions) || 0;
        setText(name.children[1], companions ? format(T.companions, { count: companions }) : "");
        setText(host, person.host || "");
        setText(company, person.company || "");
        setText(since, time(person.since) + (person.valid_until ? " · " + format(T.until, { time: time(person.valid_until) }) : ""));
        setText(where, [person.gate, person.zone].filter(Boolean).join(" · "));
      },
    );
    const empty = $("people-empty");
    empty.hidden = inside.length > 0;
    setText(empty, T.nobody_inside);
  }

  const zoneRows = new Map();

  function renderZones(byZone, total) {
    const zones = [...byZone.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    keyed(
      $("zones"),
      zoneRows,
      zones,
      ([zone]) => zone,
      () => {
        const item = document.createElement("li");
        item.innerHTML = '<span class="bar-label"></span><span class="bar"><i></i></span><b class="num"></b>';
        return item;
      },
      (item, [zone, count]) => {
        setText(item.children[0], zone || T.no_zone);
        item.children[1].firstChild.style.width = `${total ? Math.round((count / total) * 100) : 0}%`;
        setText(item.children[2], String(count));
      },
    );
  }

  const gateRows = new Map();

  function renderGates(byGate) {
    const gates = [...state.gates.values()].sort((a, b) => String(a.name).localeCompare(String(b.name)));
    keyed(
      $("gates"),
      gateRows,
      gates,
      (gate) => gate.id,
      () => {
        const item = document.createElement("li");
        item.innerHTML = '<span class="dot"></span><span class="gate-name"></span><span class="gate-zone muted"></span><b class="num"></b><span class="gate-state"></span>';
        return item;
      },
      (item, gate) => {
        const health = gate.online === true ? "online" : gate.online === false ? "offline" : "unknown";
        item.dataset.gate = String(gate.id);
        item.dataset.health = health;
        setText(item.children[1], gate.name || "");
        setText(item.children[2], gate.zone || "");
        setText(item.children[3], String(byGate.get(gate.id) || 0));
        setText(item.children[4], T[health]);
        item.title = gate.controller ? `${T.controller}: ${gate.controller}` : "";
      },
    );
    const empty = $("gates-empty");
    empty.hidden = gates.length > 0;
    setText(empty, T.no_gates);
  }

  const alertRows = new Map();
  const byNewest = (a, b) => Date.parse(b.occurred_at) - Date.parse(a.occurred_at) || b.id - a.id;

  function renderAlerts() {
    const alerts = [...state.alerts.values()].sort(byNewest);
    keyed($("alerts"), alertRows, alerts, (alert) => alert.id, buildAlert, updateAlert);
    setText($("alerts-count"), String(alerts.length));
    $("alerts-count").classList.toggle("alarm", alerts.some((alert) => alert.urgent));
    const empty = $("alerts-empty");
    empty.hidden = alerts.length > 0;
    setText(empty, T.no_alerts);
  }

  function buildAlert(alert) {
    const item = document.createElement("li");
    item.className = "alert";
    item.innerHTML =
      '<div class="alert-head"><strong class="alert-kind"></strong><span class="alert-time num"></span></div>' +
      '<div class="alert-where"></div><div class="alert-who"></div>';
    if (config.can_acknowledge) {
      const form = document.createElement("form");
      form.className = "acknowledge";
      form.innerHTML = '<textarea name="note" rows="2" maxlength="500" required></textarea><button class="btn small" type="submit"></button><div class="error" role="alert"></div>';
      form.note.placeholder = T.note_placeholder;
      form.note.setAttribute("aria-label", T.note);
      form.querySelector("button").textContent = T.acknowledge;
      item.appendChild(form);
    }
    item.dataset.alert = String(alert.id);
    return item;
  }

  function updateAlert(item, alert) {
    item.classList.toggle("urgent", Boolean(alert.urgent));
    item.dataset.kind = alert.kind;
    setText(item.querySelector(".alert-kind"), config.alert_kinds[alert.kind] || alert.kind);
    setText(item.querySelector(".alert-time"), time(alert.occurred_at));
    const where = [alert.gate, alert.zone, alert.controller && `${T.controller}: ${alert.controller}`, alert.agent && `${T.agent}: ${alert.agent}`];
    setText(item.querySelector(".alert-where"), where.filter(Boolean).join(" · "));
    setText(item.querySelector(".alert-who"), alert.visitor ? `${T.visitor}: ${alert.visitor}` : "");
  }

  // --- Acknowledging an alert ---------------------------------------------------------------

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  async function acknowledge(form) {
    const item = form.closest("li.alert");
    const id = Number(item.dataset.alert);
    const button = form.querySelector("button");
    const error = form.querySelector(".error");
    error.textContent = "";
    button.disabled = true;
    button.textContent = T.acknowledging;
    try {
      const response = await fetch(config.acknowledge_url.replace("/0/", `/${id}/`), {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
        body: new URLSearchParams({ note: form.note.value }),
      });
      let body = {};
      try {
        body = await response.json();
      } catch (parseError) {
        body = {};
      }
      if (response.ok || body.code === "alert_already_acknowledged" || response.status === 404) {
        // Closed, here or by someone else: the alert_acknowledged delta says so on every screen.
        state.alerts.delete(id);
        scheduleRender();
        if (response.ok) return;
      }
      error.textContent = body.message || T.network_error;
    } catch (networkError) {
      error.textContent = T.network_error;
    } finally {
      button.disabled = false;
      button.textContent = T.acknowledge;
    }
  }

  $("alerts").addEventListener("submit", (event) => {
    const form = event.target.closest("form.acknowledge");
    if (!form) return;
    event.preventDefault();
    acknowledge(form);
  });

  // --- Sound --------------------------------------------------------------------------------

  let audio = null;
  const soundButton = $("sound-toggle");

  function soundWanted() {
    try {
      return window.localStorage.getItem(SOUND_KEY) === "on";
    } catch (error) {
      return false;
    }
  }

  function renderSound() {
    const on = soundWanted();
    const blocked = on && (!audio || audio.state !== "running");
    soundButton.setAttribute("aria-pressed", String(on));
    soundButton.classList.toggle("on", on && !blocked);
    soundButton.textContent = blocked ? T.sound_blocked : on ? T.sound_on : T.sound_off;
  }

  function unlockAudio() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    if (!audio) audio = new Context();
    if (audio.state === "suspended") audio.resume().then(renderSound, renderSound);
  }

  soundButton.addEventListener("click", () => {
    const on = !soundWanted();
    try {
      window.localStorage.setItem(SOUND_KEY, on ? "on" : "off");
    } catch (error) {
      /* private mode: the choice lasts for this page */
    }
    if (on) {
      unlockAudio();
      beep();
    }
    renderSound();
  });
  // Browsers allow audio only after a gesture: the first click anywhere unlocks it.
  document.addEventListener("pointerdown", () => soundWanted() && unlockAudio(), { once: true });

  function beep() {
    state.beeps += 1;
    if (!soundWanted()) return;
    unlockAudio();
    if (!audio || audio.state !== "running") {
      renderSound();
      return;
    }
    const start = audio.currentTime;
    for (const offset of [0, 0.35]) {
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      oscillator.frequency.value = 880;
      gain.gain.setValueAtTime(0.0001, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.4, start + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.25);
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start(start + offset);
      oscillator.stop(start + offset + 0.3);
    }
  }

  // --- Language, clock, timers --------------------------------------------------------------

  const languageForm = $("language-form");
  languageForm.language.addEventListener("change", () => languageForm.submit());

  function tick() {
    setText($("clock"), secondsFormat.format(new Date(serverNow())));
  }

  setInterval(tick, 1000);
  setInterval(scheduleRender, OVERSTAY_EVERY_MS); // overstays come due with time alone
  setInterval(resync, RESYNC_EVERY_MS);

  window.securityScreen = Object.freeze({
    state,
    apply,
    resync,
    backoff,
    render,
    get pendingCount() {
      return pending.size;
    },
  });

  tick();
  renderSound();
  render();
  connect();
})();
