/** ChatPort over Slack's WebClient (Bolt's `app.client`). */
import type { Block, KnownBlock } from "@slack/types";
import type { WebClient } from "@slack/web-api";
import type { ChatMessage, ChatPort, MessageSearch } from "../../domain/ports.js";
import { withRetry } from "../../infra/retry.js";
import { isSlackError, isTransientSlackError } from "./slack-errors.js";

// Block Kit arrays are built by views/ and checked against Slack's limits there.
type Blocks = (KnownBlock | Block)[];

/**
 * The message metadata event type of a request's message (https://docs.slack.dev/messaging/message-metadata):
 * its payload names the request, so that the message can be recognised in the channel's history.
 */
export const REQUEST_EVENT_TYPE = "promote_bot_request";

/** At most this many history pages (of HISTORY_PAGE messages) are read looking for a request's message. */
const HISTORY_PAGES = 5;
// conversations.history allows 999 a page and is Tier 3 (50+ calls a minute) for internal apps, which
// is how promote-bot is installed (manifest.yml). Commercially distributed non-Marketplace apps get 15
// a page and one call a minute since 2025 (method reference): not a way this app is installed.
const HISTORY_PAGE = 100;

/** How long Slack asked to wait, when the error is a rejected rate-limited call (`retryAfter` seconds). */
function rateLimitWaitMs(error: unknown): number | undefined {
  const e = error as { code?: unknown; retryAfter?: unknown } | undefined;
  if (e?.code !== "slack_webapi_rate_limited_error" || typeof e.retryAfter !== "number") return undefined;
  return e.retryAfter * 1000;
}

function metadataOf(message: ChatMessage) {
  return message.requestId
    ? { metadata: { event_type: REQUEST_EVENT_TYPE, event_payload: { request_id: message.requestId } } }
    : {};
}

/** A 429 on a request message's post is waited out and tried again this many times, if Slack asks for at most RATE_LIMIT_WAIT_MS. */
const RATE_LIMIT_RETRIES = 3;
const RATE_LIMIT_WAIT_MS = 5_000;

export class SlackChat implements ChatPort {
  calls = 0;

  /**
   * `client` makes every call but the post of a request's message, with WebClient's retries (every
   * other call is idempotent, or a thread reply that a duplicate only repeats). `postOnce` posts
   * request messages: it must not retry by itself (a post whose answer was lost may have been shown;
   * WebClient retries timeouts, resets and 5xx alike) and must reject 429s (`rejectRateLimitedCalls`),
   * which this class waits out, since Slack did nothing then.
   */
  constructor(
    private readonly client: WebClient,
    private readonly postOnce: WebClient = client,
  ) {}

  async post(channel: string, message: ChatMessage, threadTs?: string): Promise<{ ts: string }> {
    if (message.requestId) return this.postRequestMessage(channel, message, threadTs);
    this.calls += 1;
    const result = await this.client.chat.postMessage(this.postArgs(channel, message, threadTs));
    if (!result.ts) throw new Error("Slack accepted the message but returned no ts");
    return { ts: result.ts };
  }

  /**
   * One post, or one after each 429 (Slack did nothing then): any other failure is left to the caller,
   * who must look for the message (`findRequestMessage`) before posting it again.
   */
  private postRequestMessage(channel: string, message: ChatMessage, threadTs?: string): Promise<{ ts: string }> {
    return withRetry(
      async () => {
        this.calls += 1;
        const result = await this.postOnce.chat.postMessage(this.postArgs(channel, message, threadTs));
        if (!result.ts) throw new Error("Slack accepted the message but returned no ts");
        return { ts: result.ts };
      },
      (error) => {
        const waitMs = rateLimitWaitMs(error);
        return waitMs !== undefined && waitMs <= RATE_LIMIT_WAIT_MS
          ? { retry: true, afterMs: waitMs }
          : { retry: false };
      },
      // Retry-After decides the wait; withRetry caps it at 4 × maxMs = RATE_LIMIT_WAIT_MS.
      { attempts: RATE_LIMIT_RETRIES + 1, baseMs: 100, maxMs: RATE_LIMIT_WAIT_MS / 4 },
    );
  }

  private postArgs(channel: string, message: ChatMessage, threadTs?: string) {
    return {
      channel,
      text: message.text,
      blocks: message.blocks as Blocks,
      unfurl_links: false,
      unfurl_media: false,
      ...metadataOf(message),
      ...(threadTs ? { thread_ts: threadTs } : {}),
    };
  }

  async update(channel: string, ts: string, message: ChatMessage): Promise<void> {
    this.calls += 1;
    // The metadata is sent with every update too: whether chat.update keeps a message's metadata when
    // the argument is absent is not documented.
    await this.client.chat.update({
      channel,
      ts,
      text: message.text,
      blocks: message.blocks as Blocks,
      ...metadataOf(message),
    });
  }

  async findRequestMessage(channel: string, requestId: string, since: Date): Promise<MessageSearch> {
    let cursor: string | undefined;
    for (let page = 0; page < HISTORY_PAGES; page++) {
      this.calls += 1;
      let result: Awaited<ReturnType<WebClient["conversations"]["history"]>>;
      try {
        result = await this.client.conversations.history({
          channel,
          oldest: (since.getTime() / 1000).toFixed(6),
          limit: HISTORY_PAGE,
          include_all_metadata: true,
          ...(cursor ? { cursor } : {}),
        });
      } catch (error) {
        // A refusal (not_in_channel: the bot posts with chat:write.public without being a member;
        // missing_scope: the app was installed before it asked for channels:history) lasts until an
        // operator acts; an outage passes.
        if (isSlackError(error) && !isTransientSlackError(error)) {
          const reason = (error as { data?: { error?: unknown } }).data?.error;
          return { kind: "unsearchable", reason: typeof reason === "string" ? reason : String(error) };
        }
        throw error;
      }
      const hit = result.messages?.find(
        (m) =>
          m.metadata?.event_type === REQUEST_EVENT_TYPE &&
          (m.metadata.event_payload as { request_id?: unknown } | undefined)?.request_id === requestId,
      );
      if (hit?.ts) return { kind: "found", ts: hit.ts };
      cursor = result.response_metadata?.next_cursor || undefined;
      if (!result.has_more || !cursor) return { kind: "absent" };
    }
    return { kind: "unsearchable", reason: `more than ${HISTORY_PAGES * HISTORY_PAGE} messages since the request` };
  }

  async publishHome(user: string, blocks: unknown[]): Promise<void> {
    this.calls += 1;
    await this.client.views.publish({ user_id: user, view: { type: "home", blocks: blocks as Blocks } });
  }

  async userGroupMembers(groupId: string): Promise<string[]> {
    this.calls += 1;
    const result = await this.client.usergroups.users.list({ usergroup: groupId });
    return result.users ?? [];
  }
}
