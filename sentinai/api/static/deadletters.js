// Dead letters: error headers, the payload on demand, Replay for an operator.
import { api, canAct, tenantPath } from "./api.js";
import { badge, el, errorBox, fmtTime, viewHeading } from "./dom.js";

function headerTable(headers) {
  const rows = Object.entries(headers || {}).map(([name, value]) =>
    el("tr", {}, el("th", { scope: "row" }, el("code", { text: name })), el("td", { text: value })));
  return el("details", { class: "headers" }, el("summary", { text: `error headers (${rows.length})` }),
    el("div", { class: "table-wrap" }, el("table", {}, el("tbody", {}, rows))));
}

function card(d, notice, reload) {
  const payload = el("div", { class: "payload" });
  const show = el("button", { type: "button", class: "secondary", text: "Show payload", onclick: async () => {
    try {
      const full = await api(tenantPath("dlq", d.id));
      payload.replaceChildren(el("p", { class: "muted", text: `key ${full.key?.text ?? "–"} · ${full.value.size} bytes, ${full.value.encoding}` +
        (full.value.truncated ? " (truncated)" : "") }), el("pre", { class: "json", tabindex: "0", text: full.value.text ?? "" }));
      show.hidden = true;
    } catch (err) {
      payload.replaceChildren(errorBox(err.message));
    }
  } });
  const replay = canAct() && el("button", { type: "button", class: "approve", text: "Replay", onclick: async () => {
    replay.disabled = true;
    try {
      const res = await api(tenantPath("dlq", d.id, "replay"), { method: "POST" });
      const now = await api(tenantPath("dlq", d.id));
      notice.textContent = `Dead letter #${d.id} replayed to ${res.topic}; the server now lists it as ${now.status}.`;
      notice.className = "notice ok";
    } catch (err) {
      notice.textContent = `The server refused: ${err.message}`;
      notice.className = "notice bad";
    }
    notice.hidden = false;
    await reload();
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
