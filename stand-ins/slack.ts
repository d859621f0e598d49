/**
 * A loopback stand-in for the parts of the Slack Web API that promote-bot uses, plus the
 * `response_url` endpoints Slack hands to the bot with slash commands and button clicks.
 *
 * Point a real `WebClient` (or Bolt's `clientOptions.slackApiUrl`) at `apiUrl`. What it models,
 * and where each behaviour comes from:
 * - Transport (checked in @slack/web-api 8.x `WebClient.makeRequest`/`serializeBody`): every call is
 *   `POST {slackApiUrl}{method}` with `Authorization: Bearer <token>` and a form-urlencoded body whose
 *   object fields (`blocks`, `attachments`) are JSON strings. Slack also accepts JSON bodies on write
 *   methods, but only with the token in the Authorization header:
 *   https://docs.slack.dev/changelog/2017-10-keeping-up-with-the-jsons
 * - Errors are HTTP 200 `{ ok: false, error }`; rate limits are HTTP 429 with `Retry-After` seconds
 *   (use `rateLimit()`), which WebClient waits out and retries. Any other status is retried by
 *   WebClient's p-retry policy too (default: 10 retries over about 30 minutes).
 * - Shapes and error codes follow the method reference (https://docs.slack.dev/reference/methods,
 *   mirrored in slack-ruby/slack-api-ref): chat.postMessage, chat.update, chat.postEphemeral,
 *   usergroups.users.list, conversations.info, conversations.history, users.info, auth.test.
 * - Message metadata (https://docs.slack.dev/messaging/message-metadata): chat.postMessage and
 *   chat.update take `metadata` ({ event_type, event_payload }); conversations.history returns it
 *   with `include_all_metadata`. chat.update without `metadata` keeps the old one here (an
 *   assumption: not documented). Message ts are the stand-in clock's epoch seconds, as Slack's are,
 *   so that `oldest`/`latest` select by time.
 * - chat.update keeps the previous blocks when `blocks` is absent and removes them when it is `[]`
 *   (chat.update argument docs; python-slack-sdk issue 523).
 * - Slack gives every block without a `block_id` (and every interactive element without an
 *   `action_id`) a generated one; the stored and returned messages carry them, as a button click's
 *   payload later does.
 * - Block Kit limits from https://docs.slack.dev/reference/block-kit/blocks are checked and answered
 *   with `invalid_blocks` + `errors`, so a view that Slack would refuse fails here too.
 * - Extra Web API methods with their own authentication can be plugged in with `registerMethod()`:
 *   the Socket Mode stand-in (`slack-socket-mode.ts`) adds `apps.connections.open` this way, since it
 *   takes the app-level token (`xapp-…`) rather than the bot token. The built-in methods take precedence.
 * - A `response_url` accepts at most 5 uses within 30 minutes
 *   (https://docs.slack.dev/interactivity/handling-user-interaction). What Slack answers beyond that
 *   is not documented; this stand-in answers HTTP 404 with a short text body (`used_url`,
 *   `expired_url`), which Bolt's `respond()` turns into a `RespondError`.
 */
import { createHash } from "node:crypto";
import { HttpStandIn, type StandInRequest, type StandInResponse, sleep } from "./http-stand-in.js";

export const SLACK_TEAM_ID = "T0TEST0001";
export const SLACK_TEAM_DOMAIN = "promote-test";
export const SLACK_TEAM_NAME = "Promote Test";
export const SLACK_BOT_USER_ID = "UBOT000001";
export const SLACK_BOT_USER_NAME = "promote-bot";
export const SLACK_BOT_ID = "BBOT000001";
export const SLACK_APP_ID = "A0TEST0001";
export const DEFAULT_SLACK_TOKEN = "xoxb-test-token";

/** A `response_url` may be used this many times (Slack's documented limit). */
export const RESPONSE_URL_MAX_USES = 5;
/** ... within this long after the interaction. */
export const RESPONSE_URL_TTL_MS = 30 * 60 * 1000;

export interface SlackMessage {
  channel: string;
  ts: string;
  text: string;
  blocks: unknown[];
  thread_ts?: string;
  user: string;
  bot_id: string;
  edited?: { user: string; ts: string };
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
  /** Every version of the message, oldest first: `history[0]` is as posted, the last entry is current. */
  history: Array<{ text: string; blocks: unknown[]; at: number }>;
}

export interface EphemeralResponse {
  via: "response_url" | "chat.postEphemeral";
  user?: string;
  channel?: string;
  text: string;
  blocks?: unknown[];
  response_type?: string;
  replace_original?: boolean;
  delete_original?: boolean;
  thread_ts?: string;
  /** The response_url that was used (only for `via: "response_url"`). */
  url?: string;
  at: number;
}

/**
 * What Slack knows about the interaction a response_url belongs to. With `channel` and `messageTs`
 * of a (non-ephemeral) message, `replace_original` / `delete_original` act on `messages`; with
 * `channel`, `response_type: "in_channel"` posts a visible message.
 */
export interface ResponseUrlContext {
  channel?: string;
  user?: string;
  messageTs?: string;
  isEphemeral?: boolean;
}

export interface SlackStandInOptions {
  /** The only bot token the stand-in accepts (default `xoxb-test-token`). */
  token?: string;
  /** Whether the bot holds `chat:write.public` (may post to public channels it is not in). Default false. */
  chatWritePublic?: boolean;
  /** The bot token's other scopes (default `DEFAULT_SLACK_SCOPES`); only conversations.info checks them. */
  scopes?: string[];
  /** Clock used for response_url expiry and `at` stamps (default `Date.now`). */
  now?: () => number;
}

