// The tenant's pending approvals, oldest first, with the time left and an answer on each card.
import { actionForm } from "./actions.js";
import { api, canAct, tenantPath } from "./api.js";
import { badge, el, errorBox, fmtTime, timeLeft, viewHeading } from "./dom.js";
import { exceptionLink } from "./router.js";

export async function renderApprovals(root) {
  const notice = el("p", { class: "notice", role: "status", "aria-live": "polite", hidden: true });
  const body = el("div");
  root.replaceChildren(viewHeading("Pending approvals"), notice, body);
  const reload = async () => {
    try {
      const page = await api(tenantPath("approvals") + "?status=pending&order=oldest&limit=500");
      const cards = page.items.map((a) => el("article", { class: "panel approval",
        dataset: { approvalId: a.approval_id, exceptionId: a.exception_id } },
        el("h3", {}, exceptionLink(a.exception_id), " ", badge(a.status, "approval")),
        el("p", {}, el("span", { class: "muted", text: "time left " }),
          el("strong", { class: "c-left", dataset: { expires: a.expires_at || "" }, text: timeLeft(a.expires_at) }),
          el("span", { class: "muted", text: ` · requested ${fmtTime(a.requested_at)} · ${a.reason || ""}` })),
        canAct() ? actionForm({
          label: `Answer the approval of ${a.exception_id}`, exceptionId: a.exception_id, notice, after: reload,
          buttons: ["approve", "reject"].map((verb) => ({
            text: verb === "approve" ? "Approve" : "Reject", kind: verb,
            send: (comment, by) => api(tenantPath("approvals", a.approval_id, verb),
              { method: "POST", body: { by, comment } }) })) }) : null));
      body.replaceChildren(cards.length ? el("div", { class: "cards approvals" }, cards)
        : el("p", { class: "muted", text: "No approval is waiting." }));
    } catch (err) {
      body.replaceChildren(errorBox(err.message));
    }
  };
  await reload();
  const ticker = setInterval(() => {
    for (const cell of body.querySelectorAll(".c-left")) cell.textContent = timeLeft(cell.dataset.expires || null);
  }, 1000);
  // Decisions arrive in bursts: reload at most once a second, after the burst's first record.
  let pending = null;
  const soon = () => { if (!pending) pending = setTimeout(() => { pending = null; reload(); }, 1000); };
  return { onDecision: soon, stop: () => { clearInterval(ticker); clearTimeout(pending); } };
}
