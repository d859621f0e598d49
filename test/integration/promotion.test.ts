/**
 * Requests, the approval check and Heroku promotion, end to end: signed Slack requests to the real
 * server, Heroku/GitLab/Slack stand-ins behind it.
 */
import { describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/views/action-ids.js";
import type { SlackMessage } from "../../stand-ins/slack.js";
import { homeClickBody, postSlack } from "../../stand-ins/slack-requests.js";
import { BACKENDS } from "../support/databases.js";
import {
  APPROVER_A,
  APPROVER_B,
  BYSTANDER,
  buttonValue,
  GROUP_APPROVER,
  type Harness,
  messageText,
  type PipelineOptions,
  PROJECT_ID,
  REQUESTER,
  SIGNING_SECRET,
  useHarness,
} from "../support/harness.js";
import { until } from "../support/processes.js";

let h: Harness;
const e2e = useHarness();

async function setup(
  pipeline: PipelineOptions = {},
): Promise<{ sha: string; pipelineId: number; releaseVersion: number; releaseId: string }> {
  h = await e2e.start({ pipeline });
  const shipped = h.shipToStaging("Ship the rainbow");
  const releaseId = h.heroku.currentRelease(h.ids.staging)?.id as string;
  return { ...shipped, releaseId };
}

/** The channel message carrying the request's Approve button. */
const { approvalMessage } = e2e;

async function requestViaCommand(user = REQUESTER): Promise<SlackMessage> {
  const response = await h.slash(user, "whitewave");
  expect(response.status).toBe(200);
  return h.slack.waitFor(() => approvalMessage());
}

function promotionPosts() {
  return h.heroku.callsTo("POST", "/pipeline-promotions");
}

const finalMessage = (ts: string, pattern: RegExp) => h.messageMatching(ts, pattern, 5_000);

const answer = (user: string, pattern: RegExp) => h.answer(user, pattern, 5_000);

describe("requesting a promotion", () => {
  it("when /promote whitewave is typed, then a request is stored and the approval message names who asked, what, and who can approve", async () => {
    const shipped = await setup();
    const message = await requestViaCommand();
    const text = messageText(message);
    expect(text).toContain(`<@${REQUESTER}>`);
    expect(text).toContain(`v${shipped.releaseVersion}`);
    expect(text).toContain(shipped.sha.slice(0, 8));
    expect(text).toContain("0 of 1");
    expect(text).toContain(`<@${APPROVER_A}>`);
    expect(text).toContain("<!subteam^S0RELEASERS>");
    expect(text).toContain("1 commit behind");
    for (const action of [ACTIONS.approve, ACTIONS.reject, ACTIONS.cancel]) {
      expect(buttonValue(message, action)).toMatch(/^[0-9a-f-]{36}$/);
    }
    await answer(REQUESTER, /Requested the promotion/);
    const rows = await h.bot.store.db.selectFrom("requests").selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      pipeline: "whitewave",
      state: "pending",
      source_release_id: shipped.releaseId,
      source_release_version: shipped.releaseVersion,
      commit_sha: shipped.sha,
      requester: REQUESTER,
      source_app_name: "whitewave-staging",
    });
    expect(JSON.parse(rows[0]!.target_apps)).toEqual([{ id: h.ids.production, name: "whitewave-prod" }]);
    expect(new Date(rows[0]!.expires_at).getTime() - new Date(rows[0]!.created_at).getTime()).toBe(2 * 3_600_000);
    expect(promotionPosts()).toHaveLength(0);
  });

  it("when the Promote button of a staging-ready message is clicked, then that message becomes the approval message", async () => {
    const shipped = await setup();
    await h.sendGitLab(h.gitlab.pipelineEvent(PROJECT_ID, shipped.pipelineId));
    const ready = await h.slack.waitFor(() => h.channelMessages().find((m) => buttonValue(m, ACTIONS.promote)));
    expect((await h.click(REQUESTER, ready, ACTIONS.promote)).status).toBe(200);
    const updated = await h.slack.waitFor(() => approvalMessage());
    expect(updated.ts).toBe(ready.ts);
    expect(h.channelMessages()).toHaveLength(1);
    expect(buttonValue(updated, ACTIONS.promote)).toBeUndefined();
  });

  it("when the pipeline is unknown, then the requester is told the configured ones and the closest", async () => {
    await setup();
    await h.slash(REQUESTER, "whitewav");
    const text = await answer(REQUESTER, /no pipeline called/);
    expect(text).toContain("Did you mean `whitewave`");
    expect(h.channelMessages()).toHaveLength(0);
  });

  it("when CI has not passed for staging's commit, then the request is refused with a link and nothing is created", async () => {
    h = await e2e.start();
    const commit = h.gitlab.commit(PROJECT_ID, "main", "Flaky");
    const ci = h.gitlab.addPipeline(PROJECT_ID, commit.id, { ref: "main", status: "failed" });
    h.heroku.deploy(h.ids.staging, commit.id);
    await h.slash(REQUESTER, "whitewave");
    const text = await answer(REQUESTER, /CI for/);
    expect(text).toContain("`failed`");
    expect(text).toContain(ci.web_url);
    const missing = h.gitlab.commit(PROJECT_ID, "main", "No CI");
    h.heroku.deploy(h.ids.staging, missing.id);
    await h.slash(REQUESTER, "whitewave");
    await answer(REQUESTER, /has no CI pipeline/);
    expect(await h.bot.store.db.selectFrom("requests").selectAll().execute()).toHaveLength(0);
  });

  it("when the commit's newest pipeline is a child pipeline still running, then CI is judged by the parent and the request is created", async () => {
    const shipped = await setup();
    const trigger = h.gitlab.jobs(PROJECT_ID, shipped.pipelineId)[0]?.id ?? 0;
    h.gitlab.addPipeline(PROJECT_ID, shipped.sha, {
      status: "running",
      childOf: { pipelineId: shipped.pipelineId, jobId: trigger },
    });
    await h.slash(REQUESTER, "whitewave");
    await answer(REQUESTER, /Requested the promotion/);
    expect(approvalMessage()).toBeDefined();
  });

  it("when production already runs the slug, or the release expired, then the request is refused", async () => {
    h = await e2e.start();
    await h.slash(REQUESTER, "whitewave");
    await answer(REQUESTER, /already runs this build/);
    // A staging-ready message for v2; staging moves on to v3 and Heroku expires v2's build.
    const v2 = h.shipToStaging("Announced");
    await h.sendGitLab(h.gitlab.pipelineEvent(PROJECT_ID, v2.pipelineId));
    const ready = await h.slack.waitFor(() => h.channelMessages().find((m) => buttonValue(m, ACTIONS.promote)));
    const v2Release = h.heroku.currentRelease(h.ids.staging)?.id as string;
    h.heroku.deploy(h.ids.staging, v2.sha);
    h.heroku.expireRelease(v2Release);
    await h.click(REQUESTER, ready, ACTIONS.promote);
    await answer(REQUESTER, /has expired: Heroku deletes the build/);
    expect(await h.bot.store.db.selectFrom("requests").selectAll().execute()).toHaveLength(0);
  });

  it("when a request is already pending, then another is refused and points to it", async () => {
    await setup();
    await requestViaCommand();
    await h.slash(APPROVER_B, "whitewave");
    const text = await answer(APPROVER_B, /already has a request/);
    expect(text).toContain(`<@${REQUESTER}>`);
    expect(await h.bot.store.db.selectFrom("requests").selectAll().execute()).toHaveLength(1);
  });

  it("answers /promote help with the commands and configured pipelines", async () => {
    await setup();
    await h.slash(REQUESTER, "help");
    const text = await answer(REQUESTER, /promote-bot/);
    expect(text).toContain("/promote &lt;pipeline&gt;");
    expect(text).toContain("`whitewave`");
  });
});

