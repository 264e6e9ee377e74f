// The console's only way to the server: the public JSON API, with the key as a Bearer token.
export const session = { apiKey: null, me: null, tenant: null };

export class ApiError extends Error {
  constructor(status, body) {
    super(body.detail || body.error || `HTTP ${status}`);
    this.status = status;
    this.code = body.error || null;
  }
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = { Authorization: "Bearer " + session.apiKey };
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) { // the browser says only "Failed to fetch"
    throw new Error("the web view cannot be reached (network error); try again when it is back");
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/** The path of a route of the selected tenant, e.g. tenantPath("exceptions", id). */
export function tenantPath(...parts) {
  const tail = parts.map((p) => encodeURIComponent(String(p))).join("/");
  return `/api/v1/tenants/${encodeURIComponent(session.tenant)}/${tail}`;
}

/** A viewer key sees no action buttons; operators and admins act. */
export function canAct() {
  return !!session.me && session.me.role !== "viewer";
}

/** The name recorded as `by` on answers: what the person typed in the header, else the key id. */
export function actor() {
  const typed = document.getElementById("actor")?.value.trim();
  return typed || `key ${session.me.key_id}`;
}
