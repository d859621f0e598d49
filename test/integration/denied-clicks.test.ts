/**
 * Denied clicks end to end: each is answered through its response_url, and audited once per person,
 * request and minute, however many arrive at once (issue 15: their audit rows are coalesced).
 */
import { describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/views/action-ids.js";
import { BYSTANDER, buttonValue, type Harness, REQUESTER, useHarness } from "../support/harness.js";

let h: Harness;
const e2e = useHarness();

const REFUSAL = /Only the approvers of \*whitewave\* can approve/;

describe("a burst of denied clicks", () => {
  it("when a bystander and the requester click Approve twenty times at once, then every click is answered and each denial is audited once, before its answer", async () => {
    h = await e2e.start();
    h.shipToStaging("Ship the rainbow");
    await h.slash(REQUESTER, "whitewave");
    const message = await h.slack.waitFor(() => e2e.approvalMessage(), 10_000);
    const id = buttonValue(message, ACTIONS.approve) as string;

    const clicks = await Promise.all(
      Array.from({ length: 20 }, (_, i) => h.click(i % 2 === 0 ? BYSTANDER : REQUESTER, message, ACTIONS.approve)),
    );
    expect(clicks.map((c) => c.status)).toEqual(clicks.map(() => 200));
    const refusals = (user: string) => h.answersFor(user).filter((a) => REFUSAL.test(a)).length;
    await h.slack.waitFor(() => refusals(BYSTANDER) === 10 && refusals(REQUESTER) === 10, 10_000);
    // Read as soon as the answers are in: the rows are written before the clickers are answered.
    const denied = await h.bot.store.db
      .selectFrom("audit")
      .select(["actor", "detail"])
      .where("request_id", "=", id)
      .where("event", "=", "denied")
      .execute();
    expect(denied.map((d) => d.actor).sort()).toEqual([BYSTANDER, REQUESTER].sort());
    expect(denied.map((d) => JSON.parse(d.detail))).toEqual([{ code: "NOT_APPROVER" }, { code: "NOT_APPROVER" }]);
    const request = await h.bot.store.getRequest(id);
    expect(request?.state).toBe("pending");
    // The status and history views read the audit through auditFor.
    const audit = (await h.bot.store.auditFor(id)).map((e) => `${e.event}:${e.actor}`);
    expect(audit.filter((e) => e.startsWith("denied:")).sort()).toEqual([`denied:${BYSTANDER}`, `denied:${REQUESTER}`]);
  });
});