describe("the approval check", () => {
  it("when the requester approves their own request, then it is refused and nothing changes", async () => {
    await setup();
    const message = await requestViaCommand(APPROVER_A);
    await h.click(APPROVER_A, message, ACTIONS.approve);
    await answer(APPROVER_A, /cannot approve it yourself/);
    const rows = await h.bot.store.db.selectFrom("requests").select("state").execute();
    expect(rows.map((r) => r.state)).toEqual(["pending"]);
    expect(await h.bot.store.db.selectFrom("approvals").selectAll().execute()).toHaveLength(0);
  });

  it("when a non-approver clicks Approve or Reject, then they are told so and nothing changes", async () => {
    await setup();
    const message = await requestViaCommand();
    await h.click(BYSTANDER, message, ACTIONS.approve);
    await answer(BYSTANDER, /Only the approvers of \*whitewave\* can approve/);
    await h.click(BYSTANDER, message, ACTIONS.reject);
    await answer(BYSTANDER, /Only the approvers of \*whitewave\* can reject/);
    await h.click(BYSTANDER, message, ACTIONS.cancel);
    await answer(BYSTANDER, /can cancel this request/);
    expect((await h.bot.store.db.selectFrom("requests").select("state").execute())[0]?.state).toBe("pending");
    expect(promotionPosts()).toHaveLength(0);
    // Denials are audited once per person, request and minute.
    const denied = await h.bot.store.db.selectFrom("audit").selectAll().where("event", "=", "denied").execute();
    expect(denied.map((d) => d.actor)).toEqual([BYSTANDER]);
  });

  it("when an approver reached through a user group approves, then the exact release is promoted and the outcome shown", async () => {
    const shipped = await setup();
    const message = await requestViaCommand();
    await h.click(GROUP_APPROVER, message, ACTIONS.approve);
    const done = await finalMessage(message.ts, /Promoted/);
    expect(messageText(done)).toMatch(/whitewave-prod now runs v\d+/);
    expect(buttonValue(done, ACTIONS.approve)).toBeUndefined();
    expect(promotionPosts()).toHaveLength(1);
    expect(promotionPosts()[0]?.body).toEqual({
      pipeline: { id: h.ids.pipeline },
      source: { app: { id: h.ids.staging }, release: { id: shipped.releaseId } },
      targets: [{ app: { id: h.ids.production } }],
    });
    expect(h.heroku.currentRelease(h.ids.production)?.slug?.id).toBe(h.heroku.currentRelease(h.ids.staging)?.slug?.id);
    const reply = await h.slack.waitFor(() => h.slack.replies(message.channel, message.ts)[0]);
    expect(reply.text + JSON.stringify(reply.blocks)).toContain(`<@${REQUESTER}>`);
    const events = (await h.bot.store.db.selectFrom("audit").select(["event", "actor"]).orderBy("id").execute()).map(
      (e) => `${e.event}:${e.actor ?? "-"}`,
    );
    expect(events).toEqual([
      `requested:${REQUESTER}`,
      `approved:${GROUP_APPROVER}`,
      "promoting:-",
      "promotion_created:-",
      "succeeded:-",
    ]);
  });

  it("when two approvals are required, then one approver twice counts once and a second approver completes it", async () => {
    await setup({ requiredApprovals: 2 });
    const message = await requestViaCommand();
    await h.click(APPROVER_A, message, ACTIONS.approve);
    await finalMessage(message.ts, /1 of 2/);
    await h.click(APPROVER_A, message, ACTIONS.approve);
    await answer(APPROVER_A, /already approved/);
    expect(promotionPosts()).toHaveLength(0);
    await h.click(APPROVER_B, message, ACTIONS.approve);
    await finalMessage(message.ts, /Promoted/);
    expect(promotionPosts()).toHaveLength(1);
  });

  it("when 20 Approve clicks arrive at once, then exactly one promotion of the approved release is posted", async () => {
    const shipped = await setup({ requiredApprovals: 2 });
    const message = await requestViaCommand();
    const clickers = [APPROVER_A, APPROVER_B, GROUP_APPROVER];
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => h.click(clickers[i % clickers.length]!, message, ACTIONS.approve)),
    );
    expect(responses.every((r) => r.status === 200)).toBe(true);
    await finalMessage(message.ts, /Promoted/);
    await h.bot.bot.worker.idle();
    expect(promotionPosts()).toHaveLength(1);
    expect((promotionPosts()[0]!.body as { source: { release: { id: string } } }).source.release.id).toBe(
      shipped.releaseId,
    );
  });

  it("when the requester is an approver, self-approval is allowed and one approval is needed, then it promotes without a second click", async () => {
    await setup({ allowSelfApproval: true, requiredApprovals: 1 });
    await h.slash(APPROVER_A, "whitewave");
    await h.slack.waitFor(() => h.channelMessages().find((m) => /Promoted/.test(messageText(m))));
    expect(promotionPosts()).toHaveLength(1);
  });

  it("when self-approval is allowed but Slack fails the approvers' user group lookup, then nothing is approved, the requester is told why and the request waits for an approval", async () => {
    await setup({ allowSelfApproval: true, requiredApprovals: 1 });
    // GROUP_APPROVER is an approver only through the @releasers group, so only Slack can say so.
    h.slack.fault({
      path: "/api/usergroups.users.list",
      times: 1_000,
      response: { status: 200, body: { ok: false, error: "fatal_error" } },
    });
    await h.slash(GROUP_APPROVER, "whitewave");
    const text = await answer(GROUP_APPROVER, /Requested the promotion/);
    expect(text).toMatch(/could not check with Slack whether you are an approver/);
    expect(text).toMatch(/waits for an approval/);
    const message = approvalMessage();
    expect(message).toBeDefined();
    expect(buttonValue(message!, ACTIONS.approve)).toBeDefined();
    expect(promotionPosts()).toHaveLength(0);
    expect(h.logs.text).toMatch(/could not check whether the requester is an approver/);
    const request = await h.bot.store.db.selectFrom("requests").select(["state"]).executeTakeFirstOrThrow();
    expect(request.state).toBe("pending");

    // Once Slack answers again, an approval goes through as usual.
    h.slack.clearFaults();
    await h.click(APPROVER_A, message!, ACTIONS.approve);
    await finalMessage(message!.ts, /Promoted/);
    expect(promotionPosts()).toHaveLength(1);
  });

  it("when staging moved on after the request, then the approved release is still the one promoted", async () => {
    const shipped = await setup();
    const message = await requestViaCommand();
    h.shipToStaging("Newer, not approved");
    await h.click(APPROVER_A, message, ACTIONS.approve);
    await finalMessage(message.ts, /Promoted/);
    expect((promotionPosts()[0]!.body as { source: { release: { id: string } } }).source.release.id).toBe(
      shipped.releaseId,
    );
  });
});

