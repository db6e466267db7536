"use strict";
(function () {
  const I18N = window.PARKLINK_I18N;
  const SEV_RANK = { CRITICAL: 3, WARNING: 2, INFO: 1 };
  const SEV_COLOUR = { CRITICAL: "#c62828", WARNING: "#ef8f00", INFO: "#1e6fd9" };
  const state = {
    lang: localStorage.getItem("parklink.lang") || "en",
    token: null,
    alerts: new Map(),
    parks: [],
    selected: null,
    source: null,
    fresh: new Set(),
    me: null,
    may: { acknowledge: false, silence: false },
    lastEventId: 0,
  };
  const $ = (sel) => document.querySelector(sel);

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "class") el.className = v;
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  function s(tag, attrs, ...children) {
    const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
    for (const c of children.flat()) {
      if (c === null || c === undefined) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  function t(key, vars) {
    const table = I18N.labels[state.lang] || I18N.labels.en;
    let text = table[key] ?? I18N.labels.en[key] ?? key;
    for (const [k, v] of Object.entries(vars || {})) text = text.replace("{" + k + "}", v);
    return text;
  }

  function fmtNumber(v) {
    return Number.isInteger(v) ? String(v) : (Math.round(v * 10) / 10).toString();
  }

  function summaryOf(alert) {
    const templates = I18N.summaries[state.lang];
    const template = templates && templates[alert.type];
    if (!template) return alert.summary;
    const vars = {
      subject: alert.subject,
      corridor: alert.corridor || "",
      orders: String(alert.impacted_orders.length),
      shipments: String(alert.impacted_shipments.length),
      parks: String(alert.parks.length),
    };
    const parts = alert.subject.split("|");
    if (parts.length === 3) Object.assign(vars, { park: parts[0], category: parts[1], week: parts[2] });
    for (const [k, v] of Object.entries(alert.metrics || {})) vars[k] = fmtNumber(v);
    let missing = false;
    const text = template.replace(/\{(\w+)\}/g, (_, k) => {
      if (vars[k] === undefined || vars[k] === "") { missing = true; return ""; }
      return vars[k];
    });
    return missing ? alert.summary : text;
  }

  function fmtTime(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    const locale = { en: "en-GB", zh: "zh-CN", ru: "ru-RU" }[state.lang];
    return d.toLocaleString(locale, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  }

  function notice(text) {
    const el = $("#notice");
    el.hidden = !text;
    el.textContent = text || "";
  }

  async function api(path, options) {
    const resp = await fetch(path, {
      ...(options || {}),
      headers: { "Authorization": "Bearer " + state.token, "Content-Type": "application/json" },
    });
    if (resp.status === 401) {
      notice(t("bad_token"));
      throw new Error("unauthorized");
    }
    if (resp.status === 403) {
      notice(t("forbidden"));
      throw new Error("forbidden");
    }
    if (!resp.ok) {
      let message = resp.statusText;
      try { message = (await resp.json()).error.message; } catch (_) { /* not JSON */ }
      notice(message);
      throw new Error(message);
    }
    return resp.status === 204 ? null : resp.json();
  }

  // ---- data ---------------------------------------------------------------------------------
  // The list remembers the stream's event id from before it was read; the stream then
  // starts after that id, so no update between the two is lost. After a disconnect the
  // browser reconnects with Last-Event-ID and the console replays what was missed; when it
  // cannot (a `reset`), the page reloads the list.
  async function loadAlerts() {
    const fresh = new Map();
    let next = "/v1/alerts?limit=500";
    let first = true;
    for (let pages = 0; next && pages < 10; pages++) {
      const page = await api(next);
      if (first) { state.lastEventId = page.last_event_id; first = false; }
      for (const a of page.items) fresh.set(a.alert_id, a);
      next = page.next;
    }
    state.alerts = fresh;
  }

  async function loadMe() {
    state.me = await api("/v1/me");
    state.may = state.me.may;
    showWho();
  }

  function showWho() {
    const me = state.me;
    const el = $("#who");
    if (!me) { el.textContent = ""; return; }
    const role = me.role === "park-operator" ? t("role_park_operator", { park: me.park })
      : me.role === "viewer" ? t("role_viewer") : t("role_operator");
    const may = ["acknowledge", "silence", "webhooks", "audit"].filter((k) => me.may[k]).map((k) => t("may_" + k));
    el.textContent = t("signed_in", { name: me.name, role }) + " — " + (may.length ? t("may", { what: may.join(", ") }) : t("read_only_short"));
  }

  function announce(text) {
    const el = $("#live");
    el.textContent = "";
    setTimeout(() => { el.textContent = text; }, 50);
  }

  function connect() {
    if (state.source) state.source.close();
    const url = "/v1/alerts/stream?token=" + encodeURIComponent(state.token)
      + "&last_event_id=" + encodeURIComponent(state.lastEventId);
    const src = new EventSource(url);
    state.source = src;
    src.onopen = () => setConn(true);
    src.onerror = () => {
      setConn(false);
      if (src.readyState === EventSource.CLOSED) {
        // Refused (revoked or expired token): the browser will not retry by itself.
        notice(t("stream_closed"));
        setTimeout(start, 10000);
      }
    };
    src.addEventListener("alert", (ev) => {
      const alert = JSON.parse(ev.data);
      state.alerts.set(alert.alert_id, alert);
      state.fresh.add(alert.alert_id);
      render();
      if (state.selected === alert.alert_id) showDetail(alert.alert_id, false);
      announce(t("announce", { severity: t(alert.severity), status: t(alert.status), summary: summaryOf(alert) }));
      scheduleChart();
    });
    src.addEventListener("reset", async () => {
      try { await loadAlerts(); } catch (_) { return; }
      render();
    });
  }

  function setConn(on) {
    const el = $("#conn");
    el.className = "conn " + (on ? "on" : "off");
    el.dataset.i18n = on ? "online" : "offline";
    el.textContent = t(el.dataset.i18n);
  }

  async function start() {
    if (!state.token) { notice(t("need_token")); return; }
    notice("");
    try {
      await loadMe();
      await loadAlerts();
    } catch (_) { return; }
    render();
    connect();
    loadChart();
  }

  // ---- list ---------------------------------------------------------------------------------
  function filtered() {
    const f = {
      status: $("#f-status").value, severity: $("#f-severity").value, type: $("#f-type").value,
      park: $("#f-park").value, corridor: $("#f-corridor").value,
      text: $("#f-text").value.trim().toLowerCase(),
    };
    return [...state.alerts.values()]
      .filter((a) => (!f.status || a.status === f.status) && (!f.severity || a.severity === f.severity)
        && (!f.type || a.type === f.type) && (!f.park || a.parks.includes(f.park))
        && (!f.corridor || a.corridor === f.corridor)
        && (!f.text || (a.alert_id + " " + a.summary + " " + summaryOf(a)).toLowerCase().includes(f.text)))
      .sort((a, b) => (a.status === b.status ? 0 : a.status === "FIRING" ? -1 : 1)
        || (SEV_RANK[b.severity] - SEV_RANK[a.severity]) || b.updated_at.localeCompare(a.updated_at));
  }

  function fillSelect(sel, values, label) {
    const el = $(sel);
    const current = el.value;
    const known = new Set([...el.options].map((o) => o.value));
    for (const v of values) if (!known.has(v)) el.append(h("option", { value: v }, label ? label(v) : v));
    el.value = current;
  }

  function render() {
    const all = [...state.alerts.values()];
    fillSelect("#f-type", [...new Set(all.map((a) => a.type))].sort());
    fillSelect("#f-park", [...new Set([...state.parks.map((p) => p.park_id), ...all.flatMap((a) => a.parks)])].sort());
    fillSelect("#f-corridor", [...new Set(all.map((a) => a.corridor).filter(Boolean))].sort());
    const rows = filtered();
    const body = $("#alerts tbody");
    body.replaceChildren(...rows.map((a) => h("tr", {
      "data-alert-id": a.alert_id,
      "aria-selected": state.selected === a.alert_id ? "true" : "false",
      class: ["sev-" + a.severity, "st-" + a.status, state.selected === a.alert_id ? "selected" : "",
        state.fresh.has(a.alert_id) ? "fresh" : ""].join(" "),
      onclick: () => showDetail(a.alert_id, true),
    },
    h("td", {}, h("span", { class: "badge " + a.severity }, t(a.severity))),
    h("td", {}, h("span", { class: "badge " + a.status }, t(a.status)),
      a.silenced_by ? h("span", { class: "badge muted" }, t("silenced")) : null),
    h("td", {}, t(a.type)),
    h("td", { class: "summary" }, h("button", {
      type: "button", class: "open-alert", "data-open": a.alert_id,
      onclick: (e) => { e.stopPropagation(); showDetail(a.alert_id, true); },
    }, summaryOf(a))),
    h("td", { class: "muted" }, fmtTime(a.updated_at)),
    h("td", { class: "ack-cell" }, a.acknowledged ? "✓ " + a.last_ack.by : ""))));
    state.fresh.clear();
    $("#empty").hidden = rows.length > 0;
    $("#count").textContent = t("alerts_shown", { n: rows.length, total: all.length });
    drawMap();
  }

  // ---- detail -------------------------------------------------------------------------------
  async function showDetail(alertId, focus) {
    if (state.selected !== alertId) $("#detail").scrollTop = 0;
    state.selected = alertId;
    for (const tr of document.querySelectorAll("#alerts tbody tr")) {
      tr.classList.toggle("selected", tr.dataset.alertId === alertId);
      tr.setAttribute("aria-selected", tr.dataset.alertId === alertId ? "true" : "false");
    }
    let a;
    try { a = await api("/v1/alerts/" + encodeURIComponent(alertId)); } catch (_) { return; }
    const chips = (items) => items.length ? items.map((i) => h("span", { class: "chip" }, i)) : [h("span", { class: "muted" }, t("none"))];
    const comment = h("input", { type: "text", id: "ack-comment", placeholder: t("comment"), "aria-label": t("comment") });
    const scope = h("select", { id: "silence-scope", "aria-label": t("silence_scope") },
      h("option", { value: "alert" }, t("this_alert")),
      h("option", { value: "type" }, t("this_type")),
      a.corridor ? h("option", { value: "corridor" }, t("this_corridor")) : null);
    const duration = h("select", { id: "silence-hours", "aria-label": t("silence_duration") },
      ...[1, 4, 24, 72].map((n) => h("option", { value: n }, n + " " + t("hours"))));
    const actions = [];
    if (state.may.acknowledge) {
      actions.push(h("div", { class: "actions" }, comment,
        h("button", { id: "ack-button", class: "primary", onclick: () => acknowledge(a.alert_id, comment.value) }, t("acknowledge"))));
    }
    if (state.may.silence) {
      actions.push(h("div", { class: "actions" }, h("button", { id: "silence-button", onclick: () => silence(a, scope.value, Number(duration.value)) }, t("silence")),
        scope, h("span", {}, t("silence_for")), duration));
    }
    if (!actions.length) actions.push(h("p", { class: "muted", id: "read-only" }, t("read_only")));
    $("#detail").replaceChildren(
      h("h2", { id: "detail-heading", class: "sr-only" }, t("details")),
      h("h3", {}, h("span", { class: "badge " + a.severity }, t(a.severity)), " ",
        h("span", { class: "badge " + a.status }, t(a.status)), " ", t(a.type)),
      h("p", { id: "detail-summary" }, summaryOf(a)),
      h("div", { class: "kv" },
        h("span", { class: "muted" }, t("subject")), h("span", {}, a.subject),
        h("span", { class: "muted" }, t("corridor")), h("span", {}, a.corridor || "—"),
        h("span", { class: "muted" }, t("started")), h("span", {}, fmtTime(a.started_at)),
        h("span", { class: "muted" }, t("updated")), h("span", {}, fmtTime(a.updated_at)),
        a.resolved_at ? h("span", { class: "muted" }, t("resolved")) : null,
        a.resolved_at ? h("span", {}, fmtTime(a.resolved_at)) : null),
      h("h4", {}, t("impact")),
      h("div", { class: "chain" }, h("strong", {}, t("parks")), chips(a.parks), h("span", { class: "arrow" }, "→"),
        h("strong", {}, t("orders")), chips(a.impacted_orders), h("span", { class: "arrow" }, "→"),
        h("strong", {}, t("shipments")), chips(a.impacted_shipments)),
      h("h4", {}, t("metrics")),
      h("div", { class: "kv" }, Object.entries(a.metrics).flatMap(([k, v]) => [h("span", { class: "muted" }, k), h("span", {}, fmtNumber(v))])),
      h("h4", {}, t("evidence")),
      h("div", { class: "chain" }, chips(a.evidence)),
      h("h4", {}, t("history")),
      h("table", {}, h("tbody", {}, a.history.map((x) => h("tr", { class: "sev-" + x.severity },
        h("td", {}, fmtTime(x.updated_at)), h("td", {}, t(x.status)), h("td", {}, t(x.severity)),
        h("td", {}, Object.entries(x.metrics).map(([k, v]) => k + "=" + fmtNumber(v)).join(", ")))))),
      h("h4", {}, t("acks")),
      h("ul", { id: "ack-list" }, a.acks.length ? a.acks.map((k) => h("li", {}, fmtTime(k.at) + " — " + k.by + (k.comment ? ": " + k.comment : "")))
        : [h("li", { class: "muted" }, t("none"))]),
      ...actions,
    );
    if (focus) $("#detail").focus();
  }

  async function acknowledge(alertId, comment) {
    try {
      await api("/v1/alerts/" + encodeURIComponent(alertId) + "/ack", { method: "POST", body: JSON.stringify({ comment }) });
    } catch (_) { return; }
    notice(t("saved_ack"));
    announce(t("saved_ack"));
    const fresh = await api("/v1/alerts/" + encodeURIComponent(alertId));
    state.alerts.set(alertId, fresh);
    render();
    showDetail(alertId, false);
  }

  async function silence(a, scope, hours) {
    const matchers = scope === "type" ? { type: a.type } : scope === "corridor" ? { corridor: a.corridor } : { alert_id: a.alert_id };
    let created;
    try {
      created = await api("/v1/silences", { method: "POST", body: JSON.stringify({ matchers, duration_minutes: hours * 60, comment: "from the console page" }) });
    } catch (_) { return; }
    notice(t("saved_silence", { t: fmtTime(created.expires_at) }));
    await loadAlerts();
    render();
  }

  // ---- map ----------------------------------------------------------------------------------
  function worst(alerts) {
    let best = null;
    for (const a of alerts) if (a.status === "FIRING" && (!best || SEV_RANK[a.severity] > SEV_RANK[best])) best = a.severity;
    return best;
  }

  function drawMap() {
    const svg = $("#map");
    if (!state.parks.length) return;
    const W = 640, H = 320, pad = 40;
    const lons = state.parks.map((p) => p.lon), lats = state.parks.map((p) => p.lat);
    const [x0, x1, y0, y1] = [Math.min(...lons) - 3, Math.max(...lons) + 10, Math.min(...lats) - 3, Math.max(...lats) + 3];
    const px = (p) => [pad + (p.lon - x0) / (x1 - x0) * (W - 2 * pad), pad + (y1 - p.lat) / (y1 - y0) * (H - 2 * pad)];
    const byCity = new Map(state.parks.map((p) => [p.park_id.split("-")[1], p]));
    const alerts = [...state.alerts.values()];
    const corridors = new Map();
    for (const a of alerts) if (a.corridor) (corridors.get(a.corridor) || corridors.set(a.corridor, []).get(a.corridor)).push(a);
    const layers = [s("rect", { x: 0, y: 0, width: W, height: H, fill: "#eef3f8", rx: 6 })];
    for (const [corridor, list] of corridors) {
      const stops = corridor.split("-").map((c) => byCity.get(c)).filter(Boolean);
      if (stops.length < 2) continue;
      const sev = worst(list);
      layers.push(s("polyline", {
        points: stops.map((p) => px(p).join(",")).join(" "), fill: "none",
        stroke: sev ? SEV_COLOUR[sev] : "#9aa5b1", "stroke-width": sev ? 4 : 2, "stroke-dasharray": sev ? "" : "5 4",
        "stroke-linecap": "round", "data-corridor": corridor,
      }, s("title", {}, corridor + " — " + list.filter((a) => a.status === "FIRING").length + " " + t("FIRING"))));
    }
    for (const p of state.parks) {
      const [x, y] = px(p);
      const mine = alerts.filter((a) => a.parks.includes(p.park_id));
      const sev = worst(mine);
      const firing = mine.filter((a) => a.status === "FIRING").length;
      // The circle is the button (no text of its own, so its label cannot disagree with it).
      layers.push(s("g", { "data-park": p.park_id, style: "cursor:pointer" },
        s("circle", { cx: x, cy: y, r: sev ? 9 : 6, fill: sev ? SEV_COLOUR[sev] : "#4caf50", stroke: "#fff", "stroke-width": 2,
          tabindex: "0", role: "button", "data-park-button": p.park_id,
          "aria-label": t("map_park", { park: p.name[state.lang] || p.name.en, n: firing }) }),
        firing ? s("text", { x: x, y: y + 3.5, "text-anchor": "middle", style: "fill:#fff;font-size:9px;font-weight:700" }, firing) : null,
        s("text", { x: p.label === "below" ? x - 10 : x + 11, y: p.label === "below" ? y + 20 : y - 8, class: "park-label" },
          p.name[state.lang] || p.name.en),
        s("title", {}, p.park_id + " — " + firing + " " + t("FIRING"))));
    }
    svg.replaceChildren(...layers);
    for (const g of svg.querySelectorAll("g[data-park]")) {
      const pick = () => { $("#f-park").value = g.dataset.park; render(); };
      g.addEventListener("click", pick);
      g.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); pick(); }
      });
    }
    const lines = state.parks.map((p) => {
      const firing = alerts.filter((a) => a.status === "FIRING" && a.parks.includes(p.park_id)).length;
      return h("li", {}, t("map_park", { park: p.name[state.lang] || p.name.en, n: firing }));
    });
    for (const [corridor, list] of corridors) {
      lines.push(h("li", {}, t("map_corridor", { corridor, n: list.filter((a) => a.status === "FIRING").length })));
    }
    $("#map-text").replaceChildren(...lines);
  }

  // ---- chart --------------------------------------------------------------------------------
  let chartTimer = null;
  function scheduleChart() {
    clearTimeout(chartTimer);
    chartTimer = setTimeout(loadChart, 1500);
  }

  async function loadChart() {
    if (!state.token) return;
    let data;
    try { data = await api("/v1/alerts/timeline?hours=24&buckets=24"); } catch (_) { return; }
    const svg = $("#chart");
    const W = 640, H = 220, left = 30, bottom = 24, top = 10;
    const totals = data.buckets.map((b) => b.counts.CRITICAL + b.counts.WARNING + b.counts.INFO);
    const max = Math.max(1, ...totals);
    const bw = (W - left - 10) / data.buckets.length;
    const y = (v) => H - bottom - v / max * (H - bottom - top);
    const parts = [s("line", { x1: left, y1: H - bottom, x2: W - 10, y2: H - bottom, stroke: "#9aa5b1" }),
      s("text", { x: 4, y: y(max) + 4 }, max), s("text", { x: 4, y: H - bottom + 4 }, 0)];
    data.buckets.forEach((b, i) => {
      let base = 0;
      for (const sev of ["INFO", "WARNING", "CRITICAL"]) {
        const n = b.counts[sev];
        if (!n) continue;
        parts.push(s("rect", { x: left + i * bw + 1, y: y(base + n), width: bw - 2, height: y(base) - y(base + n), fill: SEV_COLOUR[sev] },
          s("title", {}, fmtTime(b.start) + ": " + n + " " + t(sev))));
        base += n;
      }
      if (i % 4 === 0) parts.push(s("text", { x: left + i * bw, y: H - 8 }, new Date(b.start).getHours().toString().padStart(2, "0") + ":00"));
    });
    svg.replaceChildren(...parts);
    $("#chart-text tbody").replaceChildren(...data.buckets.map((b) => h("tr", {},
      h("th", { scope: "row" }, fmtTime(b.start)),
      h("td", {}, ["CRITICAL", "WARNING", "INFO"].map((sev) => t(sev) + " " + b.counts[sev]).join(", ")))));
  }

  // ---- language, token, filters -------------------------------------------------------------
  function applyLanguage() {
    document.documentElement.lang = state.lang;
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    for (const el of document.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
    $("#lang").value = state.lang;
    showWho();
    render();
    if (state.selected) showDetail(state.selected, false);
    loadChart();
  }

  function init() {
    const params = new URLSearchParams(location.search);
    if (params.get("token")) {
      localStorage.setItem("parklink.token", params.get("token"));
      params.delete("token");
      history.replaceState(null, "", location.pathname + (params.toString() ? "?" + params : ""));
    }
    if (params.get("lang")) state.lang = params.get("lang");
    state.token = localStorage.getItem("parklink.token");
    $("#lang").addEventListener("change", (e) => {
      state.lang = e.target.value;
      localStorage.setItem("parklink.lang", state.lang);
      applyLanguage();
    });
    $("#token-form").addEventListener("submit", (e) => {
      e.preventDefault();
      state.token = $("#token").value.trim();
      localStorage.setItem("parklink.token", state.token);
      $("#token").value = "";
      start();
    });
    for (const id of ["#f-status", "#f-severity", "#f-type", "#f-park", "#f-corridor", "#f-text"]) {
      $(id).addEventListener("input", render);
    }
    fetch("/static/parks.json").then((r) => r.json()).then((parks) => { state.parks = parks; render(); });
    setInterval(loadChart, 60000);
    applyLanguage();
    start();
  }

  init();
})();
