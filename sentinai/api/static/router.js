// Hash routes: #/status, #/exceptions[?filters], #/exceptions/<id>, #/approvals, #/dlq, #/packs.
// An admin key for every tenant adds ?tenant=<id>, so a link names the tenant it is about.
import { session } from "./api.js";
import { el } from "./dom.js";

export function parseHash(hash = location.hash) {
  const [path, qs] = hash.replace(/^#/, "").split("?", 2);
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { view: parts[0] || "status", id: parts[1] || null, query: new URLSearchParams(qs || "") };
}

export function href(view, id) {
  let h = "#/" + view + (id ? "/" + encodeURIComponent(id) : "");
  if (session.me && session.me.tenant_id === "*" && session.tenant) h += "?tenant=" + encodeURIComponent(session.tenant);
  return h;
}

export function exceptionLink(id) {
  return el("a", { href: href("exceptions", id), text: id });
}