describe("a request message Slack failed to post", () => {
  it("when Slack fails the request's first post and the request is cancelled before the sweep's grace, the message is still posted, showing it cancelled", async () => {
    h = await e2e.start({ tuning: { messageGraceMs: 500 } });
    h.shipToStaging("Unlucky post");
    h.slack.fault({
      path: "/api/chat.postMessage",
      times: 1,
      response: { status: 200, body: { ok: false, error: "service_unavailable" } },
    });
    await h.slash(REQUESTER, "whitewave");
    await h.slack.waitFor(() => h.slack.callsTo("POST", "/api/chat.postMessage").length >= 1, 10_000);
    await h.slash(REQUESTER, "cancel whitewave");
    await answer(REQUESTER, /Cancelled the request/);
    const shown = await h.slack.waitFor(
      () => h.channelMessages().find((m) => /Cancelled/.test(messageText(m))),
      10_000,
    );
    expect(buttonValue(shown, ACTIONS.approve)).toBeUndefined();
    await h.bot.bot.worker.idle();
    expect(h.channelMessages().filter((m) => /Promotion requested|Cancelled/.test(messageText(m)))).toHaveLength(1);
  });
});

describe("a request message Slack showed but whose answer was lost", () => {
  it("when Slack posts the request's message and then answers an error, the sweep finds that message and shows the request in it instead of posting it again", async () => {
    h = await e2e.start({ tuning: { messageGraceMs: 500 } });
    h.shipToStaging("Posted, answer lost");
    // Slack acted (the message is in the channel) and then said it failed: an ok:false is not retried
    // by WebClient, so the bot takes the post as failed and leaves it to the sweep.
    h.slack.fault({
      path: "/api/chat.postMessage",
      times: 1,
      answerAfterHandling: { status: 200, body: { ok: false, error: "internal_error" } },
    });
    await h.slash(REQUESTER, "whitewave");
    await h.slack.waitFor(() => h.slack.callsTo("POST", "/api/conversations.history").length >= 1, 10_000);
    await h.bot.bot.worker.idle();
    const shown = h.channelMessages().filter((m) => /Promotion requested/.test(messageText(m)));
    expect(shown).toHaveLength(1);
    const message = await h.slack.waitFor(() => approvalMessage(), 5_000);
    expect(message.ts).toBe(shown[0]!.ts);
    await h.click(APPROVER_A, message, ACTIONS.approve);
    await finalMessage(message.ts, /Promoted/);
    expect(promotionPosts()).toHaveLength(1);
    expect(h.channelMessages().filter((m) => /Promot/.test(messageText(m)))).toHaveLength(1);
  });

  it("when the bot cannot read the channel's history, it posts the message again and warns what to grant", async () => {
    h = await e2e.start({ tuning: { messageGraceMs: 500 } });
    h.slack.scopes = h.slack.scopes.filter((s) => s !== "channels:history");
    h.shipToStaging("Posted, answer lost, history unreadable");
    h.slack.fault({
      path: "/api/chat.postMessage",
      times: 1,
      answerAfterHandling: { status: 200, body: { ok: false, error: "internal_error" } },
    });
    await h.slash(REQUESTER, "whitewave");
    await h.slack.waitFor(
      () => h.channelMessages().filter((m) => /Promotion requested/.test(messageText(m))).length >= 2,
      10_000,
    );
    expect(h.logs.text).toMatch(/channels:history/);
    // Either copy's button decides the one stored request; the copy the bot knows shows the outcome.
    const [orphan, known] = h.channelMessages();
    await h.click(APPROVER_A, orphan!, ACTIONS.approve);
    await finalMessage(known!.ts, /Promoted/);
    expect(promotionPosts()).toHaveLength(1);
  });
});

