/**
 * Socket Mode, end to end: the real server in-process with `SLACK_APP_TOKEN` set, Slack's side played by
 * the Slack stand-in plus its Socket Mode stand-in. Commands and clicks arrive as envelopes on the
 * WebSocket the bot opened, never over HTTP, and must behave exactly as over HTTP (promotion.test.ts).
 *
 * The Socket Mode stand-in is plugged in before the bot starts: a Socket Mode bot calls
 * apps.connections.open while it starts.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/views/action-ids.js";
import type { SlackMessage } from "../../stand-ins/slack.js";
import { postSlack, slashCommandBody } from "../../stand-ins/slack-requests.js";
import { DEFAULT_APP_TOKEN, type Delivery, SlackSocketModeStandIn } from "../../stand-ins/slack-socket-mode.js";
import {
  APPROVER_A,
  BYSTANDER,
  buttonValue,
  CHANNEL,
  type Harness,
  REQUESTER,
  SIGNING_SECRET,
  startHarness,
} from "../support/harness.js";

interface SocketModeHarness extends Harness {
  socket: SlackSocketModeStandIn;
}

async function startSocketModeHarness(): Promise<SocketModeHarness> {
  let socket: SlackSocketModeStandIn | undefined;
  const h = await startHarness({
    env: { SLACK_APP_TOKEN: DEFAULT_APP_TOKEN },
    async beforeStart(world) {
      socket = new SlackSocketModeStandIn(world.slack, { appToken: DEFAULT_APP_TOKEN });
      await socket.start();
    },
    async afterStop(world) {
      // Bolt's stop() does not wait for the close handshake it starts; closing the stand-in first would
      // cut the connection under it (the client logs a WebSocket error). It also checks that the bot
      // hangs up when it stops.
      await world.slack.waitFor(() => socket?.openConnections().length === 0);
      await socket?.close();
    },
  });
  return Object.assign(h, { socket: socket as SlackSocketModeStandIn });
}

let h: SocketModeHarness;
afterEach(async () => {
  await h?.close();
});

const command = (user: string, text: string): Delivery =>
  h.socket.slashCommand({ userId: user, channelId: CHANNEL, text });

function click(user: string, message: SlackMessage, actionId: string): Delivery {
  const value = buttonValue(message, actionId);
  if (value === undefined) throw new Error(`message ${message.ts} has no ${actionId} button`);
  return h.socket.blockAction({
    userId: user,
    channelId: message.channel,
    messageTs: message.ts,
    message,
    actionId,
    value,
  });
}

const promotionPosts = () => h.heroku.callsTo("POST", "/pipeline-promotions");

async function requestViaCommand(): Promise<SlackMessage> {
  // The bot acknowledges at once with a bare ack() (Bolt sends `{}`), then does the work.
  expect(await command(REQUESTER, "whitewave").acked).toEqual({});
  return h.slack.waitFor(() => h.approvalMessage());
}

describe("Socket Mode", () => {
  it("connects at start with the app-level token, and Slack is no longer served over HTTP", async () => {
    h = await startSocketModeHarness();
    expect(h.socket.urlsIssued).toBe(1);
    expect(h.socket.openConnections()).toHaveLength(1);
    const opens = h.slack.callsTo("POST", "/api/apps.connections.open");
    expect(opens.map((c) => c.headers.authorization)).toEqual([`Bearer ${DEFAULT_APP_TOKEN}`]);

    const health = await fetch(`${h.bot.url}/healthz`);
    expect(health.status).toBe(200);
    const body = slashCommandBody({
      userId: REQUESTER,
      channelId: CHANNEL,
      text: "whitewave",
      responseUrl: h.slack.responseUrl({ channel: CHANNEL, user: REQUESTER }),
    });
    expect((await postSlack(h.bot.url, SIGNING_SECRET, body)).status).toBe(404);
    expect(await h.bot.store.db.selectFrom("requests").selectAll().execute()).toHaveLength(0);
    expect(h.socket.envelopes).toHaveLength(0);
  });

  it("when /promote help arrives, then the help is the ack's response payload, with no response_url call", async () => {
    h = await startSocketModeHarness();
    const payload = await command(REQUESTER, "help").acked;
    expect(payload).toMatchObject({ response_type: "ephemeral" });
    const text = JSON.stringify(payload);
    expect(text).toContain("/promote &lt;pipeline&gt;");
    expect(text).toContain("`whitewave`");
    // The stand-in shows an ack's payload to the user, as Slack does.
    await h.answer(REQUESTER, /promote-bot/);
    expect(h.slack.callsTo("POST", /^\/response\//)).toHaveLength(0);
  });

  it("when a command and clicks arrive as envelopes, then a non-approver is refused and an approver's click promotes once", async () => {
    h = await startSocketModeHarness();
    h.shipToStaging("Ship over the socket");
    const message = await requestViaCommand();
    await h.answer(REQUESTER, /Requested the promotion/);

    expect(await click(BYSTANDER, message, ACTIONS.approve).acked).toEqual({});
    await h.answer(BYSTANDER, /Only the approvers of \*whitewave\* can approve/);
    expect(h.slack.ephemerals.filter((e) => e.user === BYSTANDER).map((e) => e.via)).toEqual(["response_url"]);
    expect((await h.bot.store.db.selectFrom("requests").select("state").execute()).map((r) => r.state)).toEqual([
      "pending",
    ]);
    expect(await h.bot.store.db.selectFrom("approvals").selectAll().execute()).toHaveLength(0);
    expect(promotionPosts()).toHaveLength(0);

    expect(await click(APPROVER_A, message, ACTIONS.approve).acked).toEqual({});
    const done = await h.messageMatching(message.ts, /Promoted/);
    expect(buttonValue(done, ACTIONS.approve)).toBeUndefined();
    await h.bot.bot.worker.idle();
    expect(promotionPosts()).toHaveLength(1);
    expect(h.heroku.currentRelease(h.ids.production)?.slug?.id).toBe(h.heroku.currentRelease(h.ids.staging)?.slug?.id);
    // Every envelope was acked once, on the one connection.
    expect(h.socket.acks.map((a) => a.envelope_id).sort()).toEqual(h.socket.envelopes.map((e) => e.envelope_id).sort());
    expect(h.socket.strayMessages).toEqual([]);
  });

  it("when Slack asks for a refresh, then the bot reconnects through apps.connections.open and commands still work", async () => {
    h = await startSocketModeHarness();
    h.shipToStaging("After the refresh");
    h.socket.disconnect("refresh_requested");
    // Bolt's Socket Mode client waits its ping timeout (5 s, not settable through App) before reconnecting.
    const second = await h.socket.waitForConnection(2, 15_000);
    expect(second.id).toBe(2);
    expect(h.socket.urlsIssued).toBe(2);
    const first = await h.slack.waitFor(
      () => h.socket.connections[0]?.closedAt !== undefined && h.socket.connections[0],
    );
    expect(first.closeCode).toBe(1000);
    expect(h.socket.openConnections().map((c) => c.id)).toEqual([2]);

    const message = await requestViaCommand();
    expect(h.socket.acks.at(-1)?.connection).toBe(2);
    expect(buttonValue(message, ACTIONS.approve)).toMatch(/^[0-9a-f-]{36}$/);
  }, 30_000);
});
