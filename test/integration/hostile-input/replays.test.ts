import { describe, expect, it } from "vitest";
import { ACTIONS } from "../../../src/views/action-ids.js";
import { blockActionBody } from "../../../stand-ins/slack-requests.js";
import { APPROVER_A, APPROVER_B, GROUP_APPROVER } from "../../support/harness.js";
import {
  expectHealthy,
  fuzzed,
  h,
  ids,
  OTHER_CHANNEL,
  r1ApproveBody,
  settle,
  slack,
  state,
  useHostileWorld,
} from "./support.js";

useHostileWorld();

// ------------------------------------------------------------------------------------------ replays

describe("replayed and reused clicks", () => {
  it("when a rejected request's earlier Approve click is replayed with a fresh signature, then nothing changes; with its old timestamp, 401", async () => {
    const before = await state();
    const denied = async () =>
      (await h.bot.store.db.selectFrom("audit").select("id").where("event", "=", "denied").execute()).length;
    const deniedBefore = await denied();
    const answersBefore = h.answersFor(APPROVER_B).length;

    // The same raw body Slack sent, re-signed now: verifies, reaches the listener, and is refused.
    expect((await slack(r1ApproveBody)).status).toBe(200);
    // The same button value reused by another approver who never approved it.
    const reused = r1ApproveBody.replace(encodeURIComponent(APPROVER_B), encodeURIComponent(GROUP_APPROVER));
    expect(reused).not.toBe(r1ApproveBody);
    expect((await slack(reused)).status).toBe(200);
    // Replayed as captured, with the timestamp it was signed with 6 minutes ago.
    const stale = await slack(r1ApproveBody, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    expect(stale.status).toBe(401);
    await settle();
    fuzzed.replays = 3;

    expect(await state()).toEqual(before);
    expect(await denied()).toBe(deniedBefore + 2);
    // Both replies went to the captured click's response_url, which the stand-in files under APPROVER_B.
    const answers = h.answersFor(APPROVER_B).slice(answersBefore);
    expect(answers).toHaveLength(2);
    for (const answer of answers) expect(answer).toMatch(/reject/i);
    const r1 = await h.bot.store.db.selectFrom("requests").select("state").where("id", "=", ids.r1).executeTakeFirst();
    expect(r1?.state).toBe("rejected");
    await expectHealthy();
  });

  it("when an approver's click claims another channel, then nothing is posted or updated in that channel", async () => {
    const before = await state();
    const body = blockActionBody({
      userId: APPROVER_A,
      channelId: OTHER_CHANNEL,
      messageTs: "1700000000.000200",
      actionId: ACTIONS.approve,
      value: ids.r2,
      responseUrl: h.slack.responseUrl({ channel: OTHER_CHANNEL, user: APPROVER_A }),
    });
    expect((await slack(body)).status).toBe(200);
    await settle();
    const intoOther = h.slack.calls.filter(
      (c) => c.path.startsWith("/api/chat.") && (c.body as { channel?: string } | undefined)?.channel === OTHER_CHANNEL,
    );
    expect(intoOther).toEqual([]);
    const after = await state();
    expect(after.postMessages).toBe(before.postMessages);
    expect(after.promotionPosts).toBe(before.promotionPosts);
    const r2 = after.requests.find((r) => r.id === ids.r2);
    expect(r2?.state).toBe("pending");
    expect(after.approvals.filter((a) => a.request_id === ids.r2).length).toBeLessThanOrEqual(1);
    await expectHealthy();
  });
});
