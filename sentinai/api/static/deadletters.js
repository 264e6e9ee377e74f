// Dead letters: error headers, the payload on demand, Replay for an operator.
import { say } from "./actions.js";
import { api, canAct, tenantPath } from "./api.js";
import { badge, el, errorBox, fmtTime, viewHeading } from "./dom.js";

const REPLAYED_FROM = "sentinai.replayed_from";

function headerTable(headers) {
  const rows = Object.entries(headers || {}).map(([name, value]) =>
    el("tr", {}, el("th", { scope: "row" }, el("code", { text: name })), el("td", { text: value })));
  return el("details", { class: "headers" }, el("summary", { text: `headers (${rows.length})` }),
    el("div", { class: "table-wrap" }, el("table", {}, el("tbody", {}, rows))));
}

const OUTCOME_WAIT_MS = 15000;
const POLL_MS = 1000;

/** What the stream made of a replay: the newest letters are searched for one it was replayed from. */
async function outcome(id) {
  const deadline = Date.now() + OUTCOME_WAIT_MS;
  while (Date.now() < deadline) {
    const page = await api(tenantPath("dlq") + "?limit=25");
    const again = page.items.find((x) => x.id > id && x.headers?.[REPLAYED_FROM] === String(id));
    if (again) return { ok: false, text: `The stream dead-lettered it again as #${again.id}: ${again.error_message}` };
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return { ok: true, text: `No new dead letter for it within ${OUTCOME_WAIT_MS / 1000} s: the stream took it, or has not read it yet.` };
}

function card(d, notice, reload) {
  const payload = el("div", { class: "payload" });
  const show = el("button", { type: "button", class: "secondary", text: "Show payload", onclick: async () => {
    try {
      const full = await api(tenantPath("dlq", d.id));
      const shown = el("pre", { class: "json", tabindex: "0", text: full.value.text ?? "" });
      payload.replaceChildren(el("p", { class: "muted", text: `key ${full.key?.text ?? "–"} · ${full.value.size} bytes, ${full.value.encoding}` +
        (full.value.truncated ? " (truncated)" : "") }), shown);
      show.hidden = true;
      shown.focus(); // the button is gone: the keyboard goes on from what it showed
    } catch (err) {
      payload.replaceChildren(errorBox(err.message));
    }
  } });
  const again = d.status === "replayed";
  const replay = canAct() && el("button", { type: "button", class: "approve", text: again ? "Replay again" : "Replay",
    onclick: async () => {
      replay.disabled = true;
      try {
        const res = await api(tenantPath("dlq", d.id, "replay") + (again ? "?force=true" : ""), { method: "POST" });
        const now = await api(tenantPath("dlq", d.id));
        say(notice, `Dead letter #${d.id} replayed to ${res.topic}; the server now lists it as ${now.status}. ` +
          "Waiting for the stream…", true);
        await reload();
        const told = await outcome(d.id);
        if (!told.ok) await reload(); // the new letter is listed
        say(notice, `Dead letter #${d.id} replayed to ${res.topic}; the server now lists it as ${now.status}. ` +
          told.text, told.ok);
      } catch (err) {
        say(notice, `The server refused: ${err.message}`, false);
        await reload();
      }
      // the list was drawn again without this button: the keyboard goes on from the answer
      notice.tabIndex = -1;
      notice.focus();
    } });
  return el("article", { class: "panel dead-letter", dataset: { id: d.id, status: d.status } },
    el("h3", {}, `#${d.id} `, badge(d.status, "dlq"), el("span", { class: "muted", text: ` ${fmtTime(d.created_at)}` })),
    el("p", {}, el("strong", { text: `${d.stage}: ${d.error_class}` }), " — ", d.error_message),
    el("p", { class: "muted", text: `${d.source_topic} [${d.source_partition}] @ ${d.source_offset} · ${d.value_size ?? "?"} bytes` }),
    headerTable(d.headers), payload, el("div", { class: "buttons" }, show, replay || null));
}

export async function renderDeadLetters(root) {
  const notice = el("p", { class: "notice", role: "status", "aria-live": "polite", hidden: true });
  const list = el("div", { class: "cards" });
  const more = el("button", { type: "button", class: "secondary", text: "Older", hidden: true });
  root.replaceChildren(viewHeading("Dead letters"), notice, list, more);
  let before = null;
  const load = async (fresh) => {
    try {
      if (fresh) { before = null; list.replaceChildren(); }
      const page = await api(tenantPath("dlq") + "?limit=25" + (before ? `&before_id=${before}` : ""));
      for (const d of page.items) list.append(card(d, notice, () => load(true)));
      before = page.next_before_id;
      more.hidden = !before;
      if (!list.children.length) list.append(el("p", { class: "muted", text: "No dead letters." }));
    } catch (err) {
      list.replaceChildren(errorBox(err.message));
    }
  };
  more.addEventListener("click", () => load(false));
  await load(true);
  return {};
}
