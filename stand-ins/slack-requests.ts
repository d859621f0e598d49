/**
 * Builders of the signed requests Slack sends to the bot's request URL (`POST /slack/events`), and of
 * their payloads as objects (`*Payload`), which Socket Mode carries in envelopes instead
 * (stand-ins/slack-socket-mode.ts): one definition of each payload for both transports.
 *
 * - Signing (https://docs.slack.dev/authentication/verifying-requests-from-slack): header
 *   `X-Slack-Request-Timestamp` (Unix seconds) and `X-Slack-Signature` = `v0=` + hex HMAC-SHA256 of
 *   `v0:{timestamp}:{raw body}` keyed with the app's signing secret.
 * - Slash commands and interactions arrive as `application/x-www-form-urlencoded`, exactly that
 *   content type (Bolt's receiver compares it with `===`); interactions put their JSON in a single
 *   `payload` field. Field order and shapes follow real payloads: slash command
 *   (https://docs.slack.dev/interactivity/implementing-slash-commands) and `block_actions`
 *   (https://docs.slack.dev/reference/interaction-payloads/block_actions-payload).
 */
import { createHmac, randomBytes } from "node:crypto";
import {
  messagePayload,
  SLACK_APP_ID,
  SLACK_BOT_ID,
  SLACK_BOT_USER_ID,
  SLACK_TEAM_DOMAIN,
  SLACK_TEAM_ID,
  type SlackMessage,
} from "./slack.js";

/** The deprecated verification token Slack still sends in every payload; Bolt ignores it. */
const VERIFICATION_TOKEN = "verification-token-not-used";

/** Headers Slack puts on a request to the bot, signed for `rawBody`. */
export function signSlackRequest(
  signingSecret: string,
  rawBody: string,
  timestamp: number = Math.floor(Date.now() / 1000),
): Record<string, string> {
  const signature = createHmac("sha256", signingSecret).update(`v0:${timestamp}:${rawBody}`).digest("hex");
  // Events API deliveries are JSON; slash commands and interactions are form-urlencoded.
  const contentType = rawBody.trimStart().startsWith("{") ? "application/json" : "application/x-www-form-urlencoded";
  return {
    "content-type": contentType,
    "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    "x-slack-request-timestamp": String(timestamp),
    "x-slack-signature": `v0=${signature}`,
  };
}

export interface SlashCommandArgs {
  userId: string;
  userName?: string;
  channelId: string;
  channelName?: string;
  text: string;
  /** Default "/promote". */
  command?: string;
  responseUrl: string;
  teamId?: string;
}

/**
 * The fields of a slash command invocation. Over HTTP they arrive form-urlencoded (`slashCommandBody`);
 * over Socket Mode the same fields, all strings, are the JSON `payload` of a `slash_commands` envelope.
 */
export function slashCommandPayload(args: SlashCommandArgs): Record<string, string> {
  return {
    token: VERIFICATION_TOKEN,
    team_id: args.teamId ?? SLACK_TEAM_ID,
    team_domain: SLACK_TEAM_DOMAIN,
    channel_id: args.channelId,
    channel_name: args.channelName ?? args.channelId.toLowerCase(),
    user_id: args.userId,
    user_name: args.userName ?? defaultUserName(args.userId),
    command: args.command ?? "/promote",
    text: args.text,
    api_app_id: SLACK_APP_ID,
    is_enterprise_install: "false",
    response_url: args.responseUrl,
    trigger_id: triggerId(),
  };
}

/** The form-urlencoded body of a slash command invocation. */
export function slashCommandBody(args: SlashCommandArgs): string {
  return new URLSearchParams(slashCommandPayload(args)).toString();
}

export interface BlockActionArgs {
  userId: string;
  userName?: string;
  channelId: string;
  channelName?: string;
  messageTs: string;
  /**
   * The message the button is on. A `SlackMessage` from the stand-in is converted to the shape
   * Slack sends; any other object is sent as given. Default: a bare bot message with that ts.
   */
  message?: object;
  actionId: string;
  value: string;
  /** Default: the `block_id` of the block holding `actionId` in `message`, else "actions". */
  blockId?: string;
  responseUrl: string;
  teamId?: string;
  /** A button on an ephemeral message: Slack then sends no `message`. */
  isEphemeral?: boolean;
}

/**
 * The `block_actions` payload of a button click: form-encoded as `payload=<json>` over HTTP
 * (`blockActionBody`), the `payload` of an `interactive` envelope over Socket Mode.
 */
export function blockActionPayload(args: BlockActionArgs): Record<string, unknown> {
  const teamId = args.teamId ?? SLACK_TEAM_ID;
  const userName = args.userName ?? defaultUserName(args.userId);
  const message = args.isEphemeral ? undefined : toMessagePayload(args.message, args.messageTs);
  const button = findElement(message, args.actionId);
  const action: Record<string, unknown> = {
    action_id: args.actionId,
    block_id: args.blockId ?? button?.blockId ?? "actions",
    text: button?.text ?? { type: "plain_text", text: args.actionId, emoji: true },
    value: args.value,
    ...(button?.style ? { style: button.style } : {}),
    type: "button",
    action_ts: actionTs(),
  };
  return {
    type: "block_actions",
    user: { id: args.userId, username: userName, name: userName, team_id: teamId },
    api_app_id: SLACK_APP_ID,
    token: VERIFICATION_TOKEN,
    container: {
      type: "message",
      message_ts: args.messageTs,
      channel_id: args.channelId,
      is_ephemeral: args.isEphemeral ?? false,
    },
    trigger_id: triggerId(),
    team: { id: teamId, domain: SLACK_TEAM_DOMAIN },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: args.channelId, name: args.channelName ?? args.channelId.toLowerCase() },
    ...(message ? { message } : {}),
    state: { values: {} },
    response_url: args.responseUrl,
    actions: [action],
  };
}

