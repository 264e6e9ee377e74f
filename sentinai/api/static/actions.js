// Actions (approve, reject, complete a step): post the command, then show what the stream made of
// it, read back from the server — the exception moving on, or the refusal it dead-lettered.
import { actor, api, ApiError, tenantPath } from "./api.js";
import { el } from "./dom.js";

const ANSWER_TIMEOUT_MS = 30000;
const drafts = new Map();
const POLL_MS = 500;
const OTHERS_GRACE_MS = 3000;

/** What the server knows before an action: to tell the stream's answer from what was there. */
export async function before(exceptionId) {
  const [record, dlq] = await Promise.all([
    api(tenantPath("exceptions", exceptionId)),
    api(tenantPath("dlq") + "?limit=1"),
  ]);
  return { version: record.version, seen: record.timeline.length, dlqTop: dlq.items[0]?.id || 0 };
}

async function refusal(exceptionId, dlqTop) {
  const page = await api(tenantPath("dlq") + "?limit=20");
  for (const item of page.items.filter((d) => d.id > dlqTop)) {
    const entry = await api(tenantPath("dlq", item.id));
    let doc = null;
    try { doc = JSON.parse(entry.value?.text || ""); } catch (e) { doc = null; }
    if (doc && doc.exception_id === exceptionId) return entry.error_message || entry.error_class;
  }
  return null;
}

export function stateText(record) {
  return `status ${record.status}` +
    (record.current_step !== null && record.current_step !== undefined ? `, current step ${record.current_step}` : "");
}

/**
 * Poll until the stream answers the command sent as `by`: events of `by` after `seen`, or a refusal
 * of a command about the exception dead-lettered. What someone else did meanwhile is not the
 * answer: a command that then changed nothing (approving what another person just approved) is
 * told as such once no refusal came for OTHERS_GRACE_MS.
 */
export async function streamAnswer(exceptionId, seen, by) {
  const deadline = Date.now() + ANSWER_TIMEOUT_MS;
  let othersAt = null;
  while (Date.now() < deadline) {
    const refused = await refusal(exceptionId, seen.dlqTop);
    if (refused) return { ok: false, text: `The stream refused the command: ${refused}` };
    const record = await api(tenantPath("exceptions", exceptionId));
    if (record.version > seen.version) {
      const added = record.timeline.slice(seen.seen);
      const events = added.map((e) => e.event_type);
      if (added.some((e) => e.actor?.type === "user" && e.actor.id === by)) {
        return { ok: true, text: `The stream answered: ${stateText(record)}` + (events.length ? ` (${events.join(", ")})` : "") };
      }
      othersAt = othersAt ?? Date.now();
      if (Date.now() - othersAt >= OTHERS_GRACE_MS) {
        const who = [...new Set(added.map((e) => `${e.actor?.type} ${e.actor?.id}`))].join(", ");
        return { ok: false, text: `Meanwhile ${who} changed it first (${events.join(", ")}): ${stateText(record)}; ` +
          "your command changed nothing more." };
      }
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return { ok: false, queued: true,
    text: "No answer from the stream within 30 s; the command is queued (is a worker running?)." };
}

export function say(notice, text, ok) {
  delete notice.dataset.queuedSince;
  delete notice.dataset.queuedFor;
  notice.textContent = text;
  notice.className = "notice " + (ok ? "ok" : "bad");
  notice.hidden = !text;
}

/**
 * A comment field and buttons. Each button's `send(comment, by)` posts the command as `by`; then the notice
 * shows the server's refusal (its error text) or the stream's answer, and `after()` re-renders.
 */
export function actionForm({ label, exceptionId, buttons, notice, after }) {
  const id = "c-" + Math.random().toString(36).slice(2, 9);
  const comment = el("textarea", { id, rows: "2", maxlength: "2000", placeholder: "why (optional)" });
  // Live updates re-render the view: the comment being typed survives, and keeps the focus.
  const draft = `${exceptionId}\u0000${label}`;
  comment.dataset.draft = draft;
  comment.value = drafts.get(draft) || "";
  comment.addEventListener("input", () => drafts.set(draft, comment.value));
  if (document.activeElement?.dataset?.draft === draft) {
    setTimeout(() => { if (comment.isConnected) comment.focus(); }, 0);
  }
  const form = el("form", { class: "action", "aria-label": label },
    el("label", { for: id, text: "Comment" }), comment);
  const row = el("div", { class: "buttons" });
  form.append(row);
  // a command of this exception sent from here is queued: not offered again until it is answered
  const queued = notice.dataset.queuedFor === exceptionId;
  if (queued) {
    form.append(el("p", { class: "muted queued", text: "A command sent from here is queued; its answer shows here when the stream gives it." }));
  }
  for (const b of buttons) {
    row.append(el("button", { type: "button", class: b.kind || "", text: b.text, disabled: queued, onclick: async () => {
      for (const button of form.querySelectorAll("button")) button.disabled = true;
      // one notice may serve several forms (the approvals list): it names the exception
      const tell = (text, ok) => say(notice, `${exceptionId} · ${b.text}: ${text}`, ok);
      tell("sent, waiting for the stream…", true);
      let queuedNow = false;
      try {
        const seen = await before(exceptionId);
        const by = actor();
        await b.send(comment.value.trim() || null, by);
        drafts.delete(draft);
        const answer = await streamAnswer(exceptionId, seen, by);
        tell(answer.text, answer.ok);
        // still queued: the exception's page tells the answer when the stream gives it later
        if (answer.queued) {
          notice.dataset.queuedSince = String(seen.version);
          notice.dataset.queuedFor = exceptionId;
          queuedNow = true;
        }
      } catch (err) {
        tell(err instanceof ApiError ? `The server refused: ${err.message}` : `Failed: ${err.message}`, false);
      }
      for (const button of form.querySelectorAll("button")) button.disabled = queuedNow;
      if (after) await after();
      if (!form.isConnected) { // re-rendered without this form: keep the keyboard's place at the answer
        notice.tabIndex = -1;
        notice.focus();
      }
    } }));
  }
  return form;
}