export interface AddChannelOptions {
  name?: string;
  /** Whether the bot is a member (default true). */
  isMember?: boolean;
  /** Private channels the bot is not in are invisible to it: `channel_not_found`. */
  isPrivate?: boolean;
  isArchived?: boolean;
  /** When given, chat.postEphemeral to a user outside this list fails with `user_not_in_channel`. */
  members?: string[];
}

interface ChannelRecord {
  id: string;
  name: string;
  isMember: boolean;
  isPrivate: boolean;
  isArchived: boolean;
  members: Set<string> | undefined;
  created: number;
}

interface ResponseUrlRecord {
  url: string;
  context: ResponseUrlContext;
  uses: number;
  createdAt: number;
}

type Args = Record<string, unknown>;
type MethodHandler = (args: Args) => StandInResponse;
/** A plugged-in Web API method: it gets the whole request and authenticates it itself. */
export type ExtraMethodHandler = (req: StandInRequest) => StandInResponse | Promise<StandInResponse>;

/**
 * Methods that take JSON bodies. Slack documents JSON for "most write methods"; read methods such
 * as conversations.info or users.info only read form or query arguments, so a JSON body sent to them
 * arrives without arguments (and fails with e.g. `channel_not_found`), as it does against Slack.
 */
const JSON_METHODS = new Set(["chat.postMessage", "chat.update", "chat.postEphemeral"]);

/** conversations.history's page size: 100 by default, at most 999 (method reference). */
const HISTORY_DEFAULT_LIMIT = 100;
const HISTORY_MAX_LIMIT = 999;

/** The bot token's scopes unless the stand-in is given others (`chat:write.public` follows `chatWritePublic`). */
export const DEFAULT_SLACK_SCOPES = [
  "chat:write",
  "commands",
  "usergroups:read",
  "users:read",
  "channels:read",
  "groups:read",
  "channels:history",
  "groups:history",
];

/** The part of a message Slack sends back in API answers and interaction payloads. */
export function messagePayload(message: SlackMessage): Record<string, unknown> {
  return {
    user: message.user,
    type: "message",
    ts: message.ts,
    bot_id: message.bot_id,
    app_id: SLACK_APP_ID,
    text: message.text,
    team: SLACK_TEAM_ID,
    bot_profile: botProfile(),
    ...(message.edited ? { edited: message.edited } : {}),
    ...(message.thread_ts ? { thread_ts: message.thread_ts } : {}),
    blocks: message.blocks,
  };
}

function botProfile(): Record<string, unknown> {
  return { id: SLACK_BOT_ID, app_id: SLACK_APP_ID, name: SLACK_BOT_USER_NAME, deleted: false, team_id: SLACK_TEAM_ID };
}

function ok(body: Record<string, unknown>): StandInResponse {
  return { status: 200, body: { ok: true, ...body } };
}

function fail(error: string, extra: Record<string, unknown> = {}): StandInResponse {
  return { status: 200, body: { ok: false, error, ...extra } };
}

function textResponse(status: number, body: string): StandInResponse {
  return { status, body };
}

export class SlackStandIn extends HttpStandIn {
  readonly token: string;
  /** Whether the bot holds `chat:write.public`; may be changed between calls. */
  chatWritePublic: boolean;
  /** The bot token's scopes besides `chat:write.public`; may be changed between calls. */
  scopes: string[];
  /** Channel messages, thread replies included, in post order. Deleted messages are removed. */
  readonly messages: SlackMessage[] = [];
  /** Everything sent to a response_url or via chat.postEphemeral, in order. */
  readonly ephemerals: EphemeralResponse[] = [];

  private readonly now: () => number;
  private readonly channels = new Map<string, ChannelRecord>();
  private readonly userGroups = new Map<string, { id: string; handle: string; users: string[] }>();
  private readonly users = new Map<string, { id: string; name: string }>();
  private readonly responseUrls = new Map<string, ResponseUrlRecord>();
  private readonly methods: Record<string, MethodHandler> = {
    "auth.test": () => this.authTest(),
    "chat.postMessage": (args) => this.postMessage(args),
    "chat.update": (args) => this.update(args),
    "chat.postEphemeral": (args) => this.postEphemeral(args),
    "usergroups.users.list": (args) => this.userGroupUsers(args),
    "conversations.info": (args) => this.conversationInfo(args),
    "conversations.history": (args) => this.conversationHistory(args),
    "users.info": (args) => this.userInfo(args),
    "views.publish": (args) => this.viewsPublish(args),
  };
  private readonly extraMethods = new Map<string, ExtraMethodHandler>();
  private lastTsMicros = 0;
  private idCounter = 0;
  private responseUrlCounter = 0;

  constructor(options: SlackStandInOptions = {}) {
    super("Slack");
    this.token = options.token ?? DEFAULT_SLACK_TOKEN;
    this.chatWritePublic = options.chatWritePublic ?? false;
    this.scopes = [...(options.scopes ?? DEFAULT_SLACK_SCOPES)];
    this.now = options.now ?? Date.now;
    // Slack answers GET with query arguments as well; WebClient always POSTs.
    this.route("POST", "/api/:method", (req) => this.handleApi(req));
    this.route("GET", "/api/:method", (req) => this.handleApi(req));
    this.route("POST", "/response/:id", (req) => this.handleResponseUrl(req));
  }