/** The form-urlencoded body (`payload=<json>`) of a button click (`block_actions`). */
export function blockActionBody(args: BlockActionArgs): string {
  return new URLSearchParams({ payload: JSON.stringify(blockActionPayload(args)) }).toString();
}

/**
 * What Slack sends when a user opens the app's Home tab: an Events API `event_callback`
 * with an `app_home_opened` event (https://docs.slack.dev/reference/events/app_home_opened); the
 * `payload` of an `events_api` envelope over Socket Mode.
 */
export function homeOpenedPayload(userId: string, teamId = SLACK_TEAM_ID): Record<string, unknown> {
  const now = Date.now();
  return {
    token: VERIFICATION_TOKEN,
    team_id: teamId,
    api_app_id: SLACK_APP_ID,
    event: { type: "app_home_opened", user: userId, channel: "D0HOME0001", tab: "home", event_ts: `${now / 1000}` },
    type: "event_callback",
    event_id: `Ev${now}${randomBytes(3).toString("hex").toUpperCase()}`,
    event_time: Math.floor(now / 1000),
  };
}

/** The JSON body of an `app_home_opened` event delivered over HTTP. */
export function homeOpenedBody(userId: string, teamId = SLACK_TEAM_ID): string {
  return JSON.stringify(homeOpenedPayload(userId, teamId));
}

export interface HomeClickArgs {
  userId: string;
  userName?: string;
  actionId: string;
  value: string;
  view?: { id: string; blocks: unknown[] };
  teamId?: string;
}

/** A button click inside the Home tab: the container is the view, and Slack sends no response_url. */
export function homeClickPayload(args: HomeClickArgs): Record<string, unknown> {
  const teamId = args.teamId ?? SLACK_TEAM_ID;
  const userName = args.userName ?? defaultUserName(args.userId);
  const view = args.view ?? { id: "V1", blocks: [] };
  return {
    type: "block_actions",
    user: { id: args.userId, username: userName, name: userName, team_id: teamId },
    api_app_id: SLACK_APP_ID,
    token: VERIFICATION_TOKEN,
    container: { type: "view", view_id: view.id },
    trigger_id: triggerId(),
    team: { id: teamId, domain: SLACK_TEAM_DOMAIN },
    is_enterprise_install: false,
    view: { id: view.id, type: "home", blocks: view.blocks },
    actions: [{ action_id: args.actionId, block_id: "home", value: args.value, type: "button", action_ts: actionTs() }],
  };
}

/** The form-urlencoded body (`payload=<json>`) of a Home tab click. */
export function homeClickBody(args: HomeClickArgs): string {
  return new URLSearchParams({ payload: JSON.stringify(homeClickPayload(args)) }).toString();
}

/** POSTs a signed request to `${baseUrl}/slack/events`, as Slack would. */
export async function postSlack(
  baseUrl: string,
  signingSecret: string,
  rawBody: string,
  opts: { timestamp?: number; signature?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: string; headers: Headers }> {
  const headers = signSlackRequest(signingSecret, rawBody, opts.timestamp);
  if (opts.signature !== undefined) headers["x-slack-signature"] = opts.signature;
  Object.assign(headers, opts.headers);
  const response = await fetch(`${baseUrl.replace(/\/+$/, "")}/slack/events`, {
    method: "POST",
    headers,
    body: rawBody,
  });
  return { status: response.status, body: await response.text(), headers: response.headers };
}

function defaultUserName(userId: string): string {
  return `user.${userId.toLowerCase()}`;
}

function triggerId(): string {
  const digits = (n: number) =>
    Array.from(randomBytes(n), (b) => String(b % 10))
      .join("")
      .replace(/^0/, "1");
  return `${digits(13)}.${digits(10)}.${randomBytes(16).toString("hex")}`;
}

function actionTs(): string {
  const now = Date.now();
  return `${Math.floor(now / 1000)}.${String((now % 1000) * 1000).padStart(6, "0")}`;
}

function isSlackMessage(value: object): value is SlackMessage {
  return "history" in value && "channel" in value && "ts" in value;
}

function toMessagePayload(message: object | undefined, ts: string): Record<string, unknown> {
  if (!message) {
    return { user: SLACK_BOT_USER_ID, type: "message", ts, bot_id: SLACK_BOT_ID, app_id: SLACK_APP_ID, text: "" };
  }
  return isSlackMessage(message) ? messagePayload(message) : { ...message };
}

/** The block and button that carry `actionId` in a message, if any. */
function findElement(
  message: Record<string, unknown> | undefined,
  actionId: string,
): { blockId?: string; text?: unknown; style?: string } | undefined {
  const blocks = message?.blocks;
  if (!Array.isArray(blocks)) return undefined;
  for (const block of blocks) {
    if (typeof block !== "object" || block === null) continue;
    const { block_id: blockId, elements, accessory } = block as Record<string, unknown>;
    const candidates = [...(Array.isArray(elements) ? elements : []), accessory];
    for (const element of candidates) {
      if (typeof element !== "object" || element === null) continue;
      const { action_id: id, text, style } = element as Record<string, unknown>;
      if (id !== actionId) continue;
      const found: { blockId?: string; text?: unknown; style?: string } = { text };
      if (typeof blockId === "string") found.blockId = blockId;
      if (typeof style === "string") found.style = style;
      return found;
    }
  }
  return undefined;
}
