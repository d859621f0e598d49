import type { AddressInfo } from "node:net";
import { App, isValidSlackRequest, LogLevel, verifySlackRequest } from "@slack/bolt";
import { ErrorCode, WebClient, WebClientEvent } from "@slack/web-api";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  RESPONSE_URL_MAX_USES,
  RESPONSE_URL_TTL_MS,
  SLACK_BOT_ID,
  SLACK_BOT_USER_ID,
  SLACK_TEAM_ID,
  SlackStandIn,
} from "./slack.js";
import { blockActionBody, postSlack, signSlackRequest, slashCommandBody } from "./slack-requests.js";

const CHANNEL = "C0DEPLOYS1";
const ALICE = "U0ALICE001";
const BOB = "U0BOB00001";

const approvalBlocks = [
  { type: "section", text: { type: "mrkdwn", text: "*whitewave* staging -> production" } },
  {
    type: "actions",
    block_id: "decision",
    elements: [
      { type: "button", action_id: "approve", text: { type: "plain_text", text: "Approve" }, value: "req-1" },
      {
        type: "button",
        action_id: "reject",
        style: "danger",
        text: { type: "plain_text", text: "Reject" },
        value: "req-1",
      },
    ],
  },
];

function platformError(error: unknown): string | undefined {
  const data = (error as { data?: { error?: string } }).data;
  return data?.error;
}

