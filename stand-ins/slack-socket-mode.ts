/**
 * A loopback stand-in for Slack's side of Socket Mode, plugged into the Slack stand-in (`slack.ts`):
 * the Web API method `apps.connections.open` is served by the `SlackStandIn`, and the WebSocket it hands
 * out by a loopback `ws` server here. Point a Socket Mode client (Bolt's `socketMode: true` with
 * `clientOptions.slackApiUrl` = `slack.apiUrl`) at it, then deliver envelopes and read the acks.
 *
 * What it models, and where each behaviour comes from:
 * - `apps.connections.open` (https://docs.slack.dev/reference/methods/apps.connections.open) takes the
 *   app-level token (`xapp-…`) in the Authorization header and answers `{ ok: true, url }` with a
 *   `wss://…/link/?ticket=…&app_id=…` URL; here `ws://127.0.0.1:PORT/link/?ticket=…&app_id=…`. Errors
 *   are HTTP 200 `{ ok: false, error }`: no token `not_authed`; the bot token `not_allowed_token_type`;
 *   any other token `invalid_auth`; a method other than POST `insecure_request`. The docs say a token
 *   sent as a POST parameter is an error without naming it: here it counts as no token.
 * - The URL is for one connection (assumption: Slack does not say what a reused or unknown ticket gets);
 *   such an upgrade is refused with HTTP 401, so a client that reconnects without a fresh URL is noticed.
 * - On connect Slack sends `hello` with `num_connections`, `debug_info` and `connection_info.app_id`
 *   (shape as in slackapi/python-slack-sdk tests/slack_sdk/socket_mode/mock_socket_mode_server.py).
 * - Envelopes are `{ envelope_id, payload, type, accepts_response_payload }`: `slash_commands` (the
 *   command's fields, strings, as a JSON object; accepts a response payload), `interactive` (the
 *   `block_actions` payload; does not), `events_api` (the `event_callback`; does not; plus
 *   `retry_attempt` and `retry_reason`). Envelopes as in the same tests and
 *   https://docs.slack.dev/apis/events-api/using-socket-mode; payloads from `../slack-requests.ts`, the
 *   builders the HTTP tests use, so both transports carry the same payloads.
 * - The app acks with `{ envelope_id, payload? }`. A slash command's ack payload is shown to the user as
 *   the body of an HTTP answer is (`SlackStandIn.acknowledgement`). Slack redelivers an envelope that is
 *   not acked within 3 s; here the delivery's `acked` promise rejects instead (no redelivery).
 * - `disconnect` (`{ type: "disconnect", reason, debug_info }`, reason `refresh_requested`, `warning` or
 *   `link_disabled`) asks the client to reconnect through `apps.connections.open`. The stand-in leaves the
 *   closing to the client (Slack closes the old socket itself a few seconds later: not modelled).
 * - The client's pings are answered with pongs (the `ws` server does so, per RFC 6455) and counted. The
 *   stand-in does not ping the client itself; Bolt's client only watches for server pings after a first one.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import type { StandInRequest, StandInResponse } from "./http-stand-in.js";
import { bearer, SLACK_APP_ID, type SlackStandIn } from "./slack.js";
import {
  type BlockActionArgs,
  blockActionPayload,
  type SlashCommandArgs,
  slashCommandPayload,
} from "./slack-requests.js";

/** The only app-level token the stand-in accepts by default (the format of Slack's `xapp-` tokens). */
export const DEFAULT_APP_TOKEN = `xapp-1-${SLACK_APP_ID}-1700000000001-0123456789abcdef0123456789abcdef`;
/** How long Slack waits for an ack before it redelivers an envelope. */
export const SOCKET_MODE_ACK_TIMEOUT_MS = 3_000;

export type EnvelopeType = "slash_commands" | "interactive" | "events_api";

export interface Envelope {
  envelope_id: string;
  payload: Record<string, unknown>;
  type: EnvelopeType;
  accepts_response_payload: boolean;
  retry_attempt?: number;
  retry_reason?: string;
}

export interface SocketModeConnection {
  /** 1, 2, … in the order the client connected. */
  id: number;
  ticket: string;
  openedAt: number;
  closedAt?: number;
  closeCode?: number;
  /** Pings the client sent (each answered with a pong). */
  pings: number;
}

export interface EnvelopeAck {
  envelope_id: string;
  /** Absent when the client sent none; Bolt always sends one (`{}` for a bare `ack()`). */
  payload?: Record<string, unknown>;
  /** The connection it arrived on. */
  connection: number;
  at: number;
}

export interface Delivery {
  envelope: Envelope;
  /** The connection it was sent on. */
  connection: number;
  /** Resolves with the ack's payload; rejects when no ack arrives within `ackTimeoutMs`. */
  acked: Promise<Record<string, unknown> | undefined>;
}

