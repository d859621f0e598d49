/** Rollbacks: requested, approved under the same policy, executed exactly once, reported and audited. */
import { describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/views/action-ids.js";
import type { SlackMessage } from "../../stand-ins/slack.js";
import {
  APPROVER_A,
  APPROVER_B,
  BYSTANDER,
  buttonValue,
  type Harness,
  messageText,
  REQUESTER,
  useHarness,
} from "../support/harness.js";

let h: Harness;
const e2e = useHarness();

const { answer } = e2e;
const pending = () => h.approvalMessage();
const settled = (ts: string, pattern: RegExp) => h.messageMatching(ts, pattern, 10_000);
const rollbackPosts = () => h.heroku.callsTo("POST", /^\/apps\/[^/]+\/releases$/);

/** Ships a release and promotes it; returns the success message. */
async function promoteOnce(): Promise<SlackMessage> {
  h.shipToStaging("Something to regret");
  await h.slash(REQUESTER, "whitewave");
  const message = await h.slack.waitFor(() => pending(), 10_000);
  await h.click(APPROVER_A, message, ACTIONS.approve);
  return settled(message.ts, /Promoted/);
}

describe("rollback", () => {
  it("when the rollback POST answers 503 (Heroku did nothing), it is retried and production is rolled back once", async () => {
    h = await e2e.start();
    const before = h.heroku.currentRelease(h.ids.production)!;
    await promoteOnce();
    h.heroku.fault({
      method: "POST",
      path: `/apps/${h.ids.production}/releases`,
      times: 1,
      response: {
        status: 503,
        body: { id: "service_unavailable", message: "Service Unavailable" },
      },
    });
    await h.slash(REQUESTER, "rollback whitewave");
    const message = await h.slack.waitFor(() => pending(), 10_000);
    await h.click(APPROVER_A, message, ACTIONS.approve);
    await settled(message.ts, /Rolled back/);
    expect(rollbackPosts()).toHaveLength(2);
    const rollbacks = h.heroku.releases(h.ids.production).filter((r) => r.description.startsWith("Rollback"));
    expect(rollbacks).toHaveLength(1);
    expect(h.heroku.currentRelease(h.ids.production)?.slug?.id).toBe(before.slug?.id);
  });

  it("when Heroku rolled back but its answer was lost, the bot finds the new release and does not roll back again", async () => {
    h = await e2e.start();
    const before = h.heroku.currentRelease(h.ids.production)!;
    await promoteOnce();
    h.heroku.fault({ method: "POST", path: `/apps/${h.ids.production}/releases`, times: 1, dropAfterHandling: true });
    await h.slash(REQUESTER, "rollback whitewave");
    const message = await h.slack.waitFor(() => pending(), 10_000);
    await h.click(APPROVER_A, message, ACTIONS.approve);
    const done = await settled(message.ts, /Rolled back/);
    expect(messageText(done)).toMatch(/whitewave-prod now runs v\d+/);
    expect(rollbackPosts()).toHaveLength(1);
    expect(h.heroku.currentRelease(h.ids.production)?.slug?.id).toBe(before.slug?.id);
  });

  it("when three rollback POSTs answer 503 and the fourth acts but its answer is lost, the rollback is found, not reported failed", async () => {
    h = await e2e.start();
    const before = h.heroku.currentRelease(h.ids.production)!;
    await promoteOnce();
    const path = `/apps/${h.ids.production}/releases`;
    const unavailable = { status: 503, body: { id: "service_unavailable", message: "Service Unavailable" } };
    h.heroku.fault({ method: "POST", path, times: 3, response: unavailable });
    h.heroku.fault({ method: "POST", path, times: 1, dropAfterHandling: true });
    await h.slash(REQUESTER, "rollback whitewave");
    const message = await h.slack.waitFor(() => pending(), 10_000);
    await h.click(APPROVER_A, message, ACTIONS.approve);
    const done = await h.messageMatching(message.ts, /Rolled back|failed/i, 20_000);
    expect(messageText(done)).toMatch(/Rolled back/);
    expect(rollbackPosts()).toHaveLength(4);
    const rollbacks = h.heroku.releases(h.ids.production).filter((r) => r.description.startsWith("Rollback"));
    expect(rollbacks).toHaveLength(1);
    expect(h.heroku.currentRelease(h.ids.production)?.slug?.id).toBe(before.slug?.id);
  }, 30_000);

  it("when Heroku rolls back and answers 2xx with a body the bot cannot read, the rollback is reported done, once", async () => {
    h = await e2e.start();
    const before = h.heroku.currentRelease(h.ids.production)!;
    await promoteOnce();
    h.heroku.fault({
      method: "POST",
      path: `/apps/${h.ids.production}/releases`,
      times: 1,
      answerAfterHandling: { status: 201, body: { surprise: true } },
    });
    await h.slash(REQUESTER, "rollback whitewave");
    const message = await h.slack.waitFor(() => pending(), 10_000);
    await h.click(APPROVER_A, message, ACTIONS.approve);
    const done = await h.messageMatching(message.ts, /Rolled back|failed/i, 20_000);
    expect(messageText(done)).toMatch(/Rolled back/);
    expect(rollbackPosts()).toHaveLength(1);
    expect(h.heroku.currentRelease(h.ids.production)?.slug?.id).toBe(before.slug?.id);
  }, 30_000);

  it("when an approver asks for a rollback and self-approval is allowed with one approval, the reply says it rolls back now", async () => {
    h = await e2e.start({ pipeline: { allowSelfApproval: true, requiredApprovals: 1 } });
    const before = h.heroku.currentRelease(h.ids.production)!;
    await promoteOnce();
    await h.slash(APPROVER_B, "rollback whitewave");
    const text = await answer(APPROVER_B, /rollback|rolling back/i);
    expect(text).toMatch(/Approved your own request .*rolling back \*whitewave\* to v/);
    expect(text).not.toMatch(/It needs/);
    await h.slack.waitFor(() => h.heroku.currentRelease(h.ids.production)?.slug?.id === before.slug?.id, 10_000);
  });

  it("is requested, approved and executed once: production runs the previous release again", async () => {
    h = await e2e.start();
    const before = h.heroku.currentRelease(h.ids.production)!;
    await promoteOnce();
    const promoted = h.heroku.currentRelease(h.ids.production)!;
    expect(promoted.slug?.id).not.toBe(before.slug?.id);

    await h.slash(REQUESTER, "rollback whitewave");
    await answer(REQUESTER, /Requested a rollback of \*whitewave\* to v/);
    const message = await h.slack.waitFor(() => pending(), 10_000);
    expect(messageText(message)).toContain(`v${promoted.version} → back to v${before.version}`);
    await h.click(BYSTANDER, message, ACTIONS.approve);
    await answer(BYSTANDER, /Only the approvers of \*whitewave\* can approve/);
    await Promise.all(Array.from({ length: 10 }, () => h.click(APPROVER_B, message, ACTIONS.approve)));
    const done = await settled(message.ts, /Rolled back/);
    expect(messageText(done)).toMatch(/whitewave-prod now runs v\d+/);
    expect(rollbackPosts()).toHaveLength(1);
    expect(rollbackPosts()[0]?.body).toEqual({ release: before.id });
    const now = h.heroku.currentRelease(h.ids.production)!;
    expect(now.slug?.id).toBe(before.slug?.id);
    expect(now.version).toBeGreaterThan(promoted.version);
    const rows = await h.bot.store.db.selectFrom("audit").selectAll().orderBy("id").execute();
    const rollbackId = buttonValue(message, ACTIONS.approve) ?? rows.at(-1)?.request_id;
    const events = rows.filter((e) => e.request_id === rollbackId).map((e) => `${e.event}:${e.actor ?? "-"}`);
    // B's nine extra clicks were refused (already approved, or already decided), one counted; the
    // refusals are audited once per person, request and minute.
    expect(events.filter((e) => e === `denied:${APPROVER_B}`)).toHaveLength(1);
    expect(events.filter((e) => e !== `denied:${APPROVER_B}`)).toEqual([
      `requested:${REQUESTER}`,
      `denied:${BYSTANDER}`,
      `approved:${APPROVER_B}`,
      "promoting:-",
      "rollback_created:-",
      "succeeded:-",
    ]);
  });

  it("is offered by a promotion's success message, and refused once production has moved on", async () => {
    h = await e2e.start();
    const success = await promoteOnce();
    const value = buttonValue(success, ACTIONS.rollback);
    expect(value).toBeDefined();
    // Production moves on (another deploy) before anyone clicks.
    h.heroku.deploy(h.ids.production, h.shipToStaging("Hotfix straight to prod").sha);
    await h.click(BYSTANDER, success, ACTIONS.rollback);
    await answer(BYSTANDER, /no longer runs what that promotion released/);
    expect(
      await h.bot.store.db.selectFrom("requests").select("kind").where("kind", "=", "rollback").execute(),
    ).toHaveLength(0);
  });

  it("from the success message's button, goes through approval like any request", async () => {
    h = await e2e.start();
    const before = h.heroku.currentRelease(h.ids.production)!;
    const success = await promoteOnce();
    await h.click(BYSTANDER, success, ACTIONS.rollback);
    const message = await h.slack.waitFor(() => pending(), 10_000);
    await h.click(APPROVER_B, message, ACTIONS.approve);
    await settled(message.ts, /Rolled back/);
    expect(h.heroku.currentRelease(h.ids.production)?.slug?.id).toBe(before.slug?.id);
  });

  it("is refused up front, before any approval, when Heroku says the previous release cannot be rolled back to", async () => {
    h = await e2e.start();
    const oldest = h.heroku.currentRelease(h.ids.production)!;
    h.heroku.deploy(h.ids.production, h.shipToStaging("Deployed outside the bot").sha);
    const before = h.heroku.currentRelease(h.ids.production)!;
    const success = await promoteOnce();
    h.heroku.markIneligibleForRollback(before.id);
    const requests = () =>
      h.bot.store.db.selectFrom("requests").select("kind").where("kind", "=", "rollback").execute();

    await h.slash(REQUESTER, "rollback whitewave");
    const refusal = await answer(REQUESTER, /cannot be rolled back to/);
    expect(refusal).toContain(`Heroku says whitewave-prod v${before.version} is not eligible for rollback`);
    expect(refusal).toMatch(/Nothing was requested\./);
    // What to do instead: promote a fix forward, or roll back by hand to an older release.
    expect(refusal).toContain("/promote whitewave");
    expect(refusal).toContain(`heroku releases:rollback v${oldest.version} -a whitewave-prod`);

    await h.click(BYSTANDER, success, ACTIONS.rollback);
    await answer(BYSTANDER, /is not eligible for rollback/);
    expect(await requests()).toHaveLength(0);
    expect(pending()).toBeUndefined();
    expect(rollbackPosts()).toHaveLength(0);
  });

  it("when Heroku's release list leaves eligible_for_rollback out, a succeeded previous release is still rolled back to", async () => {
    h = await e2e.start();
    const before = h.heroku.currentRelease(h.ids.production)!;
    await promoteOnce();
    // The list as Heroku would send it, newest first, without the field (an older API answer).
    const body = h.heroku
      .releases(h.ids.production)
      .reverse()
      .map(({ eligible_for_rollback: _left, ...release }) => release);
    h.heroku.fault({
      method: "GET",
      path: `/apps/${h.ids.production}/releases`,
      times: 1,
      response: { status: 200, body },
    });
    await h.slash(REQUESTER, "rollback whitewave");
    const message = await h.slack.waitFor(() => pending(), 10_000);
    expect(messageText(message)).toContain(`back to v${before.version}`);
  });

  it("when the release to go back to stops being eligible while approvals are collected, nothing is posted and the message says why", async () => {
    h = await e2e.start();
    const before = h.heroku.currentRelease(h.ids.production)!;
    await promoteOnce();
    await h.slash(REQUESTER, "rollback whitewave");
    const message = await h.slack.waitFor(() => pending(), 10_000);
    h.heroku.markIneligibleForRollback(before.id);
    await h.click(APPROVER_A, message, ACTIONS.approve);
    const done = await settled(message.ts, /Rollback failed/);
    expect(messageText(done)).toContain(`v${before.version} can no longer be rolled back to`);
    expect(rollbackPosts()).toHaveLength(0);
  });

  it("is refused when the previous release has expired", async () => {
    h = await e2e.start();
    const before = h.heroku.currentRelease(h.ids.production)!;
    await promoteOnce();
    h.heroku.expireRelease(before.id);
    await h.slash(REQUESTER, "rollback whitewave");
    await answer(REQUESTER, /has expired \(Heroku deleted its build\)/);
  });
});

describe("rollback through a lock or freeze window", () => {
  const { channelText } = e2e;
  const forwardOverride = /`\/promote whitewave --override/;

  it("a rollback refused by a lock names the rollback's own override; an approver's override rolls back, announced as a rollback", async () => {
    h = await e2e.start();
    const before = h.heroku.currentRelease(h.ids.production)!;
    await promoteOnce();
    await h.slash(APPROVER_A, 'lock whitewave "database incident"');
    await answer(APPROVER_A, /Locked/);

    await h.slash(REQUESTER, "rollback whitewave");
    const refusal = await answer(REQUESTER, /is locked by/);
    expect(refusal).toMatch(/Rollbacks wait until it is unlocked/);
    expect(refusal).toContain('`/promote rollback whitewave --override \\"reason\\"`');
    expect(refusal).not.toMatch(forwardOverride);

    await h.slash(APPROVER_A, 'rollback whitewave --override "the release corrupts orders"');
    const message = await h.slack.waitFor(() => pending(), 10_000);
    await h.slack.waitFor(() =>
      /overrode the lock of \*whitewave\* for a rollback to v\d+: the release corrupts orders/.test(channelText()),
    );
    await h.click(APPROVER_B, message, ACTIONS.approve);
    await settled(message.ts, /Rolled back/);
    expect(h.heroku.currentRelease(h.ids.production)?.slug?.id).toBe(before.slug?.id);
  });

  it("the Rollback button of a success message, refused by a lock, names the rollback's own override", async () => {
    h = await e2e.start();
    const success = await promoteOnce();
    await h.slash(APPROVER_A, 'lock whitewave "quiet period"');
    await answer(APPROVER_A, /Locked/);
    await h.click(BYSTANDER, success, ACTIONS.rollback);
    const refusal = await answer(BYSTANDER, /is locked by/);
    expect(refusal).toContain("/promote rollback whitewave --override");
    expect(refusal).not.toMatch(forwardOverride);
    expect(rollbackPosts()).toHaveLength(0);
  });

  it("an approval of a rollback held by a lock set after it was asked says how to go through: cancel, then the rollback's override", async () => {
    h = await e2e.start();
    await promoteOnce();
    await h.slash(REQUESTER, "rollback whitewave");
    const message = await h.slack.waitFor(() => pending(), 10_000);
    await h.slash(APPROVER_A, 'lock whitewave "database incident"');
    await answer(APPROVER_A, /Locked/);
    await h.click(APPROVER_B, message, ACTIONS.approve);
    const refusal = await answer(APPROVER_B, /is locked by/);
    expect(refusal).toMatch(/This rollback waits until it is unlocked/);
    expect(refusal).toMatch(/cancel this request .*`\/promote rollback whitewave --override/);
    expect(refusal).not.toMatch(forwardOverride);
    expect(rollbackPosts()).toHaveLength(0);
  });

  it("inside a freeze window, a rollback is refused naming the rollback's override, and goes through on it", async () => {
    h = await e2e.start({
      pipeline: {
        freeze:
          '[{ days: [mon, tue, wed, thu, fri, sat, sun], from: "00:00", to: "00:00", timezone: Europe/Paris, reason: "year-end freeze" }]',
      },
    });
    const before = h.heroku.currentRelease(h.ids.production)!;
    // Production moved on outside the bot (the freeze stops the bot's promotions).
    h.heroku.deploy(h.ids.production, h.shipToStaging("Regrettable hotfix").sha);

    await h.slash(REQUESTER, "rollback whitewave");
    const refusal = await answer(REQUESTER, /freeze window/);
    expect(refusal).toContain("year-end freeze");
    expect(refusal).toMatch(/Rollbacks wait until it ends/);
    expect(refusal).toContain("/promote rollback whitewave --override");
    expect(refusal).not.toMatch(forwardOverride);

    await h.slash(APPROVER_A, 'rollback whitewave --override "the hotfix broke checkout"');
    const message = await h.slack.waitFor(() => pending(), 10_000);
    await h.click(APPROVER_B, message, ACTIONS.approve);
    await settled(message.ts, /Rolled back/);
    expect(h.heroku.currentRelease(h.ids.production)?.slug?.id).toBe(before.slug?.id);
  });
});
