// Packs: the active version of the tenant's pack and its domain's, the previous ones, and what
// changed between two versions (computed by the server: GET packs/diff).
import { api, tenantPath } from "./api.js";
import { badge, el, errorBox, fmtTime, jsonDetails, tableWrap, viewHeading } from "./dom.js";

const brief = (v) => (v === undefined || v === null ? "" : JSON.stringify(v));

function versionSelect(id, label, versions, chosen) {
  return el("div", { class: "field" }, el("label", { for: id, text: label }),
    el("select", { id }, versions.map((v) => el("option", { value: v.id, selected: v.id === chosen,
      text: `v${v.version} (#${v.id}, ${v.status})` }))));
}

function packSection(kind, name, versions) {
  const key = `${kind}-${name}`.replace(/[^A-Za-z0-9_-]/g, "_");
  const active = versions.find((v) => v.status === "active");
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

export async function renderPacks(root) {
  const body = el("div");
  root.replaceChildren(viewHeading("Packs"), body);
  try {
    const { versions } = await api(tenantPath("packs"));
    const groups = new Map();
    for (const v of versions) {
      const k = `${v.kind}\u0000${v.name}`;
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k).push(v);
    }
    body.replaceChildren(...[...groups].map(([k, vs]) => packSection(...k.split("\u0000"), vs)));
    if (!groups.size) body.append(el("p", { class: "muted", text: "No packs for this tenant." }));
  } catch (err) {
    body.replaceChildren(errorBox(err.message));
  }
  return {};
}
