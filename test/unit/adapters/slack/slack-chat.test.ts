/** SlackChat against the Slack stand-in through real WebClients configured as src/server.ts does. */
import { LogLevel, WebClient } from "@slack/web-api";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SlackChat } from "../../../../src/adapters/slack/slack-chat.js";
import { SlackStandIn } from "../../../../stand-ins/slack.js";

const CHANNEL = "C0DEPLOYS1";
const message = (requestId?: string) => ({
  text: "Promotion requested",
  blocks: [],
  ...(requestId ? { requestId } : {}),
});

let slack: SlackStandIn;
let chat: SlackChat;

beforeEach(async () => {
  slack = new SlackStandIn();
  await slack.start();
  slack.addChannel(CHANNEL);
  const options = { slackApiUrl: slack.apiUrl, logLevel: LogLevel.ERROR, timeout: 2_000 };
  const client = new WebClient(slack.token, {
    ...options,
    retryConfig: { retries: 3, minTimeout: 10, maxTimeout: 20 },
  });
  const postOnce = new WebClient(slack.token, {
    ...options,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
  });
  chat = new SlackChat(client, postOnce);
});

afterEach(async () => {
  await slack.close();
});

describe("SlackChat", () => {
  it("posts a request's message once when Slack shows it and then answers 503 or drops the answer: never a second copy", async () => {
    slack.fault({ path: "/api/chat.postMessage", times: 1, answerAfterHandling: { status: 503, body: "" } });
    await expect(chat.post(CHANNEL, message("r1"))).rejects.toThrow();
    slack.fault({ path: "/api/chat.postMessage", times: 1, dropAfterHandling: true });
    await expect(chat.post(CHANNEL, message("r2"))).rejects.toThrow();
    expect(slack.topLevel(CHANNEL)).toHaveLength(2);
    // Both are found again by the request's id.
    const since = new Date(Date.now() - 60_000);
    for (const [id, m] of [
      ["r1", slack.topLevel(CHANNEL)[0]],
      ["r2", slack.topLevel(CHANNEL)[1]],
    ] as const) {
      expect(await chat.findRequestMessage(CHANNEL, id, since)).toEqual({ kind: "found", ts: m!.ts });
    }
    expect(await chat.findRequestMessage(CHANNEL, "r3", since)).toEqual({ kind: "absent" });
  });

  it("waits out a 429 on a request's message (Slack did nothing) and posts it", async () => {
    slack.rateLimit("chat.postMessage", { retryAfterSeconds: 1 });
    const { ts } = await chat.post(CHANNEL, message("r1"));
    expect(slack.topLevel(CHANNEL).map((m) => m.ts)).toEqual([ts]);
  });

  it("retries other posts as WebClient does", async () => {
    slack.fault({ path: "/api/chat.postMessage", times: 1, response: { status: 503, body: "" } });
    await chat.post(CHANNEL, message());
    expect(slack.topLevel(CHANNEL)).toHaveLength(1);
  });

  it("finds a message only in the time asked for and says when the channel cannot be searched", async () => {
    await chat.post(CHANNEL, message("r1"));
    expect(await chat.findRequestMessage(CHANNEL, "r1", new Date(Date.now() + 60_000))).toEqual({ kind: "absent" });
    slack.addChannel("C0OUTSIDE1", { isMember: false });
    expect(await chat.findRequestMessage("C0OUTSIDE1", "r1", new Date(0))).toEqual({
      kind: "unsearchable",
      reason: "not_in_channel",
    });
    slack.unavailableFor(60_000, { as: "ok_false" });
    await expect(chat.findRequestMessage(CHANNEL, "r1", new Date(0))).rejects.toThrow(/service_unavailable/);
  });

  it("looks through several pages of history", async () => {
    await chat.post(CHANNEL, message("old"));
    for (let i = 0; i < 150; i++) await chat.post(CHANNEL, message());
    const found = await chat.findRequestMessage(CHANNEL, "old", new Date(0));
    expect(found).toEqual({ kind: "found", ts: slack.topLevel(CHANNEL)[0]!.ts });
  });
});