describe("denied clicks", () => {
  it("when someone keeps clicking a finished request's button, one audit row per person and minute is written and the message is not re-rendered", async () => {
    await setup();
    const message = await requestViaCommand();
    const id = buttonValue(message, ACTIONS.approve) as string;
    const stale = structuredClone(message);
    await h.click(APPROVER_A, message, ACTIONS.approve);
    await finalMessage(message.ts, /Promoted/);
    await h.bot.bot.worker.idle();
    const updates = () =>
      h.slack.callsTo("POST", "/api/chat.update").filter((c) => (c.body as { ts?: string })?.ts === message.ts).length;
    const before = updates();
    for (let i = 0; i < 3; i++) {
      await h.click(BYSTANDER, stale, ACTIONS.approve);
      await answer(BYSTANDER, /no longer be decided|already promoted/);
    }
    await h.click(APPROVER_B, stale, ACTIONS.approve);
    await answer(APPROVER_B, /no longer be decided|already promoted/);
    await h.bot.bot.worker.idle();
    const denied = (await h.bot.store.auditFor(id)).filter((e) => e.event === "denied").map((e) => e.actor);
    expect(denied).toEqual([BYSTANDER, APPROVER_B]);
    expect(updates()).toBe(before);
  });
});

describe("the approval message", () => {
  it("when an approval arrives (from the Home tab) before the message is posted, one message is posted and it shows the approval", async () => {
    h = await e2e.start({ pipeline: { requiredApprovals: 2 } });
    h.shipToStaging("Approved before it was shown");
    h.slack.fault({ method: "POST", path: "/api/chat.postMessage", delayMs: 800 });
    await h.slash(REQUESTER, "whitewave");
    const requestId = await until("the request is stored", async () => {
      const row = await h.bot.store.db.selectFrom("requests").select("id").executeTakeFirst();
      return row?.id;
    });
    const click = homeClickBody({ userId: APPROVER_A, actionId: ACTIONS.approve, value: requestId });
    expect((await postSlack(h.url, SIGNING_SECRET, click)).status).toBe(200);
    const message = await h.slack.waitFor(() => approvalMessage(), 10_000);
    await h.messageMatching(message.ts, /1 of 2/);
    await h.bot.bot.worker.idle();
    expect(h.slack.callsTo("POST", "/api/chat.postMessage")).toHaveLength(1);
    expect(h.channelMessages()).toHaveLength(1);
  });
});

describe("ending a request", () => {
  it("when an approver rejects, then the message shows who and its buttons are gone; later clicks are told", async () => {
    await setup();
    const message = await requestViaCommand();
    const requestId = buttonValue(message, ACTIONS.approve) as string;
    await h.click(APPROVER_B, message, ACTIONS.reject);
    const done = await finalMessage(message.ts, /Rejected by/);
    expect(messageText(done)).toContain(`<@${APPROVER_B}>`);
    expect(buttonValue(done, ACTIONS.approve)).toBeUndefined();
    // A stale copy of the message (another client) still shows the button.
    await h.clickValue(APPROVER_A, message, ACTIONS.approve, requestId);
    await answer(APPROVER_A, /can no longer be decided: it was rejected/);
    expect(promotionPosts()).toHaveLength(0);
  });

  it("when the requester cancels, then the request ends cancelled", async () => {
    await setup();
    const message = await requestViaCommand();
    await h.click(REQUESTER, message, ACTIONS.cancel);
    await finalMessage(message.ts, /Cancelled by/);
    expect((await h.bot.store.db.selectFrom("requests").select("state").execute())[0]?.state).toBe("cancelled");
  });

  it("when the request expired, then approving is refused, the message says expired and nothing is promoted", async () => {
    await setup();
    const message = await requestViaCommand();
    await h.bot.store.db
      .updateTable("requests")
      .set({ expires_at: new Date(Date.now() - 1_000).toISOString() })
      .execute();
    await h.click(APPROVER_A, message, ACTIONS.approve);
    await answer(APPROVER_A, /expired/);
    await finalMessage(message.ts, /Expired/);
    expect(promotionPosts()).toHaveLength(0);
    const states = await h.bot.store.db.selectFrom("requests").select("state").execute();
    expect(states[0]?.state).toBe("expired");
  });

  it("when a click finds the request expired, then its message is updated once", async () => {
    h = await e2e.start({ tuning: { sweepIntervalMs: 600_000 } }); // no sweep gets there first
    h.shipToStaging("Too late");
    const message = await requestViaCommand();
    await h.bot.store.db
      .updateTable("requests")
      .set({ expires_at: new Date(Date.now() - 1_000).toISOString() })
      .execute();
    const updates = () => h.slack.callsTo("POST", "/api/chat.update").length;
    // The request's own first renders may still be on their way: count from when the bot is idle.
    await h.bot.bot.worker.idle();
    const before = updates();
    await h.click(APPROVER_A, message, ACTIONS.approve);
    await answer(APPROVER_A, /expired/);
    await finalMessage(message.ts, /Expired/);
    expect(updates() - before).toBe(1);
  });

  it("when a request expires with nobody clicking, then the background sweep marks it expired", async () => {
    await setup();
    const message = await requestViaCommand();
    await h.bot.store.db
      .updateTable("requests")
      .set({ expires_at: new Date(Date.now() - 1_000).toISOString() })
      .execute();
    await finalMessage(message.ts, /Expired/);
  });
});

