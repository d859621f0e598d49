import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { SLACK_APP_ID, SlackStandIn } from "./slack.js";
import { homeOpenedPayload } from "./slack-requests.js";
import { DEFAULT_APP_TOKEN, SlackSocketModeStandIn } from "./slack-socket-mode.js";

const CHANNEL = "C0DEPLOYS1";
const ALICE = "U0ALICE001";

/** A bare WebSocket client that queues what it receives, so a test can await the next message. */
class Client {
  private readonly queue: Array<Record<string, unknown>> = [];
  private readonly waiters: Array<(message: Record<string, unknown>) => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const message = JSON.parse(data.toString()) as Record<string, unknown>;
      const waiter = this.waiters.shift();
      if (waiter) waiter(message);
      else this.queue.push(message);
    });
  }

  static async connect(url: string): Promise<Client> {
    const ws = new WebSocket(url);
    const client = new Client(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return client;
  }

  next(): Promise<Record<string, unknown>> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  send(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }
}

describe("SlackSocketModeStandIn", () => {
  let slack: SlackStandIn;
  let socket: SlackSocketModeStandIn;
  const clients: Client[] = [];

  beforeEach(async () => {
    slack = new SlackStandIn();
    await slack.start();
    slack.addChannel(CHANNEL);
    socket = new SlackSocketModeStandIn(slack);
    await socket.start();
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.ws.terminate();
    await socket.close();
    await slack.close();
  });

  function open(token: string | undefined, init: RequestInit = {}): Promise<Record<string, unknown>> {
    return fetch(`${slack.apiUrl}apps.connections.open`, {
      method: "POST",
      ...init,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    }).then((r) => r.json() as Promise<Record<string, unknown>>);
  }

  async function connected(): Promise<Client> {
    const { url } = await open(DEFAULT_APP_TOKEN);
    const client = await Client.connect(url as string);
    clients.push(client);
    expect(await client.next()).toMatchObject({ type: "hello" });
    return client;
  }

  it("apps.connections.open answers a one-connection URL for the app-level token only", async () => {
    const answer = await open(DEFAULT_APP_TOKEN);
    expect(answer.ok).toBe(true);
    expect(answer.url).toMatch(
      new RegExp(`^ws://127\\.0\\.0\\.1:\\d+/link/\\?ticket=[0-9a-f]{32}&app_id=${SLACK_APP_ID}$`),
    );
    expect(await open(undefined)).toEqual({ ok: false, error: "not_authed" });
    expect(await open(slack.token)).toEqual({ ok: false, error: "not_allowed_token_type" });
    expect(await open("xapp-1-A0OTHER-1-nope")).toEqual({ ok: false, error: "invalid_auth" });
    expect(await open(DEFAULT_APP_TOKEN, { method: "GET" })).toEqual({ ok: false, error: "insecure_request" });
    // The token as a POST parameter does not count (Slack documents it as an error).
    const asParameter = await fetch(`${slack.apiUrl}apps.connections.open`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: DEFAULT_APP_TOKEN }).toString(),
    });
    expect(await asParameter.json()).toEqual({ ok: false, error: "not_authed" });
    expect(socket.urlsIssued).toBe(1);
  });

  it("leaves the bot token's methods as they were: the app-level token is no bot token", async () => {
    const answer = await fetch(`${slack.apiUrl}auth.test`, {
      method: "POST",
      headers: { authorization: `Bearer ${DEFAULT_APP_TOKEN}` },
    });
    expect(await answer.json()).toEqual({ ok: false, error: "invalid_auth" });
    expect(() => slack.registerMethod("auth.test", () => ({ status: 200 }))).toThrow(/built-in/);
  });

  it("greets a connection with hello, and refuses a second connection on the same URL", async () => {
    const { url } = await open(DEFAULT_APP_TOKEN);
    const client = await Client.connect(url as string);
    clients.push(client);
    expect(await client.next()).toEqual({
      type: "hello",
      num_connections: 1,
      debug_info: expect.objectContaining({ host: expect.any(String) }),
      connection_info: { app_id: SLACK_APP_ID },
    });
    await expect(Client.connect(url as string)).rejects.toThrow(/401/);
    expect(socket.openConnections()).toHaveLength(1);
  });

  it("delivers a slash command and resolves its delivery with the ack's payload, shown to the user", async () => {
    const client = await connected();
    const delivery = socket.slashCommand({ userId: ALICE, channelId: CHANNEL, text: "help" });
    const envelope = await client.next();
    expect(envelope).toMatchObject({
      envelope_id: delivery.envelope.envelope_id,
      type: "slash_commands",
      accepts_response_payload: true,
      payload: { command: "/promote", text: "help", user_id: ALICE, channel_id: CHANNEL, api_app_id: SLACK_APP_ID },
    });
    expect((envelope.payload as Record<string, unknown>).response_url).toMatch(/\/response\//);
    client.send({ envelope_id: envelope.envelope_id, payload: { response_type: "ephemeral", text: "Usage: …" } });
    expect(await delivery.acked).toEqual({ response_type: "ephemeral", text: "Usage: …" });
    expect(slack.ephemerals).toEqual([
      expect.objectContaining({ user: ALICE, channel: CHANNEL, text: "Usage: …", response_type: "ephemeral" }),
    ]);
    expect(socket.acks).toEqual([expect.objectContaining({ envelope_id: envelope.envelope_id, connection: 1 })]);
  });

  it("delivers button clicks and events, each with a fresh envelope id, and an empty ack shows nothing", async () => {
    const client = await connected();
    const click = socket.blockAction({
      userId: ALICE,
      channelId: CHANNEL,
      messageTs: "1700000000.000100",
      actionId: "approve",
      value: "req-1",
    });
    const home = socket.event(homeOpenedPayload(ALICE));
    const [first, second] = [await client.next(), await client.next()];
    expect(first).toMatchObject({
      type: "interactive",
      accepts_response_payload: false,
      payload: { type: "block_actions", actions: [expect.objectContaining({ action_id: "approve", value: "req-1" })] },
    });
    expect(second).toMatchObject({
      type: "events_api",
      accepts_response_payload: false,
      retry_attempt: 0,
      retry_reason: "",
      payload: { type: "event_callback", event: expect.objectContaining({ type: "app_home_opened", user: ALICE }) },
    });
    expect(first?.envelope_id).not.toBe(second?.envelope_id);
    client.send({ envelope_id: second?.envelope_id, payload: {} });
    client.send({ envelope_id: first?.envelope_id });
    expect(await home.acked).toEqual({});
    expect(await click.acked).toBeUndefined();
    expect(slack.ephemerals).toHaveLength(0);
  });

  it("rejects a delivery that is not acked in time, and records what is not an ack", async () => {
    const client = await connected();
    socket.ackTimeoutMs = 50;
    const delivery = socket.slashCommand({ userId: ALICE, channelId: CHANNEL, text: "help" });
    await client.next();
    client.send({ envelope_id: "never-sent" });
    await expect(delivery.acked).rejects.toThrow(/no ack for slash_commands envelope/);
    await slack.waitFor(() => socket.strayMessages.length === 1);
  });

  it("refuses to deliver without an open connection", () => {
    expect(() => socket.slashCommand({ userId: ALICE, channelId: CHANNEL, text: "help" })).toThrow(
      /no open Socket Mode connection/,
    );
  });

  it("asks the client to reconnect with disconnect, and answers pings", async () => {
    const client = await connected();
    const pong = new Promise<string>((resolve) => client.ws.once("pong", (data) => resolve(data.toString())));
    client.ws.ping("are you there");
    expect(await pong).toBe("are you there");
    expect(socket.connections[0]?.pings).toBe(1);
    socket.disconnect();
    expect(await client.next()).toEqual({
      type: "disconnect",
      reason: "refresh_requested",
      debug_info: { host: expect.any(String) },
    });
    client.ws.close(1000);
    await slack.waitFor(() => socket.connections[0]?.closedAt !== undefined);
    expect(socket.connections[0]?.closeCode).toBe(1000);
    expect(socket.openConnections()).toHaveLength(0);
  });
});
