// Small DOM helpers: every text goes through textContent, never innerHTML.
export const $ = (id) => document.getElementById(id);

export function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = String(value);
    else if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function fmtTime(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  return isNaN(d) ? String(iso) : d.toLocaleString([], { dateStyle: "short", timeStyle: "medium" });
}

/** "12 min", "3.5 h", "overdue 2 min" for a deadline. */
export function timeLeft(iso, now = Date.now()) {
  if (!iso) return "no expiry";
  const ms = new Date(iso).getTime() - now;
  const abs = Math.abs(ms) / 1000;
  const text = abs < 90 ? `${Math.round(abs)} s` : abs < 5400 ? `${Math.round(abs / 60)} min`
    : `${(abs / 3600).toFixed(1)} h`;
  return ms < 0 ? `overdue ${text}` : text;
}

export function badge(text, kind) {
  const value = text === null || text === undefined ? "–" : String(text);
  const tone = value.toLowerCase().replace(/[^a-z0-9_]+/g, "-");
  return el("span", { class: `badge ${kind ? "k-" + kind : ""} b-${tone}`, text: value });
}

export function jsonBlock(value) {
  return el("pre", { class: "json", tabindex: "0", text: JSON.stringify(value, null, 2) });
}

/** A <details> that shows a JSON value when opened. */
export function jsonDetails(summary, value) {
  return el("details", {}, el("summary", { text: summary }), jsonBlock(value));
}

export function tableWrap(head, rows, cls) {
  return el("div", { class: "table-wrap" },
    el("table", { class: cls || "" },
      el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, rows)));
}

export function errorBox(message) {
  return el("p", { class: "error", role: "alert", text: message });
}

export function viewHeading(text) {
  return el("h2", { tabindex: "-1", class: "view-title", text });
}