describe("promotion outcomes and Heroku errors", () => {
  it("when an out-of-date update of the message reaches Slack after the outcome, then the message is brought back to the outcome", async () => {
    await setup();
    h.heroku.promotionBehaviour.pollsUntilDone = 1_000_000;
    const message = await requestViaCommand();
    const requestId = buttonValue(message, ACTIONS.approve) as string;
    await h.click(APPROVER_A, message, ACTIONS.approve);
    await finalMessage(message.ts, /promoting/);
    const promotionId = await until("the promotion POST is recorded", async () => {
      const row = await h.bot.store.db.selectFrom("requests").select("promotion_id").executeTakeFirst();
      return row?.promotion_id;
    });
    // A late click re-renders "promoting"; Slack receives that update only after the outcome's.
    const updates = () => h.slack.callsTo("POST", "/api/chat.update").length;
    const before = updates();
    h.slack.fault({ method: "POST", path: "/api/chat.update", delayMs: 1_500 });
    await h.clickValue(APPROVER_B, message, ACTIONS.approve, requestId);
    await h.slack.waitFor(() => updates() > before);
    h.heroku.completePromotion(promotionId);
    await h.messageMatching(message.ts, /Promoted/, 5_000);
    await answer(APPROVER_B, /already being promoted/);
    await h.bot.bot.worker.idle();
    await new Promise((r) => setTimeout(r, 1_700));
    const shown = h.slack.messages.find((m) => m.ts === message.ts);
    expect(messageText(shown as SlackMessage)).toMatch(/Promoted/);
  });

  it("when the release phase fails on the target, then the message says failed with Heroku's reason and the output tail", async () => {
    await setup();
    h.heroku.promotionBehaviour.failTargets = {
      "whitewave-prod": {
        error_message: "release command failed",
        output: 'Running migrations\nPG::UndefinedTable: ERROR: relation "users" does not exist\n',
      },
    };
    const message = await requestViaCommand();
    await h.click(APPROVER_A, message, ACTIONS.approve);
    const done = await finalMessage(message.ts, /Promotion failed/);
    const text = messageText(done);
    expect(text).toContain("release command failed");
    expect(text).toContain("relation \\&quot;users\\&quot;".replaceAll("\\&quot;", '\\"'));
    expect(text).not.toContain("Promoted:");
    expect((await h.bot.store.db.selectFrom("requests").select("state").execute())[0]?.state).toBe("failed");
  });

  it("when Heroku answers 429 then accepts, then the promotion goes through once", async () => {
    await setup();
    h.heroku.fault({
      method: "POST",
      path: "/pipeline-promotions",
      times: 1,
      response: {
        status: 429,
        headers: { "Retry-After": "0" },
        body: { id: "rate_limit", message: "Your account reached the API rate limit" },
      },
    });
    const message = await requestViaCommand();
    await h.click(APPROVER_A, message, ACTIONS.approve);
    await finalMessage(message.ts, /Promoted/);
    expect(promotionPosts()).toHaveLength(2);
    expect(h.heroku.promotions).toHaveLength(1);
  });

  it("when Heroku keeps answering 500, then the request ends failed with the reason shown, after bounded attempts", async () => {
    await setup();
    h.heroku.fault({
      method: "POST",
      path: "/pipeline-promotions",
      times: 1_000,
      response: { status: 500, body: { id: "internal_server_error", message: "Internal server error" } },
    });
    const message = await requestViaCommand();
    await h.click(APPROVER_A, message, ACTIONS.approve);
    const done = await finalMessage(message.ts, /Promotion failed/);
    expect(messageText(done)).toContain("500");
    expect(promotionPosts().length).toBeGreaterThan(1);
    expect(promotionPosts().length).toBeLessThanOrEqual(4);
    expect(h.heroku.promotions).toHaveLength(0);
  });

  it("when Heroku asks for a second factor, then the message says the token needs an account without it", async () => {
    await setup();
    const message = await requestViaCommand();
    h.heroku.requireTwoFactor = true;
    await h.click(APPROVER_A, message, ACTIONS.approve);
    const done = await finalMessage(message.ts, /Promotion failed/);
    expect(messageText(done)).toContain("without two-factor");
  });
});

