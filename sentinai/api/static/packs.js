// Packs: the active version of the tenant's pack and its domain's, the previous ones, and what
// changed between two versions (computed by the server: GET packs/diff); the proposed changes with
// their what-if reports, approved or rejected here by another admin; the packs' timeline.
import { api, session, tenantPath } from "./api.js";
import { badge, el, errorBox, fmtTime, jsonDetails, tableWrap, viewHeading } from "./dom.js";

const brief = (v) => (v === undefined || v === null ? "" : JSON.stringify(v));

function versionSelect(id, label, versions, chosen) {
  return el("div", { class: "field" }, el("label", { for: id, text: label }),
    el("select", { id }, versions.map((v) => el("option", { value: v.id, selected: v.id === chosen,
      text: `v${v.version} (#${v.id}, ${v.status})` }))));
}

function packSection(kind, name, versions, active) {
  const key = `${kind}-${name}`.replace(/[^A-Za-z0-9_-]/g, "_");
  const rows = versions.map((v) => el("tr", { dataset: { versionId: v.id } },
    el("td", { text: `v${v.version}` }), el("td", { text: `#${v.id}` }), el("td", {}, badge(v.status, "pack")),
    el("td", { text: v.created_by || "–" }), el("td", { text: fmtTime(v.activated_at || v.created_at) }),
    el("td", {}, jsonDetails("document", v.document))));
  const out = el("div", { class: "diff", "aria-live": "polite" });
  const section = el("section", { class: "panel pack", dataset: { kind, name } },
    el("h3", { text: `${kind === "domain" ? "Domain pack" : "Tenant policy pack"} ${name}` },
      " ", active ? badge(`active v${active.version}`, "pack") : badge("none active", "pack")),
    tableWrap(["version", "id", "status", "by", "activated", ""], rows));
  if (versions.length > 1) {
    const from = versionSelect(`from-${key}`, "Compare", versions, versions[1].id);
    const to = versionSelect(`to-${key}`, "with", versions, versions[0].id);
    const compare = el("button", { type: "button", text: "Show differences", onclick: async () => {
      const a = from.querySelector("select").value;
      const b = to.querySelector("select").value;
      try {
        const d = await api(tenantPath("packs", "diff") + `?from=${a}&to=${b}`);
        out.replaceChildren(el("p", { class: "muted", text: `${d.changes.length} change(s) from v${d.from.version} to v${d.to.version}` }),
          d.changes.length ? tableWrap(["", "path", "from", "to"], d.changes.map((c) => el("tr", { class: `op-${c.op}` },
            el("td", { text: c.op }), el("td", {}, el("code", { text: c.path })),
            el("td", {}, el("code", { text: brief(c.from) })), el("td", {}, el("code", { text: brief(c.to) })))), "diff-table") : null);
      } catch (err) {
        out.replaceChildren(errorBox(err.message));
      }
    } });
    section.append(el("div", { class: "filters" }, from, to, el("div", { class: "field buttons" }, compare)), out);
  }
  return section;
}

function reportSummary(p) {
  if (p.report_status !== "done") {
    return el("p", { class: "muted", text: p.report_status === "failed" ? `report failed: ${p.report_error}`
      : "what-if report: being made…" });
  }
  const r = p.report;
  const fields = Object.entries(r.changed_by_field).filter(([, n]) => n).map(([k, n]) => `${k} ${n}`);
  const moves = Object.entries(r.severity_matrix).flatMap(([from, row]) =>
    Object.entries(row).filter(([to]) => to !== from).map(([to, n]) => `${from} → ${to}: ${n}`));
  return el("div", { class: "report" },
    el("p", { text: `What-if over ${r.compared} exceptions: ${r.changed} would change` +
      (fields.length ? ` (${fields.join(", ")})` : "") +
      `; approval newly required ${r.approval.newly_required}, no longer ${r.approval.no_longer_required}.` }),
    moves.length ? el("p", { class: "muted", text: `severity ${moves.join(", ")}` }) : null,
    jsonDetails("changed exceptions", r.changed_exceptions));
}

function decisionButtons(p, refresh) {
  const mine = p.proposed_by === `api-key:${session.me.key_id}`;
  if (session.me.role !== "admin" || p.status !== "proposed") return null;
  const comment = el("input", { id: `comment-${p.id}`, placeholder: "why (required)", maxlength: "2000",
    required: true, "aria-required": "true" });
  const out = el("span", { "aria-live": "polite" });
  const answer = (verb) => async () => {
    if (!comment.value.trim()) {
      out.replaceChildren(errorBox("A comment is required: say why."));
      comment.focus();
      return;
    }
    try {
      await api(tenantPath("packs", "proposals", p.id, verb), { method: "POST", body: { comment: comment.value.trim() } });
      await refresh(`Proposal #${p.id}: ${verb === "approve" ? "approved" : mine ? "withdrawn" : "rejected"}.`);
    } catch (err) {
      out.replaceChildren(errorBox(err.message));
    }
  };
  return el("div", { class: "filters" },
    el("div", { class: "field" }, el("label", { for: `comment-${p.id}`, text: "Comment" }), comment),
    el("div", { class: "field buttons" },
      mine ? null : el("button", { type: "button", text: "Approve", onclick: answer("approve") }),
      el("button", { type: "button", class: "secondary", text: mine ? "Withdraw" : "Reject", onclick: answer("reject") })),
    out);
}