export interface SocketModeStandInOptions {
  /** The app-level token apps.connections.open accepts (default `DEFAULT_APP_TOKEN`). */
  appToken?: string;
  /** Default `SOCKET_MODE_ACK_TIMEOUT_MS`. */
  ackTimeoutMs?: number;
}

interface PendingAck {
  resolve: (payload: Record<string, unknown> | undefined) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

const DEBUG_HOST = "applink-stand-in";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function fail(error: string): StandInResponse {
  return { status: 200, body: { ok: false, error } };
}

export class SlackSocketModeStandIn {
  readonly appToken: string;
  ackTimeoutMs: number;
  /** Every WebSocket connection, in order; closed ones keep their `closedAt`. */
  readonly connections: SocketModeConnection[] = [];
  /** Every envelope sent, in order. */
  readonly envelopes: Envelope[] = [];
  /** Every ack received, in order (late and duplicate ones included). */
  readonly acks: EnvelopeAck[] = [];
  /** Client messages that are not acks of an envelope sent here (expected to stay empty). */
  readonly strayMessages: string[] = [];
  /** Successful apps.connections.open calls. */
  urlsIssued = 0;

  private readonly sockets = new Map<number, WebSocket>();
  private readonly tickets = new Map<string, { used: boolean }>();
  private readonly pending = new Map<string, PendingAck>();
  private readonly wss = new WebSocketServer({ noServer: true });
  private server: Server | undefined;
  private baseUrl = "";
  private envelopeCounter = 0;

  constructor(
    private readonly slack: SlackStandIn,
    options: SocketModeStandInOptions = {},
  ) {
    this.appToken = options.appToken ?? DEFAULT_APP_TOKEN;
    this.ackTimeoutMs = options.ackTimeoutMs ?? SOCKET_MODE_ACK_TIMEOUT_MS;
  }

  /** Starts the WebSocket server and adds `apps.connections.open` to the Slack stand-in (which must be started). */
  async start(): Promise<void> {
    const server = createServer((_req, res) => {
      res.writeHead(426, { "content-type": "text/plain" });
      res.end("upgrade required");
    });
    server.on("upgrade", (req, socket, head) => this.upgrade(req, socket, head));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    this.server = server;
    this.baseUrl = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    this.slack.registerMethod("apps.connections.open", (req) => this.connectionsOpen(req));
  }

  async close(): Promise<void> {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new Error(`Socket Mode stand-in closed before envelope ${id} was acked`));
    }
    this.pending.clear();
    for (const socket of this.sockets.values()) socket.terminate();
    this.sockets.clear();
    const server = this.server;
    this.server = undefined;
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  /** Connections that are open now, oldest first. */
  openConnections(): SocketModeConnection[] {
    return this.connections.filter((c) => c.closedAt === undefined && this.sockets.has(c.id));
  }

  /** Waits until the `count`-th connection (1-based) is open and has been sent `hello`, and returns it. */
  waitForConnection(count = 1, timeoutMs = 5_000): Promise<SocketModeConnection> {
    return this.slack.waitFor(() => {
      const connection = this.connections[count - 1];
      return connection && connection.closedAt === undefined ? connection : undefined;
    }, timeoutMs);
  }