  /** Base URL for `WebClient`'s `slackApiUrl` (ends with a slash, like `https://slack.com/api/`). */
  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  addChannel(id: string, opts: AddChannelOptions = {}): void {
    this.channels.set(id, {
      id,
      name: opts.name ?? id.toLowerCase(),
      isMember: opts.isMember ?? true,
      isPrivate: opts.isPrivate ?? false,
      isArchived: opts.isArchived ?? false,
      members: opts.members ? new Set(opts.members) : undefined,
      created: 1_600_000_000,
    });
  }

  addUserGroup(id: string, handle: string, userIds: string[]): void {
    this.userGroups.set(id, { id, handle, users: [...userIds] });
  }

  addUser(id: string, name: string): void {
    this.users.set(id, { id, name });
  }

  /**
   * A fresh response_url, as Slack puts in a slash command or interaction payload. POSTs to it are
   * recorded in `ephemerals`; the 6th use, or a use after 30 minutes, answers 404.
   */
  responseUrl(context: ResponseUrlContext = {}): string {
    this.responseUrlCounter += 1;
    const id = `R${String(this.responseUrlCounter).padStart(4, "0")}${shortId(`response-${this.responseUrlCounter}`, 8)}`;
    const url = `${this.url}/response/${id}`;
    this.responseUrls.set(id, { url, context: { ...context }, uses: 0, createdAt: this.now() });
    return url;
  }

  /**
   * Serves another Web API method (e.g. `apps.connections.open`). The handler authenticates the call
   * itself: the bot-token check of the built-in methods does not apply. Built-in methods cannot be replaced.
   */
  registerMethod(method: string, handler: ExtraMethodHandler): void {
    if (Object.hasOwn(this.methods, method)) throw new Error(`${method} is a built-in method of the Slack stand-in`);
    this.extraMethods.set(method, handler);
  }

  /** Answers the next `times` calls of `method` with HTTP 429 and `Retry-After`, as Slack does. */
  rateLimit(method: string, options: { retryAfterSeconds?: number; times?: number } = {}): void {
    this.fault({
      path: `/api/${method}`,
      times: options.times ?? 1,
      response: {
        status: 429,
        headers: { "retry-after": String(options.retryAfterSeconds ?? 1) },
        body: { ok: false, error: "ratelimited" },
      },
    });
  }

  /**
   * Slack down for `ms` from now: every Web API call (`methods`, default all) answers as Slack does in
   * an outage, either HTTP 503 (which WebClient retries itself) or HTTP 200 `{ ok: false, error:
   * "service_unavailable" }`, one of the transient errors every method's reference lists
   * (docs.slack.dev/reference/methods: internal_error, fatal_error, service_unavailable). Which of the
   * two a real outage produces is not documented; tests should survive both.
   */
  unavailableFor(ms: number, options: { as?: "http_503" | "ok_false"; methods?: RegExp } = {}): void {
    const until = Date.now() + ms;
    this.fault({
      path: options.methods ?? /^\/api\//,
      times: Number.POSITIVE_INFINITY,
      when: () => Date.now() < until,
      response:
        options.as === "ok_false"
          ? { status: 200, body: { ok: false, error: "service_unavailable" } }
          : { status: 503, body: "Service Unavailable" },
    });
  }

  /** Top-level messages of a channel (thread parents included, replies excluded). */
  topLevel(channel: string): SlackMessage[] {
    return this.messages.filter((m) => m.channel === channel && (!m.thread_ts || m.thread_ts === m.ts));
  }

  /** Replies in the thread of `threadTs`, oldest first. */
  replies(channel: string, threadTs: string): SlackMessage[] {
    return this.messages.filter((m) => m.channel === channel && m.thread_ts === threadTs && m.ts !== threadTs);
  }