async function proposalsSection(refresh) {
  const { items } = await api(tenantPath("packs", "proposals") + "?limit=10");
  const cards = [];
  for (const item of items) {
    const p = item.status === "proposed" ? await api(tenantPath("packs", "proposals", item.id)) : item;
    const changes = (p.diff || []).map((d) => `${d.kind} ${d.name} v${d.from_version} → v${d.to_version}: ${d.changes.length} change(s)`);
    cards.push(el("article", { class: "proposal", dataset: { proposal: p.id } },
      el("h4", {}, `#${p.id} ${p.kind} by ${p.proposed_by} `, badge(p.status, "pack"),
        p.decided_by ? ` by ${p.decided_by}` : ""),
      p.comment ? el("p", { text: p.comment }) : null,
      changes.length ? el("ul", {}, changes.map((c) => el("li", { text: c }))) : null,
      p.status === "proposed" ? reportSummary(p) : null,
      p.status === "proposed" ? jsonDetails("differences", p.diff) : null,
      decisionButtons(p, refresh)));
  }
  return el("section", { class: "panel proposals" }, el("h3", { text: "Proposed changes" }),
    cards.length ? cards : el("p", { class: "muted", text: "No proposals." }));
}

async function timelineSection() {
  const { items } = await api(tenantPath("packs", "events") + "?limit=20");
  const rows = items.map((e) => el("tr", { class: "pack-event" }, el("td", { text: fmtTime(e.occurred_at) }),
    el("td", { text: e.event_type }), el("td", { text: e.actor_id }),
    el("td", { text: e.proposal_id ? `#${e.proposal_id}` : "" }), el("td", {}, jsonDetails("details", e.payload))));
  return el("section", { class: "panel pack-timeline" }, el("h3", { text: "Timeline" }),
    rows.length ? tableWrap(["when", "event", "who", "proposal", ""], rows) : el("p", { class: "muted", text: "Nothing yet." }));
}

/** ``told``: what the last action did, said at the top (the keyboard's place after the view is
 * drawn again without the button that was pressed). */
export async function renderPacks(root, told = null) {
  const body = el("div");
  const governance = el("div");
  const notice = told && el("p", { class: "notice ok", role: "status", tabindex: "-1", text: told });
  root.replaceChildren(...[viewHeading("Packs"), notice, body, governance].filter(Boolean));
  if (notice) notice.focus();
  const reload = (text) => renderPacks(root, text);
  (async () => {
    try {
      governance.replaceChildren(await proposalsSection(reload), await timelineSection());
    } catch (err) {
      governance.replaceChildren(errorBox(err.message));
    }
  })();
  await versionPages(body);
  return {};
}

// The versions come a page at a time, newest first (GET packs); the active ones with every page.
async function versionPages(body) {
  const loaded = [];
  const more = el("button", { type: "button", class: "load-more", text: "Load older versions" });
  const show = async (before) => {
    try {
      const page = await api(tenantPath("packs") + (before ? `?before_id=${before}` : ""));
      loaded.push(...page.versions);
      const groups = new Map();
      for (const v of [...page.active, ...loaded]) {
        const k = `${v.kind}\u0000${v.name}`;
        if (!groups.has(k)) groups.set(k, { active: null, versions: [] });
        const group = groups.get(k);
        if (v.status === "active") group.active = v;
        if (!group.versions.some((w) => w.id === v.id)) group.versions.push(v);
      }
      const sections = [...groups].map(([k, g]) => packSection(...k.split("\u0000"),
        g.versions.sort((a, b) => b.id - a.id), g.active));
      more.onclick = () => show(page.next_before_id);
      body.replaceChildren(...sections, ...(page.next_before_id ? [more] : []));
      if (!groups.size) body.append(el("p", { class: "muted", text: "No packs for this tenant." }));
      // "Load older versions" may go: the keyboard goes on from the first version it brought
      if (before && !page.next_before_id && page.versions.length) {
        body.querySelector(`tr[data-version-id="${page.versions[0].id}"] summary`)?.focus();
      } else if (before) more.focus();
    } catch (err) {
      body.replaceChildren(errorBox(err.message));
    }
  };
  await show(null);
}
