// Hash routes: #/status, #/exceptions[?filters], #/exceptions/<id>, #/approvals, #/dlq, #/packs.
// An admin key for every tenant adds ?tenant=<id>, so a link names the tenant it is about.
import { session } from "./api.js";
import { el } from "./dom.js";

export function parseHash(hash = location.hash) {
  const [path, qs] = hash.replace(/^#/, "").split("?", 2);
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { view: parts[0] || "status", id: parts[1] || null, query: new URLSearchParams(qs || "") };
}

export function href(view, id, tenant = session.tenant) {
  let h = "#/" + view + (id ? "/" + encodeURIComponent(id) : "");
  if (session.me && session.me.tenant_id === "*" && tenant) h += "?tenant=" + encodeURIComponent(tenant);
  return h;
}

/** A link to an exception; `tenant` when it is not the chosen one's (the overview shows every tenant). */
export function exceptionLink(id, tenant) {
  return el("a", { href: href("exceptions", id, tenant || session.tenant), text: id });
}