  /**
   * Polls `predicate` every 10 ms until it returns something truthy, and resolves with that value.
   * A predicate that throws counts as "not yet" (handy for `messages[0]!.text` style checks).
   */
  async waitFor<T>(predicate: () => T | undefined | false | null, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
      try {
        const value = predicate();
        if (value) return value;
        lastError = undefined;
      } catch (error) {
        lastError = error;
      }
      if (Date.now() >= deadline) break;
      await sleep(10);
    }
    throw new Error(this.describeTimeout(predicate, timeoutMs, lastError));
  }

  // ---------------------------------------------------------------- Web API

  private async handleApi(req: StandInRequest): Promise<StandInResponse> {
    const method = req.params.method ?? "";
    const handler = this.methods[method];
    if (!handler) {
      const extra = this.extraMethods.get(method);
      return extra ? extra(req) : fail("unknown_method", { req_method: method });
    }
    const parsed = parseArguments(req, JSON_METHODS.has(method));
    if ("error" in parsed) return fail(parsed.error);
    if (!parsed.token) return fail("not_authed");
    if (parsed.token !== this.token) return fail("invalid_auth");
    const response = handler(parsed.args);
    // Slack names the token's scopes on every authenticated answer; WebClient reads them into
    // `response_metadata.scopes`.
    return { ...response, headers: { ...response.headers, "x-oauth-scopes": this.grantedScopes().join(",") } };
  }

  private grantedScopes(): string[] {
    return this.chatWritePublic ? [...this.scopes, "chat:write.public"] : [...this.scopes];
  }

  /** Slack's answer to a call the token lacks a scope for: `missing_scope` with `needed` and `provided`. */
  private missingScope(needed: string): StandInResponse | undefined {
    if (this.grantedScopes().includes(needed)) return undefined;
    return fail("missing_scope", { needed, provided: this.grantedScopes().join(",") });
  }

  private authTest(): StandInResponse {
    return ok({
      url: `https://${SLACK_TEAM_DOMAIN}.slack.com/`,
      team: SLACK_TEAM_NAME,
      user: SLACK_BOT_USER_NAME,
      team_id: SLACK_TEAM_ID,
      user_id: SLACK_BOT_USER_ID,
      bot_id: SLACK_BOT_ID,
      is_enterprise_install: false,
    });
  }

  private postMessage(args: Args): StandInResponse {
    const target = this.writableChannel(stringArg(args, "channel"));
    if (typeof target === "string") return fail(target);
    const content = readContent(args);
    if ("error" in content) return fail(content.error, content.extra);
    const metadata = readMetadata(args);
    if (metadata === "invalid") return fail("invalid_metadata_format");
    const threadTs = stringArg(args, "thread_ts");
    const parent = threadTs ? this.find(target.id, threadTs) : undefined;
    const message: SlackMessage = {
      channel: target.id,
      ts: this.nextTs(),
      text: content.text ?? "",
      blocks: this.withGeneratedIds(content.blocks ?? []),
      user: SLACK_BOT_USER_ID,
      bot_id: SLACK_BOT_ID,
      history: [],
    };
    if (threadTs) message.thread_ts = threadTs;
    if (metadata) message.metadata = metadata;
    message.history.push({ text: message.text, blocks: message.blocks, at: this.now() });
    this.messages.push(message);
    return ok({
      channel: message.channel,
      ts: message.ts,
      message: { ...messagePayload(message), ...(parent ? { parent_user_id: parent.user } : {}) },
    });
  }

  private update(args: Args): StandInResponse {
    const channel = this.resolveChannel(stringArg(args, "channel"));
    if (!channel || !this.visible(channel)) return fail("channel_not_found");
    if (channel.isArchived) return fail("is_inactive");
    const ts = stringArg(args, "ts");
    const message = ts ? this.find(channel.id, ts) : undefined;
    if (!message) return fail("message_not_found");
    if (message.user !== SLACK_BOT_USER_ID) return fail("cant_update_message");
    const content = readContent(args);
    if ("error" in content) return fail(content.error, content.extra);
    const metadata = readMetadata(args);
    if (metadata === "invalid") return fail("invalid_metadata_format");
    if (metadata) message.metadata = metadata;
    // Absent `blocks` keeps the old ones; `[]` removes them (chat.update docs). Absent `text` keeps
    // the old text: an assumption, Slack does not document it.
    if (content.text !== undefined) message.text = content.text;
    if (content.blocks !== undefined) message.blocks = this.withGeneratedIds(content.blocks);
    message.edited = { user: SLACK_BOT_USER_ID, ts: this.nextTs() };
    message.history.push({ text: message.text, blocks: message.blocks, at: this.now() });
    // chat.update answers the message without its ts (see the method's example response).
    const updated = messagePayload(message);
    delete updated.ts;
    delete updated.thread_ts;
    return ok({ channel: message.channel, ts: message.ts, text: message.text, message: updated });
  }

  private postEphemeral(args: Args): StandInResponse {
    const target = this.writableChannel(stringArg(args, "channel"));
    if (typeof target === "string") return fail(target);
    const user = stringArg(args, "user");
    if (!user || (target.members && !target.members.has(user))) return fail("user_not_in_channel");
    const content = readContent(args);
    if ("error" in content) return fail(content.error, content.extra);
    const entry: EphemeralResponse = {
      via: "chat.postEphemeral",
      user,
      channel: target.id,
      text: content.text ?? "",
      at: this.now(),
    };
    if (content.blocks !== undefined) entry.blocks = this.withGeneratedIds(content.blocks);
    const threadTs = stringArg(args, "thread_ts");
    if (threadTs) entry.thread_ts = threadTs;
    this.ephemerals.push(entry);
    return ok({ message_ts: this.nextTs() });
  }

  /**
   * A channel's top-level messages (thread parents included, replies excluded), newest first, between
   * `oldest` and `latest` (exclusive unless `inclusive`), `limit` a page with an opaque `cursor`.
   * A bot token reads only conversations the bot is a member of (method reference: "Any conversation
   * the relevant bot is a member of"), with channels:history (public) or groups:history (private).
   */
  private conversationHistory(args: Args): StandInResponse {
    const channel = this.resolveChannel(stringArg(args, "channel"));
    if (!channel || !this.visible(channel)) return fail("channel_not_found");
    const denied = this.missingScope(channel.isPrivate ? "groups:history" : "channels:history");
    if (denied) return denied;
    if (!channel.isMember) return fail("not_in_channel");
    const limitArg = Number(stringArg(args, "limit") ?? HISTORY_DEFAULT_LIMIT);
    const limit = Number.isFinite(limitArg) && limitArg > 0 ? Math.min(Math.floor(limitArg), HISTORY_MAX_LIMIT) : 0;
    if (limit === 0) return fail("invalid_limit");
    const inclusive = ["true", "1"].includes(String(args.inclusive ?? ""));
    const oldest = Number(stringArg(args, "oldest") ?? 0);
    const latest = Number(stringArg(args, "latest") ?? Number.POSITIVE_INFINITY);
    const inRange = (ts: number) =>
      (inclusive ? ts >= oldest : ts > oldest) && (inclusive ? ts <= latest : ts < latest);
    const all = this.topLevel(channel.id)
      .filter((m) => inRange(Number(m.ts)))
      .reverse();
    const cursor = stringArg(args, "cursor");
    const start = cursor
      ? Number(
          Buffer.from(cursor, "base64")
            .toString("utf8")
            .replace(/^next:/, ""),
        )
      : 0;
    if (!Number.isInteger(start) || start < 0) return fail("invalid_cursor");
    const page = all.slice(start, start + limit);
    const more = start + limit < all.length;
    const withMetadata = ["true", "1"].includes(String(args.include_all_metadata ?? ""));
    return ok({
      // Whether Slack returns an app's own metadata without include_all_metadata is not documented:
      // here it is returned only when asked for.
      messages: page.map((m) => ({
        ...messagePayload(m),
        ...(withMetadata && m.metadata ? { metadata: m.metadata } : {}),
      })),
      has_more: more,
      pin_count: 0,
      response_metadata: { next_cursor: more ? Buffer.from(`next:${start + limit}`).toString("base64") : "" },
    });
  }

  private userGroupUsers(args: Args): StandInResponse {
    const group = this.userGroups.get(stringArg(args, "usergroup") ?? "");
    if (!group) return fail("no_such_subteam");
    return ok({ users: [...group.users] });
  }

  private conversationInfo(args: Args): StandInResponse {
    const channel = this.resolveChannel(stringArg(args, "channel"));
    if (!channel || !this.visible(channel)) return fail("channel_not_found");
    // conversations.info needs the read scope of the conversation's type: channels:read for a public
    // channel, groups:read for a private one (method reference; the error shape, with `needed` and
    // `provided`, as in DataDog/slapr PR 47). Whether Slack checks the scope before or after looking the
    // channel up is not documented: here an invisible channel is `channel_not_found` first.
    const denied = this.missingScope(channel.isPrivate ? "groups:read" : "channels:read");
    if (denied) return denied;
    return ok({
      channel: {
        id: channel.id,
        name: channel.name,
        is_channel: !channel.isPrivate,
        is_group: channel.isPrivate,
        is_im: false,
        is_mpim: false,
        is_private: channel.isPrivate,
        created: channel.created,
        creator: "UCREATOR01",
        is_archived: channel.isArchived,
        is_general: false,
        unlinked: 0,
        name_normalized: channel.name,
        is_shared: false,
        is_ext_shared: false,
        is_org_shared: false,
        pending_shared: [],
        is_pending_ext_shared: false,
        is_member: channel.isMember,
        topic: { value: "", creator: "", last_set: 0 },
        purpose: { value: "", creator: "", last_set: 0 },
        previous_names: [],
      },
    });
  }

  /** views.publish: the App Home view each user sees, latest last. https://api.slack.com/methods/views.publish */
  readonly homeViews: Array<{ user: string; view: { type: string; blocks: unknown[] }; at: number }> = [];

  homeOf(user: string): { type: string; blocks: unknown[] } | undefined {
    return this.homeViews.filter((v) => v.user === user).at(-1)?.view;
  }

  private viewsPublish(args: Args): StandInResponse {
    const user = stringArg(args, "user_id");
    if (!user) return fail("invalid_arguments");
    if (!this.users.has(user)) return fail("user_not_found");
    let view: unknown = args.view;
    if (typeof view === "string") {
      try {
        view = JSON.parse(view);
      } catch {
        return fail("invalid_arguments");
      }
    }
    if (!isRecord(view) || view.type !== "home" || !Array.isArray(view.blocks)) return fail("invalid_arguments");
    if (view.blocks.length > 100) return fail("invalid_blocks");
    const published = { type: "home", blocks: view.blocks as unknown[] };
    this.homeViews.push({ user, view: published, at: this.now() });
    return ok({ view: { id: `V${this.homeViews.length}`, type: "home", blocks: published.blocks } });
  }

  private userInfo(args: Args): StandInResponse {
    const id = stringArg(args, "user") ?? "";
    const isBot = id === SLACK_BOT_USER_ID;
    const user = isBot ? { id, name: SLACK_BOT_USER_NAME } : this.users.get(id);
    if (!user) return fail("user_not_found");
    return ok({
      user: {
        id: user.id,
        team_id: SLACK_TEAM_ID,
        name: user.name,
        deleted: false,
        real_name: user.name,
        tz: "Europe/London",
        tz_label: "Greenwich Mean Time",
        tz_offset: 0,
        is_admin: false,
        is_owner: false,
        is_bot: isBot,
        is_app_user: false,
        updated: 1_600_000_000,
        profile: {
          real_name: user.name,
          display_name: user.name,
          real_name_normalized: user.name,
          display_name_normalized: user.name,
          team: SLACK_TEAM_ID,
          ...(isBot ? { bot_id: SLACK_BOT_ID } : {}),
        },
      },
    });
  }

  // ---------------------------------------------------------------- response_url

  private handleResponseUrl(req: StandInRequest): StandInResponse {
    const id = req.params.id ?? "";
    const record = this.responseUrls.get(id);
    if (!record) return textResponse(404, "invalid_url");
    if (this.now() - record.createdAt > RESPONSE_URL_TTL_MS) return textResponse(404, "expired_url");
    if (record.uses >= RESPONSE_URL_MAX_USES) return textResponse(404, "used_url");

    const body = parseResponseBody(req);
    if (!body) return textResponse(400, "invalid_payload");
    const result = this.respondWith(record.context, body, record.url);
    if (typeof result === "string") return textResponse(400, result);
    record.uses += 1;
    return { status: 200, body: { ok: true } };
  }

  /**
   * A message in the body of the HTTP answer to a slash command (Bolt's `ack(message)`): Slack
   * treats it as a response_url use, ephemeral to the user unless `response_type` is `in_channel`.
   * Returns the recorded entry, or the error Slack would show.
   */
  acknowledgement(context: ResponseUrlContext, body: Record<string, unknown>): EphemeralResponse | string {
    return this.respondWith(context, body);
  }

  private respondWith(
    context: ResponseUrlContext,
    body: Record<string, unknown>,
    url?: string,
  ): EphemeralResponse | string {
    const deleteOriginal = body.delete_original === true || body.delete_original === "true";
    const replaceOriginal = body.replace_original === true || body.replace_original === "true";
    const bodyText = typeof body.text === "string" ? body.text : undefined;
    let blocks: unknown[] | undefined;
    if (body.blocks !== undefined) {
      const parsed = parseJsonArray(body.blocks);
      if (!parsed) return "invalid_blocks_format";
      const problems = validateBlocks(parsed);
      if (problems.length > 0) return "invalid_blocks";
      blocks = parsed;
    }
    if (!deleteOriginal && !bodyText && !blocks?.length && !body.attachments) return "no_text";

    const entry: EphemeralResponse = { via: "response_url", text: bodyText ?? "", at: this.now() };
    if (url) entry.url = url;
    if (context.user) entry.user = context.user;
    if (context.channel) entry.channel = context.channel;
    if (blocks) entry.blocks = this.withGeneratedIds(blocks);
    if (typeof body.response_type === "string") entry.response_type = body.response_type;
    if (body.replace_original !== undefined) entry.replace_original = replaceOriginal;
    if (body.delete_original !== undefined) entry.delete_original = deleteOriginal;
    if (typeof body.thread_ts === "string") entry.thread_ts = body.thread_ts;
    this.ephemerals.push(entry);
    this.applyResponseSideEffects(context, entry);
    return entry;
  }

  /** What Slack does to the conversation when a response_url is used. */
  private applyResponseSideEffects(context: ResponseUrlContext, entry: EphemeralResponse): void {
    const original =
      context.channel && context.messageTs && !context.isEphemeral
        ? this.find(context.channel, context.messageTs)
        : undefined;
    if (entry.delete_original) {
      if (original) this.messages.splice(this.messages.indexOf(original), 1);
      return;
    }
    if (entry.replace_original) {
      if (original) {
        // A replacement is a whole new message body: blocks not sent are gone.
        original.text = entry.text;
        original.blocks = entry.blocks ?? [];
        original.history.push({ text: original.text, blocks: original.blocks, at: entry.at });
      }
      return;
    }
    if (entry.response_type === "in_channel" && context.channel) {
      const message: SlackMessage = {
        channel: context.channel,
        ts: this.nextTs(),
        text: entry.text,
        blocks: entry.blocks ?? [],
        user: SLACK_BOT_USER_ID,
        bot_id: SLACK_BOT_ID,
        history: [],
      };
      if (entry.thread_ts) message.thread_ts = entry.thread_ts;
      message.history.push({ text: message.text, blocks: message.blocks, at: entry.at });
      this.messages.push(message);
    }
  }

  // ---------------------------------------------------------------- helpers

  private resolveChannel(idOrName: string | undefined): ChannelRecord | undefined {
    if (!idOrName) return undefined;
    const direct = this.channels.get(idOrName);
    if (direct) return direct;
    // chat.postMessage also takes a channel name ("#deploys" or "deploys").
    const name = idOrName.replace(/^#/, "");
    return [...this.channels.values()].find((c) => c.name === name);
  }

  /** A private channel the bot is not in does not exist as far as the bot can tell. */
  private visible(channel: ChannelRecord): boolean {
    return !channel.isPrivate || channel.isMember;
  }

  /** The channel a bot may post into, or the error Slack would answer. */
  private writableChannel(idOrName: string | undefined): ChannelRecord | string {
    const channel = this.resolveChannel(idOrName);
    if (!channel || !this.visible(channel)) return "channel_not_found";
    if (channel.isArchived) return "is_archived";
    if (!channel.isMember && !(this.chatWritePublic && !channel.isPrivate)) return "not_in_channel";
    return channel;
  }

  private find(channel: string, ts: string): SlackMessage | undefined {
    return this.messages.find((m) => m.channel === channel && m.ts === ts);
  }

  /**
   * Increasing message timestamps, as Slack's: the epoch seconds of the stand-in's clock and a
   * sequence within them ("1796301123.000100", "1796301123.000200", ...).
   */
  private nextTs(): string {
    const micros = Math.max(this.now() * 1000, this.lastTsMicros + 100);
    this.lastTsMicros = micros - (micros % 100);
    const seconds = Math.floor(this.lastTsMicros / 1_000_000);
    return `${seconds}.${String(this.lastTsMicros % 1_000_000).padStart(6, "0")}`;
  }

  /** Copies blocks, giving ids to blocks and interactive elements that lack them, as Slack does. */
  private withGeneratedIds(blocks: unknown[]): unknown[] {
    const copy = structuredClone(blocks);
    for (const block of copy) {
      if (!isRecord(block)) continue;
      if (typeof block.block_id !== "string") block.block_id = this.generatedId();
      for (const element of interactiveElements(block)) {
        if (typeof element.action_id !== "string") element.action_id = this.generatedId();
      }
    }
    return copy;
  }

  private generatedId(): string {
    this.idCounter += 1;
    return shortId(`id-${this.idCounter}`, 5);
  }

  private describeTimeout(predicate: () => unknown, timeoutMs: number, lastError: unknown): string {
    const lines = [`SlackStandIn.waitFor: condition not met within ${timeoutMs} ms`];
    lines.push(`  condition: ${String(predicate).replace(/\s+/g, " ").slice(0, 300)}`);
    if (lastError !== undefined) lines.push(`  last error from the condition: ${String(lastError)}`);
    lines.push(`  messages (${this.messages.length}):`);
    for (const m of this.messages.slice(-10)) {
      const thread = m.thread_ts && m.thread_ts !== m.ts ? ` (reply to ${m.thread_ts})` : "";
      lines.push(`    ${m.channel} ${m.ts}${thread}: ${JSON.stringify(m.text.slice(0, 120))}`);
    }
    lines.push(`  ephemerals (${this.ephemerals.length}):`);
    for (const e of this.ephemerals.slice(-10)) {
      lines.push(`    ${e.via} to ${e.user ?? "?"} in ${e.channel ?? "?"}: ${JSON.stringify(e.text.slice(0, 120))}`);
    }
    const recent = this.calls.slice(-10).map((c) => `${c.method} ${c.path}`);
    lines.push(`  last calls (${this.calls.length} in all): ${recent.join(", ") || "none"}`);
    return lines.join("\n");
  }
}

