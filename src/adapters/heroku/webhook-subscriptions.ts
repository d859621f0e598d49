/**
 * An app's Heroku webhook subscriptions (list, create, update) over heroku-client, for the set-up
 * command and the doctor. Same client settings as HerokuAdapter (user agent, 15 s timeout, the plain
 * `version=3` Accept header: schema.json serves `app-webhook` in it at stability "production", so the
 * old `version=3.webhooks` variant is not needed), and the same reading of Heroku's `{id, message}`
 * errors into DomainErrors that say what to do.
 *
 * Heroku never returns a subscription's secret or authorization (schema.json
 * `app-webhook.definitions.app_webhook` has neither), so they cannot be compared, only set.
 * https://devcenter.heroku.com/articles/app-webhooks-schema
 */
import Heroku, { type HerokuError } from "heroku-client";
import { z } from "zod";
import { DomainError } from "../../domain/errors.js";
import { type RetryPolicy, realSleep, type Sleep, withRetry } from "../../infra/retry.js";

const subscriptionSchema = z.object({
  id: z.string(),
  include: z.array(z.string()),
  level: z.string(),
  url: z.string(),
});

export type WebhookSubscription = z.infer<typeof subscriptionSchema>;

export interface WebhookSubscriptionSpec {
  include: string[];
  level: "notify" | "sync";
  url: string;
  secret: string;
}

export interface WebhookSubscriptionsOptions {
  token: string;
  apiUrl: string;
  timeoutMs?: number;
  retry?: RetryPolicy;
  sleep?: Sleep;
}

export class HerokuWebhookSubscriptions {
  private readonly client: Heroku;
  private readonly retry: RetryPolicy;
  private readonly sleep: Sleep;

  constructor(options: WebhookSubscriptionsOptions) {
    this.client = new Heroku({
      token: options.token,
      host: options.apiUrl,
      userAgent: "promote-bot",
      timeout: options.timeoutMs ?? 15_000,
    });
    this.retry = options.retry ?? { attempts: 3, baseMs: 1_000, maxMs: 10_000 };
    this.sleep = options.sleep ?? realSleep;
  }

  async list(appId: string): Promise<WebhookSubscription[]> {
    return this.call(
      () => this.client.get(`/apps/${encodeURIComponent(appId)}/webhooks`),
      z.array(subscriptionSchema),
      `listing the webhooks of app ${appId}`,
      true,
    );
  }

  /**
   * Not retried: heroku-client could have sent it, and a second POST would make a second subscription
   * (Heroku does not refuse one to the same URL, as far as its documentation says).
   */
  async create(appId: string, spec: WebhookSubscriptionSpec): Promise<WebhookSubscription> {
    return this.call(
      () => this.client.post(`/apps/${encodeURIComponent(appId)}/webhooks`, { body: spec }),
      subscriptionSchema,
      `creating a webhook on app ${appId}`,
      false,
    );
  }

  /** A PATCH sets the same fields whatever happened before: safe to retry. */
  async update(appId: string, id: string, spec: Partial<WebhookSubscriptionSpec>): Promise<WebhookSubscription> {
    return this.call(
      () => this.client.patch(`/apps/${encodeURIComponent(appId)}/webhooks/${encodeURIComponent(id)}`, { body: spec }),
      subscriptionSchema,
      `updating webhook ${id} of app ${appId}`,
      true,
    );
  }

  private async call<T>(
    request: () => Promise<unknown>,
    schema: z.ZodType<T>,
    what: string,
    retry: boolean,
  ): Promise<T> {
    const once = async (): Promise<T> => {
      let raw: unknown;
      try {
        raw = await request();
      } catch (error) {
        throw translate(error as HerokuError, what);
      }
      const parsed = schema.safeParse(raw);
      if (!parsed.success) {
        throw new DomainError(
          "HEROKU_UNAVAILABLE",
          `Heroku's answer was not the shape the bot expects while ${what}.`,
          {
            plain: true,
          },
        );
      }
      return parsed.data;
    };
    if (!retry) return once();
    return withRetry(
      once,
      (error) => ({ retry: error instanceof DomainError && error.retryable }),
      this.retry,
      this.sleep,
    );
  }
}

/**
 * Heroku's error answers as DomainErrors, in the words HerokuAdapter uses for the same statuses (its
 * translation is a private method there, so it cannot be imported as it stands).
 */
