// The tenant's pending approvals, oldest first, with the time left and an answer on each row.
import { actionForm } from "./actions.js";
import { actor, api, canAct, tenantPath } from "./api.js";
import { el, errorBox, fmtTime, tableWrap, timeLeft, viewHeading } from "./dom.js";
import { exceptionLink } from "./router.js";

export async function renderApprovals(root) {
  const notice = el("p", { class: "notice", role: "status", "aria-live": "polite", hidden: true });
  const body = el("div");
  root.replaceChildren(viewHeading("Pending approvals"), notice, body);
  const reload = async () => {
    try {
      const page = await api(tenantPath("approvals") + "?status=pending&order=oldest&limit=500");
      const rows = page.items.map((a) => el("tr", { dataset: { approvalId: a.approval_id, exceptionId: a.exception_id } },
        el("td", {}, exceptionLink(a.exception_id)),
        el("td", { text: fmtTime(a.requested_at) }),
        el("td", { class: "c-left", dataset: { expires: a.expires_at || "" }, text: timeLeft(a.expires_at) }),
        el("td", { text: a.reason || "" }),
        canAct() ? el("td", {}, actionForm({
          label: `Answer the approval of ${a.exception_id}`, exceptionId: a.exception_id, notice, after: reload,
          buttons: ["approve", "reject"].map((verb) => ({
            text: verb === "approve" ? "Approve" : "Reject", kind: verb,
            send: (comment) => api(tenantPath("approvals", a.approval_id, verb),
              { method: "POST", body: { by: actor(), comment } }) })) })) : null));
      body.replaceChildren(rows.length
        ? tableWrap(["exception", "requested", "time left", "reason", ...(canAct() ? ["answer"] : [])], rows, "approvals")
        : el("p", { class: "muted", text: "No approval is waiting." }));
    } catch (err) {
      body.replaceChildren(errorBox(err.message));
    }
  };
  await reload();
  const ticker = setInterval(() => {
    for (const cell of body.querySelectorAll(".c-left")) cell.textContent = timeLeft(cell.dataset.expires || null);
  }, 1000);
  return { onDecision: (rec) => { if (rec.approval_required !== undefined) reload(); }, stop: () => clearInterval(ticker) };
}