// -------------------------------------------------------------------- request parsing

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringArg(args: Args, key: string): string | undefined {
  const value = args[key];
  if (typeof value === "string") return value === "" ? undefined : value;
  // A JSON number loses trailing zeros ("1700000000.000100" -> 1700000000.0001): Slack then finds
  // no such message, which is why WebClient warns about a non-string thread_ts.
  if (typeof value === "number") return String(value);
  return undefined;
}

/** The token of an `Authorization: Bearer <token>` header, if any. */
export function bearer(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value ? /^Bearer\s+(\S+)$/i.exec(value.trim()) : null;
  return match?.[1];
}

/** Arguments and token of a Web API call, read the way Slack reads them. */
function parseArguments(req: StandInRequest, acceptsJson: boolean): { args: Args; token?: string } | { error: string } {
  const args: Args = Object.fromEntries(req.query);
  let token = bearer(req.headers.authorization);
  const contentType = (req.headers["content-type"] ?? "").toLowerCase();
  if (req.rawBody) {
    if (contentType.includes("application/json")) {
      let body: unknown;
      try {
        body = JSON.parse(req.rawBody);
      } catch {
        return { error: "invalid_json" };
      }
      if (!isRecord(body)) return { error: "invalid_json" };
      // JSON bodies only count with the token in the Authorization header.
      if (acceptsJson) Object.assign(args, body);
    } else if (contentType.includes("application/x-www-form-urlencoded") || contentType.includes("text/plain")) {
      const form = Object.fromEntries(new URLSearchParams(req.rawBody));
      Object.assign(args, form);
      if (!token && typeof form.token === "string") token = form.token;
    } else if (!contentType) {
      return { error: "missing_post_type" };
    } else {
      // multipart/form-data is valid for Slack but not modelled here (the bot uploads no files).
      return { error: "invalid_post_type" };
    }
  }
  // Tokens in the query string are refused for apps created since 2021, so they are not read here.
  return token ? { args, token } : { args };
}