describe.each(BACKENDS)("concurrency on $name", ({ create }) => {
  it("when 30 Approve clicks from three approvers race on a two-approval request, then one promotion is posted", async () => {
    const db = await create();
    try {
      h = await e2e.start({ db, pipeline: { requiredApprovals: 2 } });
      h.shipToStaging("Race");
      const message = await requestViaCommand();
      const clickers = [APPROVER_A, APPROVER_B, GROUP_APPROVER];
      await Promise.all(Array.from({ length: 30 }, (_, i) => h.click(clickers[i % 3]!, message, ACTIONS.approve)));
      await finalMessage(message.ts, /Promoted/);
      await h.bot.bot.worker.idle();
      expect(promotionPosts()).toHaveLength(1);
      const approvals = await h.bot.store.db.selectFrom("approvals").select("approver").execute();
      expect(new Set(approvals.map((a) => a.approver)).size).toBe(approvals.length);
    } finally {
      await h.close();
      await db.drop();
    }
  });
});

describe("production changed between the request and the approval", () => {
  it("when a hotfix was pushed straight to production after the request, then approving does not promote over it and the request ends saying what changed", async () => {
    await setup();
    const message = await requestViaCommand();
    const before = h.heroku.currentRelease(h.ids.production);
    const hotfix = h.heroku.deploy(h.ids.production, "f".repeat(40), { description: "Deploy hotfix" });
    await h.click(APPROVER_A, message, ACTIONS.approve);
    const done = await finalMessage(message.ts, /production changed/);
    const text = messageText(done);
    expect(text).toContain(`v${hotfix.version}`);
    expect(text).toContain(`not v${before?.version}`);
    expect(text).toContain("/promote whitewave");
    expect(promotionPosts()).toHaveLength(0);
    expect(h.heroku.currentRelease(h.ids.production)?.id).toBe(hotfix.id);
  });

  it("when Heroku cannot be read to check production before promoting, nothing is posted and the request ends saying nothing was changed", async () => {
    await setup();
    const message = await requestViaCommand();
    h.heroku.fault({
      method: "GET",
      path: `/apps/${h.ids.production}/releases`,
      times: 100,
      response: { status: 503, body: { id: "unavailable", message: "Service Unavailable" } },
    });
    await h.click(APPROVER_A, message, ACTIONS.approve);
    const done = await finalMessage(message.ts, /Promotion failed/);
    expect(messageText(done)).toContain("Nothing was changed");
    expect(promotionPosts()).toHaveLength(0);
  });

  it("when a hotfix is pushed while Heroku answers the first POST with 503, the next attempt is not made over it (found by the model-based test)", async () => {
    await setup();
    const message = await requestViaCommand();
    h.heroku.fault({
      method: "POST",
      path: "/pipeline-promotions",
      times: 1,
      response: { status: 503, body: { id: "unavailable", message: "Service Unavailable" } },
    });
    await h.click(APPROVER_A, message, ACTIONS.approve);
    await h.slack.waitFor(() => promotionPosts().length === 1, 10_000);
    const hotfix = h.heroku.deploy(h.ids.production, "e".repeat(40), { description: "Deploy hotfix" });
    const done = await finalMessage(message.ts, /production changed/);
    expect(messageText(done)).toContain(`v${hotfix.version}`);
    expect(promotionPosts()).toHaveLength(1);
    expect(h.heroku.promotions).toHaveLength(0);
    expect(h.heroku.currentRelease(h.ids.production)?.id).toBe(hotfix.id);
  });

  it("when only a config var changed production (a release of the same build), then the promotion goes ahead", async () => {
    await setup();
    const message = await requestViaCommand();
    const current = h.heroku.currentRelease(h.ids.production);
    const slugId = current?.slug?.id as string;
    h.heroku.deploy(h.ids.production, h.heroku.slugCommit(slugId) as string, {
      slugId,
      description: "Set LOG_LEVEL config vars",
    });
    await h.click(APPROVER_A, message, ACTIONS.approve);
    await finalMessage(message.ts, /Promoted/);
    expect(promotionPosts()).toHaveLength(1);
  });
});

describe("recognising an earlier POST", () => {
  it("when the POST answers 503 and production ran the same build before, that old release is not taken for the promotion", async () => {
    h = await e2e.start();
    const shipped = h.shipToStaging("Back and forth");
    const staged = h.heroku.currentRelease(h.ids.staging)!;
    // Production ran this build once, then went back to another one.
    h.heroku.deploy(h.ids.production, shipped.sha, { slugId: staged.slug!.id });
    h.heroku.deploy(h.ids.production, "b".repeat(40));
    h.heroku.fault({
      method: "POST",
      path: "/pipeline-promotions",
      times: 1,
      response: { status: 503, body: { id: "unavailable", message: "Service Unavailable" } },
    });
    const message = await requestViaCommand();
    await h.click(APPROVER_A, message, ACTIONS.approve);
    await finalMessage(message.ts, /Promoted/);
    // The 503 left nothing behind, so the bot posted again: exactly one promotion happened.
    expect(promotionPosts()).toHaveLength(2);
    expect(h.heroku.promotions).toHaveLength(1);
    expect(h.heroku.currentRelease(h.ids.production)?.slug?.id).toBe(staged.slug!.id);
  });
});

