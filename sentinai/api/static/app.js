// SentinAI status page: plain JavaScript, no build step.
"use strict";

const KEY_STORE = "sentinai.apiKey";
const MAX_ROWS = 200;
const HISTORY = 100; // the stream opens on this many of the latest decisions
const seen = new Set(); // event ids shown: a record is never shown twice
let apiKey = null;
let me = null;
let source = null;
let refreshTimer = null;

const $ = (id) => document.getElementById(id);

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

async function api(path) {
  const res = await fetch(path, { headers: { Authorization: "Bearer " + apiKey } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error(body.detail || res.statusText);
    err.status = res.status;
    throw err;
  }
  return body;
}

function fmtSeconds(s) {
  if (s === null || s === undefined) return "–";
  if (s < 90) return s.toFixed(1) + " s";
  if (s < 5400) return (s / 60).toFixed(1) + " min";
  return (s / 3600).toFixed(1) + " h";
}

function bars(container, counts) {
  container.replaceChildren();
  const entries = Object.entries(counts || {}).sort((a, b) => b[1] - a[1]);
  const max = Math.max(1, ...entries.map((e) => e[1]));
  for (const [name, n] of entries) {
    const row = el("div", null, "row");
    row.append(el("span", name));
    const bar = el("div", null, "bar");
    bar.style.width = (100 * n / max).toFixed(1) + "%";
    row.append(bar, el("span", n));
    container.append(row);
  }
  if (!entries.length) container.append(el("span", "none", "muted"));
}

function renderTenant(t) {
  const id = "tenant-" + t.tenant_id;
  let card = document.getElementById(id);
  if (!card) {
    card = $("tenant-card").content.firstElementChild.cloneNode(true);
    card.id = id;
    card.dataset.tenant = t.tenant_id;
    $("tenants").append(card);
  }
  const q = (sel) => card.querySelector(sel);
  q(".tenant-name").textContent = t.tenant_id;
  q(".k-total").textContent = t.exceptions_total;
  q(".k-dpm").textContent = t.decisions_per_minute.toFixed(1);
  q(".k-auto").textContent = t.auto_resolution_rate === null ? "–" : (100 * t.auto_resolution_rate).toFixed(0) + " %";
  q(".k-mttr").textContent = fmtSeconds(t.mean_time_to_resolve_seconds);
  q(".k-approvals").textContent = t.pending_approvals;
  const bp = t.backpressure;
  q(".k-bp").textContent = bp ? (bp.state || bp.status || (bp.active ? "on" : "off")) : "off";
  q(".k-quota").textContent = t.quota_deferred_last_hour;
  q(".k-dlq").textContent = t.dlq_new;
  const spark = q(".spark");
  spark.replaceChildren();
  const max = Math.max(1, ...t.decisions_series);
  for (const n of t.decisions_series) {
    const s = el("span");
    s.style.height = (100 * n / max) + "%";
    s.title = n + " decisions";
    spark.append(s);
  }
  bars(q(".by-status"), t.by_status);
  bars(q(".by-severity"), t.by_severity);
  const dlq = q(".dlq");
  dlq.replaceChildren();
  for (const d of t.recent_dlq) {
    dlq.append(el("li", `#${d.id} ${d.stage}: ${d.error_class} — ${d.error_message}`));
  }
  if (!t.recent_dlq.length) dlq.append(el("li", "none", "muted"));
  const latest = q(".recent-exceptions");
  latest.replaceChildren();
  for (const x of t.recent_exceptions || []) {
    const li = el("li", `${x.exception_id} ${x.exception_type || ""} ${x.severity || ""} ${x.status}`);
    li.dataset.exceptionId = x.exception_id;
    latest.append(li);
  }
  if (!latest.children.length) latest.append(el("li", "none", "muted"));
}

async function refresh() {
  try {
    const h = await fetch("/health").then((r) => r.json());
    const pill = $("health");
    pill.textContent = `broker ${h.broker} · database ${h.database}`;
    pill.className = "pill " + (h.status === "ok" ? "ok" : "bad");
  } catch (e) { /* the next refresh retries */ }
  try {
    const status = await api("/api/v1/status");
    for (const t of status.tenants) renderTenant(t);
  } catch (e) {
    if (e.status === 401) logout("The key was not accepted.");
  }
}

function decisionRow(d, stage, eventId) {
  const tr = el("tr", null, "new decision");
  tr.dataset.eventId = eventId;
  tr.dataset.exceptionId = d.exception_id || "";
  const time = d.decided_at ? new Date(d.decided_at).toLocaleTimeString() : new Date().toLocaleTimeString();
  const confidence = stage.confidence ?? d.confidence;
  const conf = typeof confidence === "number" ? confidence.toFixed(2) : "";
  for (const v of [time, d.tenant_id, d.exception_id, stage.stage, stage.decision, d.severity, d.status, d.source, conf]) {
    tr.append(el("td", v === undefined || v === null ? "" : v));
  }
  return tr;
}

function addDecision(d, eventId) {
  const id = eventId || d.event_id || "";
  if (id && seen.has(id)) return;
  if (id) seen.add(id);
  const rows = $("decision-rows");
  // a record carries its stages (one row each), or is itself one stage
  const stages = Array.isArray(d.stages) ? d.stages : [d];
  for (const stage of stages) rows.prepend(decisionRow(d, stage, id));
  while (rows.children.length > MAX_ROWS) rows.lastElementChild.remove();
  if (seen.size > 10 * MAX_ROWS) { // forget the oldest ids; they are far off the table by now
    const keep = [...seen].slice(-5 * MAX_ROWS);
    seen.clear();
    for (const k of keep) seen.add(k);
  }
}

function connectStream() {
  if (source) source.close();
  const all = me.tenant_id === "*";
  const path = all ? "/api/v1/decisions/stream" : `/api/v1/tenants/${encodeURIComponent(me.tenant_id)}/decisions/stream`;
  source = new EventSource(path + "?history=" + HISTORY + "&access_token=" + encodeURIComponent(apiKey));
  const state = $("stream-state");
  source.addEventListener("hello", () => { state.textContent = "live"; state.className = "pill ok"; });
  source.addEventListener("decision", (ev) => {
    try { addDecision(JSON.parse(ev.data), ev.lastEventId); } catch (e) { /* skip a bad record */ }
  });
  source.addEventListener("error", () => { state.textContent = "reconnecting"; state.className = "pill warn"; });
}

function logout(message) {
  localStorage.removeItem(KEY_STORE);
  apiKey = null;
  if (source) source.close();
  if (refreshTimer) clearInterval(refreshTimer);
  $("dashboard").hidden = true;
  $("forget").hidden = true;
  $("login").hidden = false;
  $("who").textContent = "";
  const err = $("login-error");
  err.hidden = !message;
  err.textContent = message || "";
}

async function start(key) {
  apiKey = key;
  try {
    me = await api("/api/v1/whoami");
  } catch (e) {
    logout(e.status === 401 ? "The key was not accepted." : "Cannot reach the server: " + e.message);
    return;
  }
  localStorage.setItem(KEY_STORE, key);
  $("login").hidden = true;
  $("dashboard").hidden = false;
  $("forget").hidden = false;
  $("who").textContent = `${me.role} · tenant ${me.tenant_id}`;
  connectStream();
  await refresh();
  refreshTimer = setInterval(refresh, 5000);
}

document.addEventListener("DOMContentLoaded", () => {
  const params = new URLSearchParams(location.search);
  const fromUrl = params.get("key");
  if (fromUrl) {
    params.delete("key");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + (rest ? "?" + rest : ""));
  }
  $("login").addEventListener("submit", (ev) => {
    ev.preventDefault();
    start($("key").value.trim());
  });
  $("forget").addEventListener("click", () => logout(""));
  const key = fromUrl || localStorage.getItem(KEY_STORE);
  if (key) start(key); else logout("");
});