function parseJsonArray(value: unknown): unknown[] | undefined {
  if (Array.isArray(value)) return value;
  if (typeof value !== "string") return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

type Content =
  | { text?: string; blocks?: unknown[]; hasAttachments: boolean }
  | { error: string; extra?: Record<string, unknown> };

/** `text`, `blocks` and `attachments` of a chat.* call, with Slack's checks. */
/**
 * `metadata` of chat.postMessage / chat.update: `{ event_type, event_payload }`, a JSON string in a
 * form body or an object in a JSON one. Undefined when absent; "invalid" when Slack would refuse it.
 */
function readMetadata(args: Args): SlackMessage["metadata"] | "invalid" | undefined {
  let value = args.metadata;
  if (value === undefined || value === "") return undefined;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      return "invalid";
    }
  }
  if (!isRecord(value) || typeof value.event_type !== "string" || !isRecord(value.event_payload)) return "invalid";
  return { event_type: value.event_type, event_payload: structuredClone(value.event_payload) };
}

function readContent(args: Args): Content {
  const text = typeof args.text === "string" ? args.text : undefined;
  let blocks: unknown[] | undefined;
  if (args.blocks !== undefined && args.blocks !== "") {
    blocks = parseJsonArray(args.blocks);
    if (!blocks) return { error: "invalid_blocks_format" };
    const problems = validateBlocks(blocks);
    if (problems.length > 0) {
      return {
        error: "invalid_blocks",
        extra: { errors: problems, response_metadata: { messages: problems.map((p) => `[ERROR] ${p}`) } },
      };
    }
  }
  let hasAttachments = false;
  if (args.attachments !== undefined && args.attachments !== "") {
    const attachments = parseJsonArray(args.attachments);
    if (!attachments) return { error: "invalid_attachments" };
    if (attachments.length > 100) return { error: "too_many_attachments" };
    hasAttachments = attachments.length > 0;
  }
  if (!text && !blocks?.length && !hasAttachments) return { error: "no_text" };
  if (text && text.length > 40_000) return { error: "msg_too_long" };
  const content: { text?: string; blocks?: unknown[]; hasAttachments: boolean } = { hasAttachments };
  if (text !== undefined) content.text = text;
  if (blocks !== undefined) content.blocks = blocks;
  return content;
}