describe("an answer lost after Heroku acted", () => {
  it("when the POST's answer is lost and Heroku cannot be read for a while, the bot waits to find out instead of posting again", async () => {
    h = await e2e.start();
    h.shipToStaging("Lost in transit");
    const message = await requestViaCommand();
    // Heroku creates the promotion but the answer never arrives; then reading production's releases
    // fails for a while, past the window in which the bot looks for the promotion's trace.
    h.heroku.fault({ method: "POST", path: "/pipeline-promotions", times: 1, dropAfterHandling: true });
    h.heroku.promotionBehaviour.pollsUntilDone = 0; // it completes at Heroku without being polled
    h.heroku.fault({
      method: "GET",
      path: `/apps/${h.ids.production}/releases`,
      times: 40,
      when: () => promotionPosts().length > 0,
      response: { status: 503, body: { id: "unavailable", message: "Service Unavailable" } },
    });
    await h.click(APPROVER_A, message, ACTIONS.approve);
    await h.messageMatching(message.ts, /Promoted/, 15_000);
    expect(promotionPosts()).toHaveLength(1);
    expect(h.heroku.promotions).toHaveLength(1);
    expect(h.logs.text).toContain("could not find out whether an earlier attempt went through");
  }, 40_000);
});

describe("a promotion whose releases appear late", () => {
  it("when the POST's answer is lost and the targets' releases appear only after the POST's timeout, the bot waits for them and does not post again", async () => {
    h = await e2e.start();
    h.shipToStaging("Slow to appear");
    const message = await requestViaCommand();
    h.heroku.fault({ method: "POST", path: "/pipeline-promotions", times: 1, dropAfterHandling: true });
    // Pending with release: null for longer than the POST's timeout (300 ms here), within the trace window.
    h.heroku.promotionBehaviour.releaseDelayMs = 450;
    h.heroku.promotionBehaviour.pollsUntilDone = 0;
    await h.click(APPROVER_A, message, ACTIONS.approve);
    const done = await finalMessage(message.ts, /Promoted/);
    expect(messageText(done)).toMatch(/whitewave-prod now runs v\d+/);
    expect(promotionPosts()).toHaveLength(1);
    expect(h.heroku.promotions).toHaveLength(1);
  });

  it("when the POST answers and the targets stay pending with release: null for a while, the bot follows until they settle", async () => {
    h = await e2e.start();
    h.shipToStaging("Pending without a release");
    const message = await requestViaCommand();
    h.heroku.promotionBehaviour.releaseDelayMs = 500;
    await h.click(APPROVER_A, message, ACTIONS.approve);
    const done = await finalMessage(message.ts, /Promoted/);
    expect(messageText(done)).toMatch(/whitewave-prod now runs v\d+/);
    expect(promotionPosts()).toHaveLength(1);
  });
});

describe("the last POST attempt", () => {
  const unavailable = { status: 503, body: { id: "unavailable", message: "Service Unavailable" } };

  it("when three POSTs answer 503 and the fourth reaches Heroku but its answer is lost, the bot finds the promotion instead of failing the request", async () => {
    h = await e2e.start();
    h.shipToStaging("Fourth time lucky");
    // Heroku finishes it by itself; the bot, not knowing the promotion's id, follows the releases.
    h.heroku.promotionBehaviour.pollsUntilDone = 0;
    const message = await requestViaCommand();
    h.heroku.fault({ method: "POST", path: "/pipeline-promotions", times: 3, response: unavailable });
    h.heroku.fault({ method: "POST", path: "/pipeline-promotions", times: 1, dropAfterHandling: true });
    await h.click(APPROVER_A, message, ACTIONS.approve);
    const done = await h.messageMatching(message.ts, /Promoted|failed/i, 20_000);
    expect(messageText(done)).toMatch(/Promoted/);
    expect(promotionPosts()).toHaveLength(4);
    expect(h.heroku.promotions).toHaveLength(1);
  }, 30_000);

  it("when Heroku acts and answers 2xx with a body the bot cannot read, the request is not failed and nothing is posted again", async () => {
    h = await e2e.start();
    h.shipToStaging("Odd answer");
    // Heroku finishes it by itself; the bot, not knowing the promotion's id, follows the releases.
    h.heroku.promotionBehaviour.pollsUntilDone = 0;
    const message = await requestViaCommand();
    h.heroku.fault({
      method: "POST",
      path: "/pipeline-promotions",
      times: 1,
      answerAfterHandling: { status: 201, body: "<html>upstream said ok</html>" },
    });
    await h.click(APPROVER_A, message, ACTIONS.approve);
    const done = await h.messageMatching(message.ts, /Promoted|failed/i, 20_000);
    expect(messageText(done)).toMatch(/Promoted/);
    expect(promotionPosts()).toHaveLength(1);
    expect(h.heroku.promotions).toHaveLength(1);
  }, 30_000);

  it("when Heroku acts and then answers 503, the bot follows that promotion and does not post a second one", async () => {
    h = await e2e.start();
    h.shipToStaging("Said no, did yes");
    // Heroku finishes it by itself; the bot, not knowing the promotion's id, follows the releases.
    h.heroku.promotionBehaviour.pollsUntilDone = 0;
    const message = await requestViaCommand();
    h.heroku.fault({ method: "POST", path: "/pipeline-promotions", times: 1, answerAfterHandling: unavailable });
    await h.click(APPROVER_A, message, ACTIONS.approve);
    const done = await h.messageMatching(message.ts, /Promoted|failed/i, 20_000);
    expect(messageText(done)).toMatch(/Promoted/);
    expect(promotionPosts()).toHaveLength(1);
    expect(h.heroku.promotions).toHaveLength(1);
  }, 30_000);
});

