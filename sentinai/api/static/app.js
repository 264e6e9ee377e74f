// SentinAI status page: plain JavaScript, no build step.
"use strict";

const KEY_STORE = "sentinai.apiKey";
const MAX_ROWS = 200;
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
  renderPacks(q(".packs"), t.tenant_id).catch(() => { /* the next refresh retries */ });
}

function reportLine(r) {
  const fields = Object.entries(r.changed_by_field).filter((e) => e[1]).map(([k, n]) => `${k} ${n}`);
  const approval = `approval newly ${r.approval.newly_required}, no longer ${r.approval.no_longer_required}`;
  return `${r.changed} of ${r.compared} would change` + (fields.length ? ` (${fields.join(", ")}; ${approval})` : "");
}

// Open proposals with their what-if reports, then the latest steps of the packs' timeline.
async function renderPacks(list, tenant) {
  const base = `/api/v1/tenants/${encodeURIComponent(tenant)}/packs`;
  const [open, events] = await Promise.all([
    api(base + "/proposals?status=proposed&limit=5"), api(base + "/events?limit=5")]);
  const items = [];
  for (const p of open.items) {
    const li = el("li", `proposal #${p.id} (${p.kind}) by ${p.proposed_by}: `, "proposal");
    li.dataset.proposal = p.id;
    if (p.report_status === "done") {
      li.append(reportLine((await api(`${base}/proposals/${p.id}`)).report));
    } else {
      li.append(`report ${p.report_status}`);
    }
    items.push(li);
  }
  for (const e of events.items) {
    items.push(el("li", `${new Date(e.occurred_at).toLocaleString()} ${e.event_type} by ${e.actor_id}`, "muted pack-event"));
  }
  if (!items.length) items.push(el("li", "none", "muted"));
  list.replaceChildren(...items);
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

function addDecision(d, eventId) {
  const rows = $("decision-rows");
  const tr = el("tr", null, "new decision");
  tr.dataset.eventId = eventId || d.event_id || "";
  tr.dataset.exceptionId = d.exception_id || "";
  const time = d.decided_at ? new Date(d.decided_at).toLocaleTimeString() : new Date().toLocaleTimeString();
  const conf = typeof d.confidence === "number" ? d.confidence.toFixed(2) : "";
  for (const v of [time, d.tenant_id, d.exception_id, d.stage, d.decision, d.severity, d.status, d.source, conf]) {
    tr.append(el("td", v === undefined ? "" : v));
  }
  rows.prepend(tr);
  while (rows.children.length > MAX_ROWS) rows.lastElementChild.remove();
}

function connectStream() {
  if (source) source.close();
  const all = me.tenant_id === "*";
  const path = all ? "/api/v1/decisions/stream" : `/api/v1/tenants/${encodeURIComponent(me.tenant_id)}/decisions/stream`;
  source = new EventSource(path + "?access_token=" + encodeURIComponent(apiKey));
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
