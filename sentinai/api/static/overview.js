// The overview: per-tenant aggregates (refreshed every 5 s) and the live decision table.
import { api, session } from "./api.js";
import { $, el } from "./dom.js";
import { stagesText } from "./records.js";
import { exceptionLink } from "./router.js";

const MAX_ROWS = 200;
const seen = new Set(); // event ids shown: a record is never shown twice (history, then live)

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
    const bar = el("div", { class: "bar" });
    bar.style.width = (100 * n / max).toFixed(1) + "%";
    container.append(el("div", { class: "row" }, el("span", { text: name }), bar, el("span", { text: n })));
  }
  if (!entries.length) container.append(el("span", { class: "muted", text: "none" }));
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
    const s = el("span", { title: n + " decisions" });
    s.style.height = (100 * n / max) + "%";
    spark.append(s);
  }
  bars(q(".by-status"), t.by_status);
  bars(q(".by-severity"), t.by_severity);
  const dlq = q(".dlq");
  dlq.replaceChildren();
  for (const d of t.recent_dlq) dlq.append(el("li", { text: `#${d.id} ${d.stage}: ${d.error_class} — ${d.error_message}` }));
  if (!t.recent_dlq.length) dlq.append(el("li", { class: "muted", text: "none" }));
  const latest = q(".recent-exceptions");
  latest.replaceChildren();
  for (const x of t.recent_exceptions || []) {
    latest.append(el("li", { dataset: { exceptionId: x.exception_id } },
      exceptionLink(x.exception_id, t.tenant_id), el("span", { text: ` ${x.exception_type || ""} ${x.severity || ""} ${x.status}` })));
  }
  if (!latest.children.length) latest.append(el("li", { class: "muted", text: "none" }));
}

export async function refreshOverview() {
  const pill = $("health");
  try {
    const h = await fetch("/health").then((r) => r.json());
    // no worker: commands are taken but nothing answers them until one runs
    const workers = h.workers === null || h.workers === undefined ? "" :
      h.workers === 0 ? " · no worker running" : ` · ${h.workers} worker${h.workers === 1 ? "" : "s"}`;
    pill.textContent = `broker ${h.broker} · database ${h.database}${workers}`;
    pill.className = "pill " + (h.status !== "ok" ? "bad" : h.workers === 0 ? "warn" : "ok");
  } catch (e) { // the next refresh retries
    pill.textContent = "web view unreachable";
    pill.className = "pill bad";
  }
  const key = session.apiKey;
  const status = await api("/api/v1/status");
  if (session.apiKey !== key) return; // logged out meanwhile: not for the next key's eyes
  for (const t of status.tenants) renderTenant(t);
}

/** Forget what the overview shows (the key that could see it is gone). */
export function clearOverview() {
  seen.clear();
  $("tenants").replaceChildren();
  $("decision-rows").replaceChildren();
}

export function addDecision(d, eventId) {
  const id = eventId || d.event_id || "";
  if (id && seen.has(id)) return;
  if (id) seen.add(id);
  if (seen.size > 10 * MAX_ROWS) { // the oldest ids are far off the table by now
    const keep = [...seen].slice(-5 * MAX_ROWS);
    seen.clear();
    for (const k of keep) seen.add(k);
  }
  const rows = $("decision-rows");
  const time = new Date(d.decided_at || Date.now()).toLocaleTimeString();
  const conf = typeof d.confidence === "number" ? d.confidence.toFixed(2) : "";
  const tr = el("tr", { class: "new decision", dataset: { eventId: eventId || d.event_id || "", exceptionId: d.exception_id || "" } },
    el("td", { text: time }), el("td", { text: d.tenant_id }),
    el("td", {}, d.exception_id ? exceptionLink(d.exception_id, d.tenant_id) : ""),
    el("td", { text: stagesText(d) }), el("td", { text: d.severity ?? "" }), el("td", { text: d.status ?? "" }),
    el("td", { text: d.source ?? "" }), el("td", { text: conf }));
  rows.prepend(tr);
  while (rows.children.length > MAX_ROWS) rows.lastElementChild.remove();
}