function translate(error: HerokuError, what: string): DomainError {
  const status = error.statusCode;
  const body = (typeof error.body === "object" && error.body !== null ? error.body : {}) as {
    id?: string;
    message?: string;
  };
  const herokuMessage = typeof body.message === "string" ? body.message.slice(0, 500) : undefined;
  const details = { status, plain: true, details: { herokuId: body.id, what } };
  if (status === undefined) {
    return new DomainError("HEROKU_UNAVAILABLE", `Heroku could not be reached while ${what} (${error.message}).`, {
      ...details,
      retryable: true,
    });
  }
  if (body.id === "two_factor") {
    return new DomainError(
      "HEROKU_TWO_FACTOR",
      "Heroku asks for a second factor for this token's account. Give the bot a token of an account without two-factor authentication (e.g. a dedicated bot account) in HEROKU_API_TOKEN.",
      details,
    );
  }
  if (status === 401 || status === 403) {
    return new DomainError(
      "HEROKU_UNAUTHORIZED",
      `Heroku refused the bot's token while ${what} (${status}${herokuMessage ? `: ${herokuMessage}` : ""}). Check that HEROKU_API_TOKEN is valid and its account can manage the app's webhooks.`,
      details,
    );
  }
  if (status === 404) {
    return new DomainError(
      "HEROKU_NOT_FOUND",
      `Heroku found nothing while ${what} (404): check that the app exists and that HEROKU_API_TOKEN's account can see it.`,
      details,
    );
  }
  if (status === 429 || status >= 500) {
    return new DomainError(
      "HEROKU_UNAVAILABLE",
      status === 429
        ? `Heroku's rate limit was reached while ${what}; try again in a few minutes.`
        : `Heroku answered ${status} while ${what}.`,
      { ...details, retryable: true },
    );
  }
  return new DomainError(
    "HEROKU_REJECTED",
    `Heroku refused the call while ${what} (${status}): ${herokuMessage ?? "no reason given"}`,
    details,
  );
}

/** What promote-bot subscribes each app to: release events and dyno state changes, retried until answered. */
export const BOT_WEBHOOK = { include: ["api:release", "dyno"], level: "sync" } as const;

/** The URL of the bot's Heroku webhook route under its public base URL. */
export function botWebhookUrl(publicUrl: string): string {
  return `${publicUrl.replace(/\/+$/, "")}/heroku/webhook`;
}

/** A subscription that looks like one to a promote-bot (`…/heroku/webhook`), whatever its host. */
export function looksLikeBotWebhook(url: string): boolean {
  return /\/heroku\/webhook\/?$/.test(url);
}

export type SubscriptionAssessment =
  | { kind: "missing"; others: WebhookSubscription[] }
  | { kind: "ok"; subscription: WebhookSubscription }
  | { kind: "wrong"; subscription: WebhookSubscription; differences: string[] }
  | { kind: "several"; subscriptions: WebhookSubscription[] };

/**
 * Sorts an app's subscriptions against the one the bot wants at `url` (undefined: any URL that looks
 * like the bot's): none, exactly one that is right, one whose include or level differ, or several
 * (each event would arrive once per subscription). `others` of a missing one are the subscriptions
 * that look like the bot's at another URL (an old PUBLIC_URL, say).
 */
export function assessSubscriptions(
  subscriptions: WebhookSubscription[],
  url: string | undefined,
): SubscriptionAssessment {
  const mine = subscriptions.filter((s) => (url === undefined ? looksLikeBotWebhook(s.url) : s.url === url));
  if (mine.length === 0) {
    return { kind: "missing", others: subscriptions.filter((s) => looksLikeBotWebhook(s.url)) };
  }
  if (mine.length > 1) return { kind: "several", subscriptions: mine };
  const subscription = mine[0] as WebhookSubscription;
  const differences: string[] = [];
  const wanted = [...BOT_WEBHOOK.include].sort();
  const has = [...new Set(subscription.include)].sort();
  if (wanted.join(",") !== has.join(",")) {
    differences.push(`include is ${has.join(", ") || "empty"}, expected ${wanted.join(", ")}`);
  }
  if (subscription.level !== BOT_WEBHOOK.level) {
    differences.push(`level is ${subscription.level}, expected ${BOT_WEBHOOK.level}`);
  }
  return differences.length > 0 ? { kind: "wrong", subscription, differences } : { kind: "ok", subscription };
}
