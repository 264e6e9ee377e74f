// One exception: fields, approval, playbook, timeline with decisions, tool executions, raw payload.
import { actionForm, say, stateText } from "./actions.js";
import { api, canAct, session, tenantPath } from "./api.js";
import { badge, el, errorBox, fmtTime, jsonBlock, jsonDetails, tableWrap, timeLeft, viewHeading } from "./dom.js";
import { stagesOf } from "./records.js";

const STEP_STATES = { completed: "done", waiting: "waiting for a person", started: "running",
  failed: "failed", skipped: "skipped", pending: "pending" };

const DONE = new Set(["RESOLVED", "CLOSED"]); // no clock runs for these: no time left to show

function fields(r) {
  const rows = [
    ["status", badge(r.status, "status")], ["severity", badge(r.severity, "severity")],
    ["type", r.exception_type], ["source system", r.source_system], ["owner", r.owner],
    ["playbook", r.playbook_id], ["current step", r.current_step],
    ["SLA deadline", !r.sla_deadline ? "–" : DONE.has(r.status) ? fmtTime(r.sla_deadline)
      : `${fmtTime(r.sla_deadline)} (${timeLeft(r.sla_deadline)})`],
    ["created", fmtTime(r.created_at)], ["updated", fmtTime(r.updated_at)], ["version", r.version],
  ];
  return el("dl", { class: "fields" },
    rows.map(([k, v]) => el("div", {}, el("dt", { text: k }), el("dd", {}, v ?? "–"))));
}

/** The approval from the timeline's snapshots (the last one wins), with its id. */
function approvalOf(timeline) {
  let found = null;
  for (const ev of timeline) if (ev.payload && ev.payload.approval) found = ev.payload.approval;
  return found;
}

function approvalCard(approval, ctx) {
  const card = el("section", { class: "panel", id: "approval", "aria-labelledby": "approval-h" },
    el("h3", { id: "approval-h", text: "Approval" }));
  card.append(el("p", {}, badge(approval.status, "approval"), " ", approval.reason || "",
    approval.status === "PENDING" ? ` — time left ${timeLeft(approval.expires_at)}` : "",
    approval.decided_by && approval.status !== "PENDING" ? ` — by ${approval.decided_by}` : "",
    approval.comment ? ` — “${approval.comment}”` : ""));
  if (approval.status === "PENDING" && canAct()) {
    const answer = (verb) => (comment, by) => api(tenantPath("approvals", approval.approval_id, verb),
      { method: "POST", body: { by, comment } });
    card.append(actionForm({ label: "Answer the approval", exceptionId: ctx.id, notice: ctx.notice, after: ctx.reload,
      buttons: [{ text: "Approve", kind: "approve", send: answer("approve") },
                { text: "Reject", kind: "reject", send: answer("reject") }] }));
  }
  return card;
}

function playbookCard(pb, ctx) {
  const card = el("section", { class: "panel", id: "playbook", "aria-labelledby": "playbook-h" },
    el("h3", { id: "playbook-h", text: `Playbook ${pb.playbook_id || "–"}` + (pb.completed ? " (completed)" : "") }));
  if (!pb.steps.length) {
    card.append(el("p", { class: "muted", text: "No playbook steps." }));
    return card;
  }
  const list = el("ol", { class: "steps", start: "0" });
  for (const s of pb.steps) {
    const state = s.status || "pending";
    const item = el("li", { class: `step s-${state}`, dataset: { step: s.step, state } },
      el("span", { class: "step-name", text: `${s.step}. ${s.name || s.action || "step"}` }),
      s.action ? el("span", { class: "muted", text: ` ${s.action}` }) : null,
      s.risky ? [" ", el("span", { class: "badge b-risky", text: "risky" })] : null,
      " ", badge(STEP_STATES[state] || state, "step"),
      s.reason ? el("span", { class: "muted", text: ` — ${s.reason}` }) : null);
    if (state === "waiting" && canAct()) {
      item.append(actionForm({ label: `Complete step ${s.step}`, exceptionId: ctx.id, notice: ctx.notice,
        after: ctx.reload, buttons: [{ text: "Complete step", kind: "approve", send: (comment, by) =>
          api(tenantPath("exceptions", ctx.id, "playbook", "steps", s.step, "complete"),
            { method: "POST", body: { by, comment } }) }] }));
    }
    list.append(item);
  }
  card.append(list);
  return card;
}