describe("SlackStandIn", () => {
  let slack: SlackStandIn;
  let client: WebClient;

  beforeEach(async () => {
    slack = new SlackStandIn();
    await slack.start();
    slack.addChannel(CHANNEL, { name: "deploys" });
    client = new WebClient("xoxb-test-token", {
      slackApiUrl: slack.apiUrl,
      logLevel: LogLevel.ERROR,
      retryConfig: { retries: 0 },
    });
  });

  afterEach(async () => {
    await slack.close();
  });

  describe("through the real WebClient", () => {
    it("posts a message, updates it in place and threads a reply under it", async () => {
      const posted = await client.chat.postMessage({ channel: CHANNEL, text: "Promote?", blocks: approvalBlocks });

      expect(posted.ok).toBe(true);
      expect(posted.channel).toBe(CHANNEL);
      // Slack's ts: the epoch seconds it was posted at, and a sequence within them.
      expect(posted.ts).toMatch(/^\d{10}\.\d{6}$/);
      expect(Math.abs(Number(posted.ts) - Date.now() / 1000)).toBeLessThan(5);
      expect(posted.message).toMatchObject({
        type: "message",
        text: "Promote?",
        user: SLACK_BOT_USER_ID,
        bot_id: SLACK_BOT_ID,
        ts: posted.ts,
      });
      // Slack names blocks that come without a block_id; given ids are kept.
      const blocks = posted.message?.blocks as Array<{ block_id: string }>;
      expect(blocks[0]?.block_id).toMatch(/^\S{5}$/);
      expect(blocks[1]?.block_id).toBe("decision");

      const ts = posted.ts as string;
      const updated = await client.chat.update({ channel: CHANNEL, ts, text: "Approved by Alice" });
      expect(updated).toMatchObject({ ok: true, channel: CHANNEL, ts, text: "Approved by Alice" });

      const reply = await client.chat.postMessage({ channel: CHANNEL, thread_ts: ts, text: "Promotion started" });
      expect(reply.message?.thread_ts).toBe(ts);
      expect(reply.message?.parent_user_id).toBe(SLACK_BOT_USER_ID);

      const [message] = slack.topLevel(CHANNEL);
      expect(slack.topLevel(CHANNEL)).toHaveLength(1);
      expect(message?.text).toBe("Approved by Alice");
      // chat.update without `blocks` keeps the previous blocks.
      expect(message?.blocks).toHaveLength(2);
      expect(message?.edited?.user).toBe(SLACK_BOT_USER_ID);
      expect(message?.history.map((h) => h.text)).toEqual(["Promote?", "Approved by Alice"]);
      expect(slack.replies(CHANNEL, ts).map((m) => m.text)).toEqual(["Promotion started"]);
      expect(slack.messages.map((m) => m.ts)).toEqual([ts, reply.ts]);
      expect(Number(reply.ts)).toBeGreaterThan(Number(ts));
    });

    it("removes blocks when chat.update sends an empty list", async () => {
      const posted = await client.chat.postMessage({ channel: CHANNEL, text: "Promote?", blocks: approvalBlocks });
      await client.chat.update({ channel: CHANNEL, ts: posted.ts as string, text: "Done", blocks: [] });
      expect(slack.messages[0]?.blocks).toEqual([]);
    });

    it("sends an ephemeral message with chat.postEphemeral", async () => {
      const result = await client.chat.postEphemeral({ channel: CHANNEL, user: ALICE, text: "Only you can see this" });

      expect(result.ok).toBe(true);
      expect(result.message_ts).toMatch(/^\d{10}\.\d{6}$/);
      expect(slack.ephemerals).toEqual([
        expect.objectContaining({
          via: "chat.postEphemeral",
          user: ALICE,
          channel: CHANNEL,
          text: "Only you can see this",
        }),
      ]);
      expect(slack.messages).toEqual([]);
    });

    it("receives form-urlencoded calls with a bearer token and JSON-encoded blocks", async () => {
      await client.chat.postMessage({ channel: CHANNEL, text: "Promote?", blocks: approvalBlocks });

      const [call] = slack.callsTo("POST", "/api/chat.postMessage");
      expect(call?.headers["content-type"]).toBe("application/x-www-form-urlencoded");
      expect(call?.headers.authorization).toBe("Bearer xoxb-test-token");
      const form = call?.body as Record<string, string>;
      expect(JSON.parse(form.blocks ?? "")).toEqual(approvalBlocks);
    });

    it("answers a wrong token with invalid_auth and no token with not_authed", async () => {
      const wrong = new WebClient("xoxb-wrong", { slackApiUrl: slack.apiUrl, logLevel: LogLevel.ERROR });
      const error = await wrong.auth.test().catch((e: unknown) => e);
      expect((error as { code?: string }).code).toBe(ErrorCode.PlatformError);
      expect(platformError(error)).toBe("invalid_auth");

      const anonymous = new WebClient(undefined, { slackApiUrl: slack.apiUrl, logLevel: LogLevel.ERROR });
      expect(platformError(await anonymous.auth.test().catch((e: unknown) => e))).toBe("not_authed");
    });

    it("tells who the bot is with auth.test", async () => {
      expect(await client.auth.test()).toMatchObject({
        ok: true,
        team_id: SLACK_TEAM_ID,
        user_id: SLACK_BOT_USER_ID,
        bot_id: SLACK_BOT_ID,
        is_enterprise_install: false,
      });
    });

    it("answers Slack's errors for unknown channels, channels the bot is not in, and empty messages", async () => {
      slack.addChannel("C0OUTSIDE1", { isMember: false });
      const post = (args: Parameters<typeof client.chat.postMessage>[0]) =>
        client.chat.postMessage(args).then(
          () => "ok",
          (e: unknown) => platformError(e),
        );

      expect(await post({ channel: "C0NOWHERE1", text: "hi" })).toBe("channel_not_found");
      expect(await post({ channel: "C0OUTSIDE1", text: "hi" })).toBe("not_in_channel");
      expect(await post({ channel: CHANNEL, text: "" })).toBe("no_text");
      slack.chatWritePublic = true;
      expect(await post({ channel: "C0OUTSIDE1", text: "hi" })).toBe("ok");
      const update = await client.chat
        .update({ channel: CHANNEL, ts: "1600000000.000001", text: "x" })
        .catch((e: unknown) => platformError(e));
      expect(update).toBe("message_not_found");
    });

    it("refuses blocks beyond Block Kit limits with invalid_blocks", async () => {
      const tooMany = Array.from({ length: 51 }, () => ({ type: "divider" }));
      const longText = [{ type: "section", text: { type: "mrkdwn", text: "x".repeat(3001) } }];
      // WebClient logs Slack's "[ERROR] ..." response messages; keep the test output clean.
      const quiet = {
        debug() {},
        info() {},
        warn() {},
        error() {},
        setLevel() {},
        getLevel: () => LogLevel.ERROR,
        setName() {},
      };
      client = new WebClient("xoxb-test-token", {
        slackApiUrl: slack.apiUrl,
        logger: quiet,
        retryConfig: { retries: 0 },
      });

      const first = await client.chat.postMessage({ channel: CHANNEL, text: "t", blocks: tooMany }).catch((e) => e);
      expect(platformError(first)).toBe("invalid_blocks");
      const second = await client.chat.postMessage({ channel: CHANNEL, text: "t", blocks: longText }).catch((e) => e);
      expect(second.data.errors).toEqual(["must be less than 3001 characters [json-pointer:/blocks/0/text/text]"]);
      expect(slack.messages).toEqual([]);
    });

    it("lists the members of a user group, and answers no_such_subteam for an unknown one", async () => {
      slack.addUserGroup("S0APPROVE1", "release-approvers", [ALICE, BOB]);

      const result = await client.usergroups.users.list({ usergroup: "S0APPROVE1" });
      expect(result.users).toEqual([ALICE, BOB]);
      const unknown = await client.usergroups.users.list({ usergroup: "S0NOPE0001" }).catch((e: unknown) => e);
      expect(platformError(unknown)).toBe("no_such_subteam");
    });

    it("describes channels and users", async () => {
      slack.addUser(ALICE, "alice");

      const info = await client.conversations.info({ channel: CHANNEL });
      expect(info.channel).toMatchObject({ id: CHANNEL, name: "deploys", is_channel: true, is_member: true });
      const user = await client.users.info({ user: ALICE });
      expect(user.user).toMatchObject({ id: ALICE, name: "alice", is_bot: false });
      expect(platformError(await client.users.info({ user: BOB }).catch((e: unknown) => e))).toBe("user_not_found");
    });

    it("answers conversations.info for a private channel with missing_scope, needed and provided without groups:read", async () => {
      slack.addChannel("C0PRIVATE1", { name: "secret-releases", isPrivate: true, isMember: true });
      await expect(client.conversations.info({ channel: "C0PRIVATE1" })).resolves.toMatchObject({
        channel: { is_private: true },
      });
      slack.scopes = slack.scopes.filter((scope) => scope !== "groups:read");
      const error = (await client.conversations.info({ channel: "C0PRIVATE1" }).catch((e: unknown) => e)) as {
        data?: Record<string, unknown>;
      };
      expect(error.data).toMatchObject({ ok: false, error: "missing_scope", needed: "groups:read" });
      expect(String(error.data?.provided).split(",")).toContain("channels:read");
      expect(String(error.data?.provided).split(",")).not.toContain("groups:read");
      // A public channel still answers: it needs channels:read only.
      await expect(client.conversations.info({ channel: CHANNEL })).resolves.toMatchObject({ ok: true });
      const auth = await client.auth.test();
      expect(auth.response_metadata?.scopes).not.toContain("groups:read");
    });

    it("is waited out by WebClient when it answers 429 with Retry-After", async () => {
      const patient = new WebClient("xoxb-test-token", {
        slackApiUrl: slack.apiUrl,
        logLevel: LogLevel.ERROR,
        retryConfig: { retries: 2, minTimeout: 0, maxTimeout: 0 },
      });
      const waits: number[] = [];
      patient.on(WebClientEvent.RATE_LIMITED, (seconds: number) => waits.push(seconds));
      slack.rateLimit("chat.postMessage", { retryAfterSeconds: 1 });

      const started = Date.now();
      const result = await patient.chat.postMessage({ channel: CHANNEL, text: "eventually" });

      expect(result.ok).toBe(true);
      expect(waits).toEqual([1]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expect(slack.callsTo("POST", "/api/chat.postMessage")).toHaveLength(2);
      expect(slack.messages).toHaveLength(1);
    });

    it("reports the 429 as a rate-limit error when WebClient is told to reject rate-limited calls", async () => {
      const impatient = new WebClient("xoxb-test-token", {
        slackApiUrl: slack.apiUrl,
        logLevel: LogLevel.ERROR,
        rejectRateLimitedCalls: true,
      });
      slack.rateLimit("chat.update", { retryAfterSeconds: 30 });

      const error = await impatient.chat.update({ channel: CHANNEL, ts: "1", text: "x" }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: ErrorCode.RateLimitedError, retryAfter: 30 });
    });
  });

  describe("message metadata and conversations.history", () => {
    const tagged = (requestId: string) => ({
      event_type: "promote_bot_request",
      event_payload: { request_id: requestId },
    });

    it("keeps a message's metadata through updates and returns it from the history when asked", async () => {
      const first = await client.chat.postMessage({ channel: CHANNEL, text: "one", metadata: tagged("r1") });
      await client.chat.postMessage({ channel: CHANNEL, text: "plain" });
      await client.chat.update({ channel: CHANNEL, ts: first.ts as string, text: "one, updated" });
      const reply = await client.chat.postMessage({ channel: CHANNEL, thread_ts: first.ts as string, text: "reply" });

      const history = await client.conversations.history({ channel: CHANNEL, include_all_metadata: true });
      // Newest first, thread replies left out.
      expect(history.messages?.map((m) => m.text)).toEqual(["plain", "one, updated"]);
      expect(history.messages?.map((m) => m.ts)).not.toContain(reply.ts);
      expect(history.messages?.[1]?.metadata).toEqual(tagged("r1"));
      expect(history.has_more).toBe(false);

      const bare = await client.conversations.history({ channel: CHANNEL });
      expect(bare.messages?.every((m) => m.metadata === undefined)).toBe(true);
    });

    it("selects by time with oldest and pages with a cursor", async () => {
      const early = await client.chat.postMessage({ channel: CHANNEL, text: "early" });
      for (let i = 0; i < 3; i++) await client.chat.postMessage({ channel: CHANNEL, text: `m${i}` });
      const since = await client.conversations.history({ channel: CHANNEL, oldest: early.ts as string });
      expect(since.messages?.map((m) => m.text)).toEqual(["m2", "m1", "m0"]);

      const page1 = await client.conversations.history({ channel: CHANNEL, limit: 2 });
      expect(page1.messages?.map((m) => m.text)).toEqual(["m2", "m1"]);
      expect(page1.has_more).toBe(true);
      const page2 = await client.conversations.history({
        channel: CHANNEL,
        limit: 2,
        cursor: page1.response_metadata?.next_cursor as string,
      });
      expect(page2.messages?.map((m) => m.text)).toEqual(["m0", "early"]);
      expect(page2.has_more).toBe(false);
      const future = await client.conversations.history({ channel: CHANNEL, oldest: String(Date.now() / 1000 + 60) });
      expect(future.messages).toEqual([]);
    });

    it("refuses malformed metadata, a channel the bot is not in, and a token without the history scope", async () => {
      await expect(
        client.chat.postMessage({ channel: CHANNEL, text: "x", metadata: { event_type: "t" } as never }),
      ).rejects.toSatisfy((e) => platformError(e) === "invalid_metadata_format");

      slack.addChannel("C0OUTSIDE1", { isMember: false });
      await expect(client.conversations.history({ channel: "C0OUTSIDE1" })).rejects.toSatisfy(
        (e) => platformError(e) === "not_in_channel",
      );
      slack.scopes = slack.scopes.filter((x) => x !== "channels:history");
      await expect(client.conversations.history({ channel: CHANNEL })).rejects.toSatisfy(
        (e) => platformError(e) === "missing_scope",
      );
    });
  });

  describe("with JSON bodies", () => {
    const postJson = (method: string, body: object, token?: string) =>
      fetch(`${slack.apiUrl}${method}`, {
        method: "POST",
        headers: {
          "content-type": "application/json; charset=utf-8",
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(body),
      }).then((r) => r.json() as Promise<Record<string, unknown>>);

    it("accepts them on write methods with the token in the Authorization header", async () => {
      const result = await postJson(
        "chat.postMessage",
        { channel: CHANNEL, blocks: approvalBlocks },
        "xoxb-test-token",
      );
      expect(result).toMatchObject({ ok: true, channel: CHANNEL });
      expect(slack.messages[0]?.blocks).toHaveLength(2);
    });

    it("does not read a token from a JSON body", async () => {
      const result = await postJson("chat.postMessage", { token: "xoxb-test-token", channel: CHANNEL, text: "x" });
      expect(result).toEqual({ ok: false, error: "not_authed" });
    });

    it("ignores JSON arguments on read methods, as Slack does", async () => {
      const result = await postJson("conversations.info", { channel: CHANNEL }, "xoxb-test-token");
      expect(result).toEqual({ ok: false, error: "channel_not_found" });
    });
  });

  describe("response_url", () => {
    const respond = (url: string, body: object) =>
      fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

    it("records every use and refuses a sixth one", async () => {
      const url = slack.responseUrl({ channel: CHANNEL, user: ALICE });
      const statuses: number[] = [];
      for (let i = 1; i <= RESPONSE_URL_MAX_USES + 1; i += 1) {
        statuses.push((await respond(url, { text: `update ${i}`, response_type: "ephemeral" })).status);
      }

      expect(statuses).toEqual([200, 200, 200, 200, 200, 404]);
      expect(slack.ephemerals).toHaveLength(5);
      expect(slack.ephemerals[0]).toMatchObject({
        via: "response_url",
        user: ALICE,
        channel: CHANNEL,
        text: "update 1",
        response_type: "ephemeral",
        url,
      });
    });

    it("expires after 30 minutes", async () => {
      let now = 1_000_000;
      const clocked = new SlackStandIn({ now: () => now });
      await clocked.start();
      try {
        const url = clocked.responseUrl();
        now += RESPONSE_URL_TTL_MS + 1;
        const response = await respond(url, { text: "too late" });
        expect(response.status).toBe(404);
        expect(await response.text()).toBe("expired_url");
      } finally {
        await clocked.close();
      }
    });

    it("replaces, deletes or adds channel messages like Slack", async () => {
      const posted = await client.chat.postMessage({ channel: CHANNEL, text: "Promote?", blocks: approvalBlocks });
      const ts = posted.ts as string;

      const replace = slack.responseUrl({ channel: CHANNEL, user: ALICE, messageTs: ts });
      await respond(replace, { replace_original: true, text: "Approved" });
      expect(slack.messages[0]).toMatchObject({ text: "Approved", blocks: [] });

      const inChannel = slack.responseUrl({ channel: CHANNEL, user: ALICE });
      await respond(inChannel, { response_type: "in_channel", text: "Alice asked for a promotion" });
      expect(slack.topLevel(CHANNEL).map((m) => m.text)).toEqual(["Approved", "Alice asked for a promotion"]);

      await respond(replace, { delete_original: true });
      expect(slack.topLevel(CHANNEL).map((m) => m.text)).toEqual(["Alice asked for a promotion"]);
    });

    it("answers 400 no_text to an empty response", async () => {
      const response = await respond(slack.responseUrl(), { response_type: "ephemeral" });
      expect(response.status).toBe(400);
      expect(slack.ephemerals).toEqual([]);
    });
  });

  describe("waitFor", () => {
    it("resolves with the first truthy value of the condition", async () => {
      setTimeout(() => void client.chat.postMessage({ channel: CHANNEL, text: "later" }), 30);
      const message = await slack.waitFor(() => slack.messages.find((m) => m.text === "later"));
      expect(message.ts).toMatch(/^\d{10}\.\d{6}$/);
    });

    it("says what it saw when the condition is never met", async () => {
      await client.chat.postMessage({ channel: CHANNEL, text: "something else" });
      await expect(slack.waitFor(() => slack.messages.find((m) => m.text === "never"), 50)).rejects.toThrow(
        /not met within 50 ms[\s\S]*"something else"/,
      );
    });
  });
});

describe("signed requests", () => {
  const secret = "test-signing-secret";

  it("are accepted by Bolt's verifier", () => {
    const body = slashCommandBody({ userId: ALICE, channelId: CHANNEL, text: "whitewave", responseUrl: "http://x" });
    const headers = signSlackRequest(secret, body);

    expect(() =>
      verifySlackRequest({
        signingSecret: secret,
        body,
        headers: {
          "x-slack-signature": headers["x-slack-signature"] ?? "",
          "x-slack-request-timestamp": Number(headers["x-slack-request-timestamp"]),
        },
      }),
    ).not.toThrow();
  });

  it("are rejected by Bolt's verifier once tampered with or stale", () => {
    const body = slashCommandBody({ userId: ALICE, channelId: CHANNEL, text: "whitewave", responseUrl: "http://x" });
    const now = Math.floor(Date.now() / 1000);
    const check = (rawBody: string, timestamp: number, signedBody = rawBody) => {
      const headers = signSlackRequest(secret, signedBody, timestamp);
      return isValidSlackRequest({
        signingSecret: secret,
        body: rawBody,
        headers: {
          "x-slack-signature": headers["x-slack-signature"] ?? "",
          "x-slack-request-timestamp": timestamp,
        },
        nowMilliseconds: now * 1000,
      });
    };

    expect(check(body, now)).toBe(true);
    expect(check(body.replace("whitewave", "blackwave"), now, body)).toBe(false);
    expect(check(body, now - 6 * 60)).toBe(false);
  });

  it("carry the fields of a slash command", () => {
    const body = slashCommandBody({
      userId: ALICE,
      channelId: CHANNEL,
      text: "whitewave prod",
      responseUrl: "http://r",
    });
    const fields = new URLSearchParams(body);

    expect([...fields.keys()]).toEqual([
      "token",
      "team_id",
      "team_domain",
      "channel_id",
      "channel_name",
      "user_id",
      "user_name",
      "command",
      "text",
      "api_app_id",
      "is_enterprise_install",
      "response_url",
      "trigger_id",
    ]);
    expect(Object.fromEntries(fields)).toMatchObject({
      command: "/promote",
      text: "whitewave prod",
      user_id: ALICE,
      team_id: SLACK_TEAM_ID,
    });
  });

  it("carry a block_actions payload whose button comes from the posted message", async () => {
    const slack = new SlackStandIn();
    await slack.start();
    try {
      slack.addChannel(CHANNEL);
      const client = new WebClient("xoxb-test-token", { slackApiUrl: slack.apiUrl, logLevel: LogLevel.ERROR });
      await client.chat.postMessage({ channel: CHANNEL, text: "Promote?", blocks: approvalBlocks });
      const message = slack.messages[0];
      if (!message) throw new Error("no message");

      const body = blockActionBody({
        userId: BOB,
        channelId: CHANNEL,
        messageTs: message.ts,
        message,
        actionId: "reject",
        value: "req-1",
        responseUrl: "http://r",
      });
      const payload = JSON.parse(new URLSearchParams(body).get("payload") ?? "{}");

      expect(payload).toMatchObject({
        type: "block_actions",
        user: { id: BOB },
        container: { type: "message", message_ts: message.ts, channel_id: CHANNEL, is_ephemeral: false },
        channel: { id: CHANNEL },
        message: { ts: message.ts, bot_id: SLACK_BOT_ID, blocks: message.blocks },
        actions: [
          {
            action_id: "reject",
            block_id: "decision",
            value: "req-1",
            style: "danger",
            type: "button",
            text: { type: "plain_text", text: "Reject" },
          },
        ],
      });
      expect(payload.message.history).toBeUndefined();
    } finally {
      await slack.close();
    }
  });
});

describe("a Bolt app against the stand-in", () => {
  const secret = "bolt-signing-secret";
  let slack: SlackStandIn;
  let app: App;
  let baseUrl: string;

  beforeEach(async () => {
    slack = new SlackStandIn();
    await slack.start();
    slack.addChannel(CHANNEL);
    app = new App({
      token: "xoxb-test-token",
      signingSecret: secret,
      logLevel: LogLevel.ERROR,
      clientOptions: { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } },
    });
    app.command("/promote", async ({ ack, respond, command }) => {
      await ack();
      await respond({ text: `Promoting ${command.text}`, response_type: "ephemeral" });
    });
    app.action("approve", async ({ ack, body, client }) => {
      await ack();
      if (body.type !== "block_actions" || !body.channel || !body.message) return;
      await client.chat.update({ channel: body.channel.id, ts: body.message.ts, text: `Approved by ${body.user.id}` });
    });
    const server = await app.start(0);
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    await app.stop();
    await slack.close();
  });

  it("acknowledges a signed slash command and answers through the response_url", async () => {
    const responseUrl = slack.responseUrl({ channel: CHANNEL, user: ALICE });
    const body = slashCommandBody({ userId: ALICE, channelId: CHANNEL, text: "whitewave", responseUrl });

    const response = await postSlack(baseUrl, secret, body);

    expect(response.status).toBe(200);
    const reply = await slack.waitFor(() => slack.ephemerals[0]);
    expect(reply).toMatchObject({ via: "response_url", user: ALICE, text: "Promoting whitewave" });
  });

  it("handles a button click on a posted message", async () => {
    const posted = await app.client.chat.postMessage({ channel: CHANNEL, text: "Promote?", blocks: approvalBlocks });
    const message = slack.messages[0];
    if (!message) throw new Error("no message");
    const body = blockActionBody({
      userId: BOB,
      channelId: CHANNEL,
      messageTs: posted.ts as string,
      message,
      actionId: "approve",
      value: "req-1",
      responseUrl: slack.responseUrl({ channel: CHANNEL, user: BOB, messageTs: posted.ts as string }),
    });

    expect((await postSlack(baseUrl, secret, body)).status).toBe(200);
    await slack.waitFor(() => slack.messages[0]?.text === `Approved by ${BOB}`);
  });

  it("is refused by Bolt when the signature is wrong", async () => {
    const body = slashCommandBody({ userId: ALICE, channelId: CHANNEL, text: "x", responseUrl: slack.responseUrl() });
    const response = await postSlack(baseUrl, secret, body, { signature: "v0=deadbeef" });
    expect(response.status).toBe(401);
    expect(slack.ephemerals).toEqual([]);
  });
});