describe("DRY_RUN", () => {
  it("runs the whole flow but, once approved, says what it would have done instead of promoting", async () => {
    h = await e2e.start({ env: { DRY_RUN: "true" } });
    h.shipToStaging("Try me");
    expect(h.logs.text).toContain("DRY RUN");
    const message = await requestViaCommand();
    const id = buttonValue(message, ACTIONS.approve) as string;
    await h.click(APPROVER_A, message, ACTIONS.approve);
    const done = await finalMessage(message.ts, /dry run, nothing changed/);
    expect(messageText(done)).toContain("POST /pipeline-promotions promoting whitewave-staging");
    expect(buttonValue(done, ACTIONS.rollback)).toBeUndefined();
    expect(promotionPosts()).toHaveLength(0);
    expect(h.heroku.promotions).toHaveLength(0);
    // A dry run is its own outcome: not stored or shown as a promotion that succeeded.
    expect((await h.bot.store.getRequest(id))?.state).toBe("dry_run");
    await h.slash(REQUESTER, "status whitewave");
    expect(await answer(REQUESTER, /No promotion has finished yet|Last promotion/)).toContain(
      "No promotion has finished yet",
    );
  });
});

describe("an outcome the bot cannot establish", () => {
  /** A promotion Heroku accepted but that stays pending past the follow limit. */
  async function stuckPromotion(): Promise<SlackMessage> {
    h = await e2e.start({ tuning: { followLimitMs: 600 } });
    h.shipToStaging("Slow release phase");
    h.heroku.promotionBehaviour.pollsUntilDone = 1_000_000;
    const message = await requestViaCommand();
    await h.click(APPROVER_A, message, ACTIONS.approve);
    return h.messageMatching(message.ts, /outcome unknown/i, 10_000);
  }

  it("when the promotion does not end within the follow limit, the request says the outcome is unknown (never failed), with a link to check and approver buttons", async () => {
    const unknown = await stuckPromotion();
    const id = buttonValue(unknown, ACTIONS.retryUnknown) as string;
    const text = messageText(unknown);
    expect(text).toContain("Heroku had not finished the promotion");
    expect(text).toContain("https://dashboard.heroku.com/apps/whitewave-prod/activity");
    expect(text).not.toMatch(/Promotion failed|Promoted/);
    for (const action of [ACTIONS.recordSucceeded, ACTIONS.recordFailed, ACTIONS.retryUnknown]) {
      expect(buttonValue(unknown, action)).toBeDefined();
    }
    // It holds the pipeline: a new request is refused, saying why.
    await h.slash(REQUESTER, "whitewave");
    await answer(REQUESTER, /outcome is unknown/);
    // Only approvers may answer it.
    await h.click(BYSTANDER, unknown, ACTIONS.recordSucceeded);
    await answer(BYSTANDER, /Only the approvers of \*whitewave\*/);
    expect((await h.bot.store.getRequest(id))?.state).toBe("unknown");
  });

  it("when the POST's answer is lost and Heroku stays unreadable past the follow limit, the request says the outcome is unknown instead of staying promoting", async () => {
    h = await e2e.start({ tuning: { followLimitMs: 1_500 } });
    h.shipToStaging("Heroku unreadable");
    const message = await requestViaCommand();
    h.heroku.fault({ method: "POST", path: "/pipeline-promotions", times: 1, dropAfterHandling: true });
    // From the POST on (the check of what production runs before it still reads it).
    h.heroku.fault({
      method: "GET",
      path: `/apps/${h.ids.production}/releases`,
      times: Number.POSITIVE_INFINITY,
      when: () => promotionPosts().length > 0,
      response: { status: 503, body: { id: "unavailable", message: "Service Unavailable" } },
    });
    await h.click(APPROVER_A, message, ACTIONS.approve);
    const unknown = await h.messageMatching(message.ts, /outcome unknown/i, 15_000);
    expect(messageText(unknown)).toContain("could not find out whether its attempt went through");
    expect(buttonValue(unknown, ACTIONS.retryUnknown)).toBeDefined();
    expect(promotionPosts()).toHaveLength(1);
  }, 30_000);

  it("when an approver tries again after Heroku finished, the bot finds the promotion and reports it without posting again", async () => {
    const unknown = await stuckPromotion();
    const id = buttonValue(unknown, ACTIONS.retryUnknown) as string;
    const promotion = h.heroku.promotions[0];
    h.heroku.completePromotion(promotion?.id as string);
    await h.click(APPROVER_B, unknown, ACTIONS.retryUnknown);
    const done = await finalMessage(unknown.ts, /Promoted/);
    expect(messageText(done)).toMatch(/whitewave-prod now runs v\d+/);
    expect(promotionPosts()).toHaveLength(1);
    const events = (await h.bot.store.auditFor(id)).map((e) => `${e.event}:${e.actor ?? "-"}`);
    expect(events).toContain("outcome_unknown:-");
    expect(events).toContain(`retried:${APPROVER_B}`);
  });

  it("when an approver records that it went through, the request ends succeeded, audited with who recorded it", async () => {
    const unknown = await stuckPromotion();
    const id = buttonValue(unknown, ACTIONS.recordSucceeded) as string;
    await h.click(APPROVER_A, unknown, ACTIONS.recordSucceeded);
    const done = await finalMessage(unknown.ts, /Recorded as gone through/);
    expect(messageText(done)).toContain(`<@${APPROVER_A}>`);
    expect(buttonValue(done, ACTIONS.retryUnknown)).toBeUndefined();
    expect((await h.bot.store.getRequest(id))?.state).toBe("succeeded");
    expect((await h.bot.store.auditFor(id)).map((e) => `${e.event}:${e.actor ?? "-"}`)).toContain(
      `outcome_recorded:${APPROVER_A}`,
    );
    expect(promotionPosts()).toHaveLength(1);
  });
});
