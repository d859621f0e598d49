/**
 * The drift check end to end (issue 16): what a promotion does not copy (config var names, buildpacks,
 * stack, add-ons) compared between staging and production, shown on the request and in `status`,
 * and with `drift: block` refusing approvals and the promotion until fixed or overridden.
 */
import { describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/views/action-ids.js";
import type { SlackMessage } from "../../stand-ins/slack.js";
import {
  APPROVER_A,
  APPROVER_B,
  GROUP_APPROVER,
  type Harness,
  messageText,
  type PipelineOptions,
  REQUESTER,
  useHarness,
} from "../support/harness.js";

const e2e = useHarness();
let h: Harness;
const SECRET_VALUE = "whsec_live_do-not-show-me";

async function start(pipeline: PipelineOptions = {}): Promise<Harness> {
  h = await e2e.start({ pipeline });
  h.shipToStaging("Pay with Stripe");
  // Staging has a config var production lacks (its value must never appear anywhere).
  h.heroku.setConfigVars(h.ids.staging, { STRIPE_WEBHOOK_SECRET: SECRET_VALUE, FEATURE_X: "on" });
  return h;
}

async function request(user = REQUESTER, text = "whitewave"): Promise<SlackMessage> {
  await h.slash(user, text);
  return h.slack.waitFor(() => e2e.approvalMessage());
}

const everything = () => JSON.stringify([h.slack.messages, h.slack.ephemerals]) + h.logs.text;

describe("the drift check", () => {
  it("when production lacks config vars staging has (drift: warn), then the request names them and can be approved and promoted", async () => {
    await start();
    const message = await request();
    const text = messageText(message);
    expect(text).toContain("Drift between the source and production");
    expect(text).toContain("whitewave-prod lacks `FEATURE_X`, `STRIPE_WEBHOOK_SECRET`");
    await h.click(APPROVER_A, message, ACTIONS.approve);
    await e2e.finalMessage(message.ts, /Promoted/);
    expect(e2e.promotionPosts()).toHaveLength(1);
    expect(everything()).not.toContain(SECRET_VALUE);
  });

  it("when drift: block, then approvals are refused with the list; once production has the vars, the next approval promotes", async () => {
    await start({ drift: "block" });
    h.heroku.setBuildpacks(h.ids.staging, ["heroku/nodejs", "heroku/ruby"]);
    const message = await request();
    expect(messageText(message)).toContain("Approvals are refused while this drift stands");
    await h.click(APPROVER_A, message, ACTIONS.approve);
    const refusal = await e2e.answer(APPROVER_A, /Not approved/);
    expect(refusal).toContain("`FEATURE_X`");
    expect(refusal).toContain("buildpacks heroku/nodejs + heroku/ruby vs heroku/nodejs");
    expect(refusal).toContain('--override \\"reason\\"');
    expect(e2e.promotionPosts()).toHaveLength(0);
    h.heroku.setConfigVars(h.ids.production, { STRIPE_WEBHOOK_SECRET: "other", FEATURE_X: "on" });
    h.heroku.setBuildpacks(h.ids.production, ["heroku/nodejs", "heroku/ruby"]);
    await h.click(APPROVER_A, message, ACTIONS.approve);
    await e2e.finalMessage(message.ts, /Promoted/);
    expect(e2e.promotionPosts()).toHaveLength(1);
    expect(everything()).not.toContain(SECRET_VALUE);
  });

  it("when drift_ignore names the keys that differ on purpose, then drift: block lets the request through", async () => {
    await start({ drift: "block", driftIgnore: "[STRIPE_WEBHOOK_SECRET, FEATURE_X]" });
    const message = await request();
    expect(messageText(message)).not.toContain("Drift");
    await h.click(APPROVER_A, message, ACTIONS.approve);
    await e2e.finalMessage(message.ts, /Promoted/);
  });

  it("when an approver asks with --override, then the drift is let through, audited and shown", async () => {
    await start({ drift: "block" });
    const message = await request(APPROVER_A, 'whitewave --override "FEATURE_X ships dark"');
    const text = messageText(message);
    expect(text).toContain(`Drift overridden by <@${APPROVER_A}>`);
    expect(text).toContain("FEATURE_X ships dark");
    await h.click(APPROVER_B, message, ACTIONS.approve);
    await e2e.finalMessage(message.ts, /Promoted/);
    const audit = await h.bot.store.db.selectFrom("audit").select(["event", "actor", "detail"]).execute();
    const override = audit.find((a) => a.event === "drift_override");
    expect(override?.actor).toBe(APPROVER_A);
    expect(override?.detail).toContain("config:whitewave-prod:FEATURE_X");
  });

  it("when an override covered the drift found then, then drift found later still stops the promotion before anything changes", async () => {
    await start({ drift: "block", requiredApprovals: 2 });
    const message = await request(APPROVER_A, 'whitewave --override "known"');
    await h.click(APPROVER_B, message, ACTIONS.approve);
    await e2e.answer(APPROVER_B, /Approved \(1 of 2\)/);
    // Between the approvals staging gains an add-on production does not have: not what was overridden.
    h.heroku.addAddon(h.ids.staging, "heroku-redis:mini");
    await h.click(GROUP_APPROVER, message, ACTIONS.approve);
    const done = await e2e.finalMessage(message.ts, /drift appeared since this request was approved/);
    expect(messageText(done)).toContain("no heroku-redis add-on (heroku-redis:mini on the source)");
    // The refusal names what the override did not cover.
    expect(messageText(done)).toMatch(/has `drift: block`: whitewave-prod no heroku-redis add-on/);
    expect(e2e.promotionPosts()).toHaveLength(0);
  });

  it("when the token may not read production's config vars, then the request says the check was skipped and goes on", async () => {
    await start({ drift: "block" });
    h.heroku.forbidConfigVars(h.ids.production);
    const message = await request();
    expect(messageText(message)).toContain("Drift check skipped: the token cannot read config vars of whitewave-prod.");
    await h.click(APPROVER_A, message, ACTIONS.approve);
    await e2e.finalMessage(message.ts, /Promoted/);
  });

  it("when drift appears after the approvals were complete, then with drift: block the promotion is refused before it acts", async () => {
    await start({ drift: "block", requiredApprovals: 2 });
    h.heroku.setConfigVars(h.ids.production, { STRIPE_WEBHOOK_SECRET: "other", FEATURE_X: "on" });
    const message = await request();
    expect(messageText(message)).not.toContain("Drift");
    await h.click(APPROVER_A, message, ACTIONS.approve);
    await e2e.answer(APPROVER_A, /Approved \(1 of 2\)/);
    h.heroku.unsetConfigVars(h.ids.production, ["FEATURE_X"]);
    await h.click(APPROVER_B, message, ACTIONS.approve);
    const done = await e2e.finalMessage(message.ts, /drift appeared since this request was approved/);
    expect(messageText(done)).toContain("`FEATURE_X`");
    expect(e2e.promotionPosts()).toHaveLength(0);
  });

  it("shows the drift in /promote status", async () => {
    await start();
    await h.slash(REQUESTER, "status whitewave");
    const status = await e2e.answer(REQUESTER, /whitewave status/);
    expect(status).toContain("whitewave-prod lacks `FEATURE_X`, `STRIPE_WEBHOOK_SECRET`");
    expect(everything()).not.toContain(SECRET_VALUE);
  });
});
