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
import { herokuError } from "./heroku-errors.js";

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
        throw herokuError(error as HerokuError, what, {}, "can manage the app's webhooks");
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
