// The exceptions list: newest first, filters kept in the address (#/exceptions?status=…), cursor
// paging, and live updates from the decision stream while it is open.
import { api, session, tenantPath } from "./api.js";
import { badge, el, errorBox, fmtTime, tableWrap, viewHeading } from "./dom.js";
import { exceptionLink } from "./router.js";

const STATUSES = ["OPEN", "TRIAGED", "PENDING_APPROVAL", "IN_PROGRESS", "ESCALATED", "REJECTED", "RESOLVED", "CLOSED"];
const SEVERITIES = ["LOW", "MEDIUM", "HIGH", "CRITICAL"];

function select(name, label, options, value) {
  const id = "f-" + name;
  return el("div", { class: "field" }, el("label", { for: id, text: label }),
    el("select", { id, name }, el("option", { value: "", text: "any" }),
      options.map((o) => el("option", { value: o, text: o, selected: o === value }))));
}

// an exception type as the server stores it (and reads the filter): "settlement fail" is SETTLEMENT_FAIL
const typeName = (text) => text.trim().replace(/[\s\-.]+/g, "_").toUpperCase();

function input(name, label, type, value, extra) {
  const id = "f-" + name;
  return el("div", { class: "field" }, el("label", { for: id, text: label }),
    el("input", { id, name, type, value: value || "", ...extra }));
}

/** datetime-local (the browser's zone) ↔ ISO 8601 with a zone, as the API wants. */
const toIso = (local) => (local ? new Date(local).toISOString() : "");
function toLocal(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (isNaN(d)) return "";
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

function row(x, fresh) {
  return el("tr", { class: fresh ? "new" : "", dataset: { exceptionId: x.exception_id, created: x.created_at } },
    el("td", {}, exceptionLink(x.exception_id)),
    el("td", { class: "c-status" }, badge(x.status, "status")),
    el("td", { class: "c-severity" }, badge(x.severity, "severity")),
    el("td", { text: x.exception_type || "–" }),
    el("td", { text: fmtTime(x.created_at) }),
    el("td", { class: "c-playbook", text: x.playbook_id || "–" }),
    el("td", { class: "c-step", text: x.current_step ?? "–" }));
}

export async function renderExceptions(root, query) {
  const form = el("form", { class: "filters", "aria-label": "Filters" },
    select("status", "Status", STATUSES, query.get("status")),
    select("severity", "Severity", SEVERITIES, query.get("severity")),
    input("type", "Type", "text", typeName(query.get("type") || ""), { placeholder: "e.g. SETTLEMENT_FAIL", size: "18" }),
    input("since", "From", "datetime-local", toLocal(query.get("since"))),
    input("until", "Until", "datetime-local", toLocal(query.get("until"))),
    el("div", { class: "field buttons" }, el("button", { type: "submit", text: "Apply" }),
      el("button", { type: "reset", class: "secondary", text: "Clear" })));
  const tbody = el("tbody", { id: "exception-rows" });
  const table = tableWrap(["exception", "status", "severity", "type", "created", "playbook", "step"], [], "exceptions");
  table.querySelector("tbody").replaceWith(tbody);
  const more = el("button", { type: "button", id: "more", class: "secondary", text: "Load more", hidden: true });
  const status = el("p", { class: "muted", role: "status" });
  root.replaceChildren(viewHeading("Exceptions"), form, status, table, more);

  const go = (params) => {
    const qs = new URLSearchParams();
    for (const [k, v] of params) if (v) qs.set(k, v);
    if (session.me.tenant_id === "*") qs.set("tenant", session.tenant);
    location.hash = "#/exceptions" + (qs.toString() ? "?" + qs : "");
  };
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    go([["status", data.get("status")], ["severity", data.get("severity")], ["type", typeName(data.get("type"))],
        ["since", toIso(data.get("since"))], ["until", toIso(data.get("until"))]]);
  });
  form.addEventListener("reset", (ev) => { ev.preventDefault(); go([]); });

  // an address edited by hand may name a status or severity that is none: the form would say "any"
  // while the list was filtered by it, so it is left out, and said
  const known = { status: STATUSES, severity: SEVERITIES };
  const filters = new URLSearchParams();
  const ignored = [];
  for (const k of ["status", "severity", "type", "since", "until"]) {
    const v = query.get(k);
    if (!v) continue;
    if (known[k] && !known[k].includes(v)) ignored.push(`${k} "${v}"`);
    else filters.set(k, k === "type" ? typeName(v) : v);
  }
  if (ignored.length) {
    root.insertBefore(el("p", { class: "notice bad", role: "status", text: `Not a filter, left out: ${ignored.join(", ")}.` }), table);
  }
  let cursor = null;
  const count = () => {
    status.textContent = `${tbody.children.length} shown` + (cursor ? ", more below" : "") + " · live";
  };
  const load = async () => {
    const qs = new URLSearchParams(filters);
    qs.set("limit", "50");
    if (cursor) qs.set("cursor", cursor);
    try {
      const page = await api(tenantPath("exceptions") + "?" + qs);
      const added = page.items.map((x) => row(x, false));
      tbody.append(...added);
      cursor = page.next_cursor;
      more.hidden = !cursor;
      count();
      return added[0] || null;
    } catch (err) {
      root.append(errorBox(err.message));
    }
  };
  more.addEventListener("click", async () => {
    const first = await load();
    // "Load more" may hide itself: the keyboard goes on from the first row it brought
    if (first && more.hidden) first.querySelector("a")?.focus();
  });
  await load();

  const fits = (rec) => ["status", "severity"].every((k) => !filters.get(k) || filters.get(k) === rec[k])
    && (!filters.get("type") || filters.get("type") === rec.exception_type);
  const time = (iso) => new Date(iso).getTime();
  const inPeriod = (x) => (!filters.get("since") || time(x.created_at) >= time(filters.get("since")))
    && (!filters.get("until") || time(x.created_at) < time(filters.get("until")));
  /** An exception that came to fit the filter: its row, in its place by creation (newest first).
   * The record has its state (the stored row may not have it yet); the stored row its creation time,
   * or none yet for a new exception, which the record's time then stands for. */
  const place = async (rec) => {
    const id = rec.exception_id;
    let created = rec.decided_at;
    try { created = (await api(tenantPath("exceptions", id))).created_at; } catch (err) { /* not stored yet */ }
    const x = { ...rec, created_at: created };
    if (!inPeriod(x) || tbody.querySelector(`tr[data-exception-id="${CSS.escape(id)}"]`)) return;
    const next = [...tbody.children].find((r) => time(r.dataset.created) < time(x.created_at));
    if (!next && cursor) return; // older than every row shown: "Load more" brings it in its place
    tbody.insertBefore(row(x, true), next || null);
    count();
  };
  return {
    /** A decision record of this tenant: update its row, or place it when it comes to match. */
    onDecision(rec) {
      if (!rec.exception_id) return;
      const existing = tbody.querySelector(`tr[data-exception-id="${CSS.escape(rec.exception_id)}"]`);
      if (existing && !fits(rec)) { // it moved out of the filter (a pending one was answered)
        existing.remove();
        count();
      } else if (existing) {
        existing.querySelector(".c-status").replaceChildren(badge(rec.status, "status"));
        existing.querySelector(".c-severity").replaceChildren(badge(rec.severity, "severity"));
        existing.querySelector(".c-playbook").textContent = rec.playbook_id || "–";
        existing.querySelector(".c-step").textContent = rec.current_step ?? "–";
        existing.classList.remove("new");
        void existing.offsetWidth;
        existing.classList.add("new");
      } else if (fits(rec)) {
        place(rec);
      }
    },
  };
}