function parseResponseBody(req: StandInRequest): Record<string, unknown> | undefined {
  try {
    const contentType = (req.headers["content-type"] ?? "").toLowerCase();
    if (contentType.includes("application/x-www-form-urlencoded")) {
      // Like incoming webhooks, a response_url also takes `payload=<json>`.
      const payload = new URLSearchParams(req.rawBody).get("payload");
      const parsed: unknown = payload ? JSON.parse(payload) : undefined;
      return isRecord(parsed) ? parsed : undefined;
    }
    const parsed: unknown = JSON.parse(req.rawBody);
    return isRecord(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

// -------------------------------------------------------------------- Block Kit checks

function interactiveElements(block: Record<string, unknown>): Array<Record<string, unknown>> {
  const found: Array<Record<string, unknown>> = [];
  if (Array.isArray(block.elements) && (block.type === "actions" || block.type === "context_actions")) {
    for (const element of block.elements) if (isRecord(element)) found.push(element);
  }
  if (isRecord(block.accessory) && block.accessory.type !== "image") found.push(block.accessory);
  if (block.type === "input" && isRecord(block.element)) found.push(block.element);
  return found;
}

/**
 * The Block Kit limits a promote-bot message can run into, with messages shaped like Slack's
 * (`must be less than 3001 characters [json-pointer:/blocks/0/text/text]`). Unknown block types
 * are let through: Slack keeps adding them.
 */
export function validateBlocks(blocks: unknown[]): string[] {
  const problems: string[] = [];
  const at = (path: string) => `[json-pointer:/blocks${path}]`;
  if (blocks.length > 50) problems.push(`no more than 50 items allowed ${at("")}`);
  const blockIds = new Set<string>();
  blocks.forEach((block, i) => {
    const p = `/${i}`;
    if (!isRecord(block) || typeof block.type !== "string") {
      problems.push(`missing required field: type ${at(p)}`);
      return;
    }
    if (typeof block.block_id === "string") {
      if (block.block_id.length > 255) problems.push(`must be less than 256 characters ${at(`${p}/block_id`)}`);
      if (blockIds.has(block.block_id)) problems.push(`duplicate block_id ${block.block_id} ${at(`${p}/block_id`)}`);
      blockIds.add(block.block_id);
    }
    switch (block.type) {
      case "section": {
        if (block.text === undefined && block.fields === undefined) {
          problems.push(`must provide either text or fields ${at(p)}`);
        }
        if (block.text !== undefined) checkText(block.text, `${p}/text`, 3000, problems, at);
        if (block.fields !== undefined) {
          if (!Array.isArray(block.fields)) problems.push(`must be an array ${at(`${p}/fields`)}`);
          else {
            if (block.fields.length > 10) problems.push(`no more than 10 items allowed ${at(`${p}/fields`)}`);
            for (const [j, field] of block.fields.entries()) checkText(field, `${p}/fields/${j}`, 2000, problems, at);
          }
        }
        break;
      }
      case "header":
        checkText(block.text, `${p}/text`, 150, problems, at, "plain_text");
        break;
      case "context":
        if (!Array.isArray(block.elements) || block.elements.length === 0) {
          problems.push(`must provide at least 1 item ${at(`${p}/elements`)}`);
        } else if (block.elements.length > 10) {
          problems.push(`no more than 10 items allowed ${at(`${p}/elements`)}`);
        }
        break;
      case "actions":
        if (!Array.isArray(block.elements) || block.elements.length === 0) {
          problems.push(`must provide at least 1 item ${at(`${p}/elements`)}`);
        } else if (block.elements.length > 25) {
          problems.push(`no more than 25 items allowed ${at(`${p}/elements`)}`);
        }
        break;
      default:
        break;
    }
    const actionIds = new Set<string>();
    const elements = interactiveElements(block);
    elements.forEach((element) => {
      const ep =
        block.accessory === element
          ? `${p}/accessory`
          : block.element === element
            ? `${p}/element`
            : `${p}/elements/${Array.isArray(block.elements) ? block.elements.indexOf(element) : 0}`;
      if (typeof element.action_id === "string") {
        if (element.action_id.length > 255) problems.push(`must be less than 256 characters ${at(`${ep}/action_id`)}`);
        if (actionIds.has(element.action_id)) {
          problems.push(`duplicate action_id ${element.action_id} ${at(`${ep}/action_id`)}`);
        }
        actionIds.add(element.action_id);
      }
      if (element.type === "button") {
        checkText(element.text, `${ep}/text`, 75, problems, at, "plain_text");
        if (typeof element.value === "string" && element.value.length > 2000) {
          problems.push(`must be less than 2001 characters ${at(`${ep}/value`)}`);
        }
        if (typeof element.url === "string" && element.url.length > 3000) {
          problems.push(`must be less than 3001 characters ${at(`${ep}/url`)}`);
        }
        if (element.style !== undefined && element.style !== "primary" && element.style !== "danger") {
          problems.push(`must be one of primary, danger ${at(`${ep}/style`)}`);
        }
      }
    });
  });
  return problems;
}

function checkText(
  value: unknown,
  path: string,
  max: number,
  problems: string[],
  at: (path: string) => string,
  onlyType?: "plain_text",
): void {
  if (!isRecord(value)) {
    problems.push(`must be a text object ${at(path)}`);
    return;
  }
  const allowed = onlyType ? [onlyType] : ["plain_text", "mrkdwn"];
  if (typeof value.type !== "string" || !allowed.includes(value.type)) {
    problems.push(`must be one of ${allowed.join(", ")} ${at(`${path}/type`)}`);
  }
  if (typeof value.text !== "string" || value.text.length === 0) {
    problems.push(`must be more than 0 characters ${at(`${path}/text`)}`);
  } else if (value.text.length > max) {
    problems.push(`must be less than ${max + 1} characters ${at(`${path}/text`)}`);
  }
}

/** A short deterministic id in Slack's style ("XTkTR"). */
function shortId(seed: string, length: number): string {
  return createHash("sha256").update(seed).digest("base64url").replace(/[-_]/g, "x").slice(0, length);
}