function timelineCard(timeline) {
  const list = el("ol", { class: "timeline" });
  for (const ev of timeline) {
    const p = ev.payload || {};
    const item = el("li", { dataset: { type: ev.event_type } },
      el("div", { class: "tl-head" }, el("strong", { text: ev.event_type }),
        el("span", { class: "muted", text: ` ${fmtTime(ev.occurred_at)} · ${ev.actor.type} ${ev.actor.id}` })));
    for (const st of stagesOf(p)) {
      item.append(el("div", { class: "stage" },
        el("span", { class: "badge", text: st.stage || "decision" }), " ", el("strong", { text: st.decision }),
        typeof st.confidence === "number" ? el("span", { class: "muted", text: ` confidence ${st.confidence.toFixed(2)}` }) : null,
        st.next_step ? el("span", { class: "muted", text: ` → ${st.next_step}` }) : null,
        (st.evidence || []).length ? el("ul", { class: "evidence" },
          st.evidence.map((e) => el("li", { text: typeof e === "string" ? e : JSON.stringify(e) }))) : null));
    }
    if (ev.event_type === "DecisionExplained" && typeof p.explanation === "string") {
      item.append(el("p", { class: "explanation", text: p.explanation }),
        p.model ? el("p", { class: "muted", text: `explained by ${p.model}` }) : null);
    }
    if (p.reason && typeof p.reason === "string") item.append(el("p", { class: "muted", text: p.reason }));
    item.append(jsonDetails("payload", p));
    list.append(item);
  }
  return el("section", { class: "panel", id: "timeline", "aria-labelledby": "timeline-h" },
    el("h3", { id: "timeline-h", text: `Timeline (${timeline.length})` }), list);
}

function toolsCard(items) {
  const rows = items.map((t) => el("tr", {},
    el("td", { text: t.tool_name }), el("td", {}, badge(t.status, "tool")), el("td", { text: t.attempts }),
    el("td", { text: fmtTime(t.finished_at || t.started_at) }),
    el("td", {}, jsonDetails("request", t.request), t.response !== null ? jsonDetails("response", t.response) : null,
      t.error ? el("p", { class: "error", text: t.error }) : null)));
  return el("section", { class: "panel", id: "tools", "aria-labelledby": "tools-h" },
    el("h3", { id: "tools-h", text: "Tool executions (secrets masked)" }),
    items.length ? tableWrap(["tool", "status", "attempts", "when", "request / response"], rows)
      : el("p", { class: "muted", text: "None." }));
}

export async function renderException(root, id) {
  const notice = el("p", { class: "notice", role: "status", "aria-live": "polite", hidden: true });
  const body = el("div", { class: "detail" });
  root.replaceChildren(viewHeading(`Exception ${id}`), notice, body);
  const ctx = { id, notice, reload: null };
  ctx.reload = async () => {
    try {
      const [record, pb, tools] = await Promise.all([
        api(tenantPath("exceptions", id)), api(tenantPath("exceptions", id, "playbook")),
        api(tenantPath("exceptions", id, "tool-executions"))]);
      const queuedSince = notice.dataset.queuedSince;
      if (queuedSince !== undefined && record.version > Number(queuedSince)) { // the late answer
        say(notice, `${id}: the stream has answered since: ${stateText(record)}.`, true);
      }
      const approval = approvalOf(record.timeline);
      const sections = [
        el("section", { class: "panel", id: "fields", dataset: { status: record.status, version: record.version } },
          el("h3", { text: "Fields" }), fields(record)),
        approval ? approvalCard(approval, ctx) : null,
        playbookCard(pb, ctx),
        timelineCard(record.timeline),
        toolsCard(tools.items),
        el("section", { class: "panel", id: "raw", "aria-labelledby": "raw-h" }, el("h3", { id: "raw-h", text: "Raw payload" }),
          jsonBlock(record.raw_payload), jsonDetails("normalized context", record.normalized_context))];
      // replaceChildren would write a null as the text "null"
      body.replaceChildren(...sections.filter((section) => section !== null));
    } catch (err) {
      body.replaceChildren(errorBox(err.status === 404 ? `No exception ${id} for tenant ${session.tenant}.` : err.message));
    }
  };
  await ctx.reload();
  return ctx;
}
