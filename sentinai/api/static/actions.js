// Actions (approve, reject, complete a step): post the command, then show what the stream made of
// it, read back from the server — the exception moving on, or the refusal it dead-lettered.
import { api, ApiError, tenantPath } from "./api.js";
import { el } from "./dom.js";

const ANSWER_TIMEOUT_MS = 30000;
const drafts = new Map();
const POLL_MS = 500;

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

/** Poll until the exception's version moves or a refusal for it is dead-lettered. */
export async function streamAnswer(exceptionId, seen) {
  const deadline = Date.now() + ANSWER_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const record = await api(tenantPath("exceptions", exceptionId));
    if (record.version > seen.version) {
      const events = record.timeline.slice(seen.seen).map((e) => e.event_type);
      return { ok: true, text: `The stream answered: status ${record.status}` +
        (record.current_step !== null && record.current_step !== undefined ? `, current step ${record.current_step}` : "") +
        (events.length ? ` (${events.join(", ")})` : "") };
    }
    const refused = await refusal(exceptionId, seen.dlqTop);
    if (refused) return { ok: false, text: `The stream refused the command: ${refused}` };
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return { ok: false, text: "No answer from the stream within 30 s; the command is queued. Refresh later." };
}

export function say(notice, text, ok) {
  notice.textContent = text;
  notice.className = "notice " + (ok ? "ok" : "bad");
  notice.hidden = !text;
}

/**
 * A comment field and buttons. Each button's `send(comment)` posts the command; then the notice
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
  for (const b of buttons) {
    row.append(el("button", { type: "button", class: b.kind || "", text: b.text, onclick: async () => {
      for (const button of form.querySelectorAll("button")) button.disabled = true;
      say(notice, `${b.text}: sent, waiting for the stream…`, true);
      try {
        const seen = await before(exceptionId);
        await b.send(comment.value.trim() || null);
        drafts.delete(draft);
        const answer = await streamAnswer(exceptionId, seen);
        say(notice, answer.text, answer.ok);
      } catch (err) {
        say(notice, err instanceof ApiError ? `The server refused: ${err.message}` : `Failed: ${err.message}`, false);
      }
      for (const button of form.querySelectorAll("button")) button.disabled = false;
      if (after) await after();
    } }));
  }
  return form;
}