  /** Sends an envelope on the newest open connection. Throws when none is open (Slack tells the user so). */
  deliver(type: EnvelopeType, payload: Record<string, unknown>): Delivery {
    const connection = this.openConnections().at(-1);
    const socket = connection && this.sockets.get(connection.id);
    if (!connection || !socket) {
      throw new Error(`no open Socket Mode connection to deliver a ${type} envelope on`);
    }
    this.envelopeCounter += 1;
    const envelope: Envelope = {
      envelope_id: `${randomBytes(4).toString("hex")}-${String(this.envelopeCounter).padStart(4, "0")}`,
      payload,
      type,
      accepts_response_payload: type === "slash_commands",
      ...(type === "events_api" ? { retry_attempt: 0, retry_reason: "" } : {}),
    };
    const acked = new Promise<Record<string, unknown> | undefined>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(envelope.envelope_id);
        reject(new Error(`no ack for ${type} envelope ${envelope.envelope_id} within ${this.ackTimeoutMs} ms`));
      }, this.ackTimeoutMs);
      this.pending.set(envelope.envelope_id, { resolve, reject, timer });
    });
    // A test that does not look at the ack must not fail with an unhandled rejection; one that awaits it
    // still gets the rejection.
    acked.catch(() => {});
    this.envelopes.push(envelope);
    socket.send(JSON.stringify(envelope));
    return { envelope, connection: connection.id, acked };
  }

  /** `/promote …` typed by a user; the response_url defaults to a fresh one of the Slack stand-in. */
  slashCommand(args: Omit<SlashCommandArgs, "responseUrl"> & { responseUrl?: string }): Delivery {
    const responseUrl = args.responseUrl ?? this.slack.responseUrl({ channel: args.channelId, user: args.userId });
    return this.deliver("slash_commands", slashCommandPayload({ ...args, responseUrl }));
  }

  /** A button click on a message; the response_url defaults to a fresh one bound to that message. */
  blockAction(args: Omit<BlockActionArgs, "responseUrl"> & { responseUrl?: string }): Delivery {
    const responseUrl =
      args.responseUrl ??
      this.slack.responseUrl({
        channel: args.channelId,
        user: args.userId,
        ...(args.isEphemeral ? { isEphemeral: true } : { messageTs: args.messageTs }),
      });
    return this.deliver("interactive", blockActionPayload({ ...args, responseUrl }));
  }

  /** An Events API `event_callback` (e.g. `homeOpenedPayload(user)`). */
  event(callback: Record<string, unknown>): Delivery {
    return this.deliver("events_api", callback);
  }

  /** Asks the client on the newest open connection to reconnect, as Slack does before recycling a server. */
  disconnect(reason: "refresh_requested" | "warning" | "link_disabled" = "refresh_requested"): void {
    const connection = this.openConnections().at(-1);
    if (!connection) throw new Error("no open Socket Mode connection to send disconnect on");
    this.sockets
      .get(connection.id)
      ?.send(JSON.stringify({ type: "disconnect", reason, debug_info: { host: DEBUG_HOST } }));
  }

  // ---------------------------------------------------------------- Web API

  private connectionsOpen(req: StandInRequest): StandInResponse {
    if (req.method !== "POST") return fail("insecure_request");
    const token = bearer(req.headers.authorization);
    if (!token) return fail("not_authed");
    if (token === this.slack.token) return fail("not_allowed_token_type");
    if (token !== this.appToken) return fail("invalid_auth");
    if (!this.baseUrl) throw new Error("Socket Mode stand-in is not started");
    const ticket = randomBytes(16).toString("hex");
    this.tickets.set(ticket, { used: false });
    this.urlsIssued += 1;
    return { status: 200, body: { ok: true, url: `${this.baseUrl}/link/?ticket=${ticket}&app_id=${SLACK_APP_ID}` } };
  }

  // ---------------------------------------------------------------- WebSocket

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? "/", "ws://stand-in");
    const ticket = url.searchParams.get("ticket") ?? "";
    const issued = this.tickets.get(ticket);
    const refuse = (status: string) =>
      socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    if (url.pathname !== "/link/" && url.pathname !== "/link") {
      refuse("404 Not Found");
      return;
    }
    if (!issued || issued.used) {
      refuse("401 Unauthorized");
      return;
    }
    issued.used = true;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.connected(ws, ticket));
  }

  private connected(ws: WebSocket, ticket: string): void {
    const connection: SocketModeConnection = {
      id: this.connections.length + 1,
      ticket,
      openedAt: Date.now(),
      pings: 0,
    };
    this.connections.push(connection);
    this.sockets.set(connection.id, ws);
    ws.on("ping", () => {
      connection.pings += 1;
    });
    ws.on("message", (data, isBinary) => {
      if (!isBinary) this.received(connection, data.toString());
    });
    ws.on("close", (code) => {
      connection.closedAt = Date.now();
      connection.closeCode = code;
      this.sockets.delete(connection.id);
    });
    ws.send(
      JSON.stringify({
        type: "hello",
        num_connections: this.sockets.size,
        debug_info: { host: DEBUG_HOST, build_number: 1, approximate_connection_time: 18_060 },
        connection_info: { app_id: SLACK_APP_ID },
      }),
    );
  }

  private received(connection: SocketModeConnection, text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      this.strayMessages.push(text);
      return;
    }
    const envelope = isRecord(message) ? this.envelopes.find((e) => e.envelope_id === message.envelope_id) : undefined;
    if (!isRecord(message) || !envelope) {
      this.strayMessages.push(text);
      return;
    }
    const payload = isRecord(message.payload) ? message.payload : undefined;
    const ack: EnvelopeAck = { envelope_id: envelope.envelope_id, connection: connection.id, at: Date.now() };
    if (payload) ack.payload = payload;
    this.acks.push(ack);
    const pending = this.pending.get(envelope.envelope_id);
    if (!pending) return;
    this.pending.delete(envelope.envelope_id);
    clearTimeout(pending.timer);
    if (envelope.accepts_response_payload && payload && Object.keys(payload).length > 0) {
      const { channel_id: channel, user_id: user } = envelope.payload;
      this.slack.acknowledgement(
        { ...(typeof channel === "string" ? { channel } : {}), ...(typeof user === "string" ? { user } : {}) },
        payload,
      );
    }
    pending.resolve(payload);
  }
}
