// SentinAI console: plain ES modules, no build step. Entry point: key, tenant, routes, live stream.
import { api, canAct, session } from "./api.js";
import { renderApprovals } from "./approvals.js";
import { renderDeadLetters } from "./deadletters.js";
import { $, el } from "./dom.js";
import { renderException } from "./exception.js";
import { renderExceptions } from "./exceptions.js";
import { addDecision, clearOverview, refreshOverview } from "./overview.js";
import { renderPacks } from "./packs.js";
import { href, parseHash } from "./router.js";

const KEY_STORE = "sentinai.apiKey";
const TENANT_STORE = "sentinai.tenant";
const ACTOR_STORE = "sentinai.actor";
let source = null;
let refreshTimer = null;
let current = null;
let routeSerial = 0;

const VIEWS = {
  exceptions: (root, r) => (r.id ? renderException(root, r.id) : renderExceptions(root, r.query)),
  approvals: (root) => renderApprovals(root),
  dlq: (root) => renderDeadLetters(root),
  packs: (root) => renderPacks(root),
};

function chooseTenant(fromHash) {
  const me = session.me;
  if (me.tenant_id !== "*") return me.tenant_id;
  const known = me.tenants || [];
  for (const t of [fromHash, session.tenant, localStorage.getItem(TENANT_STORE)]) if (t && known.includes(t)) return t;
  return known[0] || null;
}

function renderNav(view) {
  for (const a of document.querySelectorAll("#nav a")) {
    const target = a.dataset.view;
    a.href = href(target);
    if (target === view) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
}

async function route(focus) {
  const serial = ++routeSerial;
  const r = parseHash();
  const tenant = chooseTenant(r.query.get("tenant"));
  if (tenant !== session.tenant) {
    session.tenant = tenant;
    if (tenant) localStorage.setItem(TENANT_STORE, tenant);
    $("tenant").value = tenant || "";
  }
  if (current && current.stop) current.stop();
  current = null;
  const view = VIEWS[r.view] ? r.view : "status";
  renderNav(view);
  $("dashboard").hidden = view !== "status";
  const root = $("console");
  root.hidden = view === "status";
  if (view === "status") {
    await overviewTick();
    return;
  }
  if (!session.tenant) {
    root.replaceChildren(el("p", { class: "muted", text: "No tenant yet." }));
    return;
  }
  root.replaceChildren(el("p", { class: "muted", text: "Loading…" }));
  const controller = await VIEWS[view](root, r);
  if (serial !== routeSerial) return;
  current = { ...controller, view, id: r.id };
  if (focus) root.querySelector(".view-title")?.focus();
}

function onDecision(d, eventId) {
  addDecision(d, eventId);
  if (!current || d.tenant_id !== session.tenant) return;
  if (current.onDecision) current.onDecision(d);
  if (current.reload && current.id === d.exception_id) current.reload();
}

const HISTORY = 100; // the stream opens on this many of the latest decisions

function connectStream() {
  if (source) source.close();
  const all = session.me.tenant_id === "*";
  const path = all ? "/api/v1/decisions/stream" : `/api/v1/tenants/${encodeURIComponent(session.me.tenant_id)}/decisions/stream`;
  // opens on the latest decisions (history), then goes on live; overview.addDecision drops repeats
  // the key goes as the stream cookie (start() sets it), never in the URL: a failed connection
  // prints the URL in the browser's console
  source = new EventSource(path + "?history=" + HISTORY);
  const state = $("stream-state");
  let lost = false;
  // what the page showed or failed to load while the web view was away is stale: draw it again
  const resync = () => { overviewTick(); route(false); };
  source.addEventListener("hello", () => {
    state.textContent = "live"; state.className = "pill ok";
    if (lost) resync();
    lost = false;
  });
  source.addEventListener("decision", (ev) => {
    let record = null;
    try { record = JSON.parse(ev.data); } catch (e) { return; }
    onDecision(record, ev.lastEventId);
  });
  // the server could not resume after the last record seen (the web view restarted, or the stream
  // fell too far behind): what was missed is in the database, so draw the open view again
  source.addEventListener("reset", resync);
  // the server closes a stream that fell behind; the browser reconnects and resumes after its last record
  source.addEventListener("overflow", () => { state.textContent = "catching up"; state.className = "pill warn"; });
  source.addEventListener("error", () => { lost = true; state.textContent = "reconnecting"; state.className = "pill warn"; });
}

/** Back to the login form. ``forget``: the key is removed from the browser too (kept when the
 * server could not be asked, so that a reload after an outage logs in again). */
function logout(message, { forget = true } = {}) {
  if (session.apiKey && forget) fetch("/api/v1/stream-session", { method: "DELETE" }).catch(() => {});
  if (forget) localStorage.removeItem(KEY_STORE);
  session.apiKey = null;
  session.me = null;
  if (source) source.close();
  if (refreshTimer) clearInterval(refreshTimer);
  // nothing the previous key could see stays on the page for the next one
  if (current && current.stop) current.stop();
  current = null;
  routeSerial++; // a view still loading for the previous key is not drawn
  session.tenant = null;
  clearOverview();
  $("console").replaceChildren();
  for (const id of ["dashboard", "console", "forget", "nav", "tenant-field", "actor-field"]) $(id).hidden = true;
  $("login").hidden = false;
  $("who").textContent = "";
  const err = $("login-error");
  err.hidden = !message;
  err.textContent = message || "";
}

async function overviewTick() {
  try {
    await refreshOverview();
  } catch (e) {
    if (e.status === 401) logout("The key was not accepted.");
  }
}

async function start(key) {
  session.apiKey = key;
  try {
    session.me = await api("/api/v1/whoami");
    await api("/api/v1/stream-session", { method: "POST" });
  } catch (e) {
    if (e.status === 401) logout("The key was not accepted.");
    else logout("Cannot reach the server: " + e.message + " — reload the page to try again.", { forget: false });
    return;
  }
  localStorage.setItem(KEY_STORE, key);
  $("login").hidden = true;
  $("forget").hidden = false;
  $("nav").hidden = false;
  $("who").textContent = `${session.me.role} · tenant ${session.me.tenant_id}`;
  const select = $("tenant");
  select.replaceChildren(...(session.me.tenants || []).map((t) => el("option", { value: t, text: t })));
  $("tenant-field").hidden = session.me.tenant_id !== "*";
  $("actor-field").hidden = !canAct();
  $("actor").value = localStorage.getItem(ACTOR_STORE) || "";
  connectStream();
  await route(false);
  if (parseHash().view !== "status") await overviewTick();
  refreshTimer = setInterval(overviewTick, 5000);
}

document.addEventListener("DOMContentLoaded", () => {
  const params = new URLSearchParams(location.search);
  const fromUrl = params.get("key");
  if (fromUrl) {
    params.delete("key");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + (rest ? "?" + rest : "") + location.hash);
  }
  $("login").addEventListener("submit", (ev) => {
    ev.preventDefault();
    start($("key").value.trim());
  });
  $("forget").addEventListener("click", () => logout(""));
  $("tenant").addEventListener("change", (ev) => {
    session.tenant = ev.target.value;
    localStorage.setItem(TENANT_STORE, session.tenant);
    const r = parseHash();
    location.hash = href(r.view === "exceptions" && r.id ? "exceptions" : r.view);
  });
  $("actor").addEventListener("change", (ev) => localStorage.setItem(ACTOR_STORE, ev.target.value.trim()));
  window.addEventListener("hashchange", () => { if (session.me) route(true); });
  const key = fromUrl || localStorage.getItem(KEY_STORE);
  if (key) start(key); else logout("");
});
