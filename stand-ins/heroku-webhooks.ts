/**
 * Heroku App Webhooks for the Heroku stand-in: the subscriptions of each app and the signed deliveries
 * of their events, with Heroku's retries and the bad days a receiver has to survive.
 *
 * Sources: heroku/platform-api `schema.json` (`app-webhook`, `app-webhook-delivery`,
 * `app-webhook-event`), heroku/webhooks-docs (`devcenter/app-webhooks.md`,
 * `docs/platform-api-reference.md`, `docs/event-examples/api-release-*.json`), Dev Center "Webhook
 * Dyno Events" (https://devcenter.heroku.com/articles/webhook-dyno-events), the retry policy of
 * changelog-items/2525, and the heroku CLI's `webhooks:add` (packages/cli/src/commands/webhooks/add.ts).
 * HerokuStandIn (heroku.ts) owns the routes and calls `emit` when its releases change; this file
 * keeps the subscriptions, builds the bodies, signs them and delivers them.
 */
import { createHmac, randomBytes, randomUUID } from "node:crypto";

export type WebhookLevel = "notify" | "sync";

/**
 * The entities a subscription may include: the list in heroku/webhooks-docs
 * `devcenter/app-webhooks.md` ("App Event Includes"), plus `dyno`, the full dyno lifecycle of
 * "Webhook Dyno Events" (`api:dyno` only reports dynos being created). Heroku may accept more
 * entities than these (it adds some over time); the stand-in refuses anything else.
 */
export const WEBHOOK_INCLUDES = [
  "api:addon-attachment",
  "api:addon",
  "api:app",
  "api:build",
  "api:collaborator",
  "api:domain",
  "api:dyno",
  "api:formation",
  "api:release",
  "api:sni-endpoint",
  "api:ssl-endpoint",
  "dyno",
] as const;

export interface WebhookSubscription {
  id: string;
  app: { id: string; name: string };
  include: string[];
  level: WebhookLevel;
  url: string;
  /** Never sent back in a body (the schema's `app_webhook` has no `secret`). */
  secret: string;
  /** Never sent back in a body either; sent as the `Authorization` header of every delivery. */
  authorization: string | null;
  created_at: string;
  updated_at: string;
}

/** One event, as Heroku records it before delivering it to each subscription that includes it. */
export interface WebhookEvent {
  id: string;
  appId: string;
  include: string;
  action: "create" | "update" | "destroy";
  resource: string;
  actor: { email: string; id: string };
  data: Record<string, unknown>;
  previous_data: Record<string, unknown>;
  created_at: string;
}

/** What happened to one attempt (every attempt is recorded, whatever its outcome). */
export interface WebhookAttempt {
  webhookId: string;
  deliveryId: string;
  eventId: string;
  attemptId: string;
  include: string;
  action: string;
  url: string;
  /** The exact body sent (it differs between attempts: `webhook_metadata.attempt.id`). */
  rawBody: string;
  /** The status the receiver answered, when it answered. */
  status?: number;
  /** `timeout` or `connection error: …` when it did not answer. */
  error?: string;
  succeeded: boolean;
  at: number;
}

/** A delivery: one event to one subscription, attempted once (notify) or until answered 2xx (sync). */
export interface WebhookDelivery {
  id: string;
  webhookId: string;
  event: WebhookEvent;
  /** Heroku's delivery statuses (schema.json `app-webhook-delivery.status`). */
  status: "pending" | "retrying" | "succeeded" | "failed";
  numAttempts: number;
}

export interface WebhookDeliveryOptions {
  /**
   * Wait before attempt n+1 of a sync delivery (n = attempts made so far). Heroku backs off
   * exponentially and keeps trying for up to 72 hours (changelog-items/2525; the older webhooks-docs
   * text says 180 attempts over about seven days); the stand-in's default is milliseconds so that
   * tests stay fast.
   */
  backoffMs: (attempts: number) => number;
  /** A sync delivery is given up (`failed`) after this many attempts. */
  maxAttempts: number;
  /** An attempt that gets no answer within this long counts as failed (Heroku does not publish its own). */
  timeoutMs: number;
}

export const DEFAULT_DELIVERY_OPTIONS: WebhookDeliveryOptions = {
  backoffMs: (attempts) => Math.min(10 * 2 ** Math.max(0, attempts - 1), 200),
  maxAttempts: 10,
  timeoutMs: 2_000,
};

/** Selects events for a fault: by include, action or app; all events when omitted. */
export type EventMatch = (event: WebhookEvent) => boolean;

interface CountedFault {
  remaining: number;
  match: EventMatch;
}

/** The fields of a subscription that POST and PATCH take (schema.json `app-webhook` links). */
const WRITABLE = new Set(["authorization", "include", "level", "secret", "url"]);

/**
 * Checks a create (`partial: false`) or update body; returns Heroku-style problems (422
 * `invalid_params` at the route) or the fields to store. The wording is the stand-in's own: Heroku's
 * exact messages are not published.
 */
export function validateSubscriptionBody(
  raw: unknown,
  partial: boolean,
):
  | { problem: string }
  | {
      fields: Partial<Pick<WebhookSubscription, "include" | "level" | "url" | "authorization">> & {
        secret?: string | null;
      };
    } {
  const body = typeof raw === "object" && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  // The create link has `additionalProperties: false`; the update link is not strict.
  const unknown = Object.keys(body).filter((key) => !WRITABLE.has(key));
  if (!partial && unknown.length > 0) return { problem: `Unknown parameter(s): ${unknown.join(", ")}.` };
  const fields: Partial<Pick<WebhookSubscription, "include" | "level" | "url" | "authorization">> & {
    secret?: string | null;
  } = {};
  for (const required of ["include", "level", "url"]) {
    if (!partial && body[required] === undefined) return { problem: `Missing required parameter: ${required}.` };
  }
  if (body.include !== undefined) {
    const include = body.include;
    if (!Array.isArray(include) || include.length === 0 || include.some((i) => typeof i !== "string")) {
      return { problem: 'include must be a non-empty array of entity names, as ["api:release"].' };
    }
    const invalid = include.filter((i) => !(WEBHOOK_INCLUDES as readonly string[]).includes(i as string));
    if (invalid.length > 0) {
      return {
        problem: `Invalid include: ${invalid.join(", ")}. Expected entities among ${WEBHOOK_INCLUDES.join(", ")}.`,
      };
    }
    fields.include = [...new Set(include as string[])];
  }
  if (body.level !== undefined) {
    if (body.level !== "notify" && body.level !== "sync") {
      return { problem: 'level must be one of "notify" or "sync".' };
    }
    fields.level = body.level;
  }
  if (body.url !== undefined) {
    if (typeof body.url !== "string" || !isHttpUrl(body.url)) return { problem: "url must be an http(s) URL." };
    fields.url = body.url;
  }
  if (body.secret !== undefined) {
    if (body.secret !== null && typeof body.secret !== "string") return { problem: "secret must be a string or null." };
    fields.secret = body.secret;
  }
  if (body.authorization !== undefined) {
    if (body.authorization !== null && typeof body.authorization !== "string") {
      return { problem: "authorization must be a string or null." };
    }
    fields.authorization = body.authorization;
  }
  return { fields };
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

/**
 * A secret of the shape Heroku generates when `secret` is omitted (the webhooks-docs examples show 60
 * hex characters); Heroku returns it once, in the `Heroku-Webhook-Secret` response header of the
 * create (the CLI's `webhooks:add` reads `response.headers['heroku-webhook-secret']`).
 */
export function generateWebhookSecret(): string {
  return randomBytes(30).toString("hex");
}

/** `Heroku-Webhook-Hmac-SHA256`: base64 HMAC-SHA256 of the exact body bytes with the subscription's secret. */
export function signWebhookBody(rawBody: string, secret: string): string {
  return createHmac("sha256", secret).update(rawBody, "utf8").digest("base64");
}

export class HerokuWebhooks {
  readonly options: WebhookDeliveryOptions = { ...DEFAULT_DELIVERY_OPTIONS };
  /** Every attempt, in the order they were sent. */
  readonly attempts: WebhookAttempt[] = [];
  /** Every delivery (event × subscription), with its status. */
  readonly deliveries: WebhookDelivery[] = [];
  /** Every event the stand-in produced, delivered or not. */
  readonly events: WebhookEvent[] = [];
  /** Ids of events dropped by `dropEvents`: never delivered to anyone. */
  readonly droppedEventIds: string[] = [];

  private readonly subscriptions = new Map<string, WebhookSubscription>();
  private readonly queues = new Map<string, WebhookDelivery[]>();
  private readonly running = new Set<string>();
  private readonly waiting = new Set<() => void>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private paused = false;
  private stopped = false;
  private readonly drops: CountedFault[] = [];
  private readonly duplicates: CountedFault[] = [];
  private readonly delays: Array<CountedFault & { ms: number }> = [];
  private reorder: { size: number; held: WebhookDelivery[] } | undefined;

  // ------------------------------------------------------------ subscriptions

  list(appId: string): WebhookSubscription[] {
    return [...this.subscriptions.values()].filter((s) => s.app.id === appId);
  }

  get(appId: string, id: string): WebhookSubscription | undefined {
    const subscription = this.subscriptions.get(id);
    return subscription && subscription.app.id === appId ? subscription : undefined;
  }

  add(subscription: WebhookSubscription): void {
    this.subscriptions.set(subscription.id, subscription);
  }

  /** Removes a subscription; its queued deliveries go with it. */
  remove(id: string): void {
    this.subscriptions.delete(id);
    const queue = this.queues.get(id) ?? [];
    for (const delivery of queue) delivery.status = "failed";
    this.queues.delete(id);
    this.notifyIfIdle();
  }

  /** The body Heroku answers for a subscription: `app-webhook.definitions.app_webhook` (no secret, no authorization). */
  static json(s: WebhookSubscription): Record<string, unknown> {
    return {
      app: { ...s.app },
      created_at: s.created_at,
      id: s.id,
      include: [...s.include],
      level: s.level,
      updated_at: s.updated_at,
      url: s.url,
    };
  }

  // ------------------------------------------------------------ events

  /** Records an event of an app and queues a delivery to each of its subscriptions that include it. */
  emit(event: Omit<WebhookEvent, "id">): WebhookEvent {
    const recorded: WebhookEvent = { ...event, id: randomUUID(), data: structuredClone(event.data) };
    this.events.push(recorded);
    if (this.stopped) return recorded;
    if (takeFault(this.drops, recorded)) {
      this.droppedEventIds.push(recorded.id);
      return recorded;
    }
    for (const subscription of this.list(event.appId)) {
      if (!subscription.include.includes(event.include)) continue;
      const delivery: WebhookDelivery = {
        id: randomUUID(),
        webhookId: subscription.id,
        event: recorded,
        status: "pending",
        numAttempts: 0,
      };
      this.deliveries.push(delivery);
      if (this.reorder) {
        this.reorder.held.push(delivery);
        if (this.reorder.held.length >= this.reorder.size) this.releaseHeld();
        continue;
      }
      this.enqueue(delivery);
    }
    return recorded;
  }

  // ------------------------------------------------------------ bad days

  /** Deliveries stop (events queue up, as when Heroku's webhooks are not flowing) until `resumeDeliveries`. */
  pauseDeliveries(): void {
    this.paused = true;
  }

  resumeDeliveries(): void {
    this.paused = false;
    for (const id of this.queues.keys()) this.kick(id);
    this.notifyIfIdle();
  }

  /** The next `count` matching events are never delivered to anyone (missed events). */
  dropEvents(count = 1, match: EventMatch = () => true): void {
    this.drops.push({ remaining: count, match });
  }

  /**
   * After each of the next `count` matching deliveries is answered 2xx, it is sent again: a new attempt
   * (new attempt id, so a new body and signature) of the same event and delivery, as when the answer
   * to the first attempt was lost and Heroku tried again.
   */
  duplicateDeliveries(count = 1, match: EventMatch = () => true): void {
    this.duplicates.push({ remaining: count, match });
  }

  /**
   * The next `count` deliveries are held back, then queued in reverse order. A single sync
   * subscription delivers one event at a time and in order ("As deliveries are intended to be
   * ordered, further deliveries for that subscription will be delayed during retries",
   * webhooks-docs `devcenter/app-webhooks.md`); a receiver still sees events out of order across
   * subscriptions (several apps, a notify and a sync one), after a redelivery, and after a manual
   * re-send from the Dashboard. This knob stands for all of those. `webhooksIdle` releases a partial
   * batch.
   */
  deliverOutOfOrder(count = 2): void {
    if (this.reorder) this.releaseHeld();
    this.reorder = { size: Math.max(1, count), held: [] };
  }

  /** Each of the next `count` matching attempts waits `ms` before it is sent (a slow Heroku). */
  delayDeliveries(ms: number, count = 1, match: EventMatch = () => true): void {
    this.delays.push({ remaining: count, match, ms });
  }

  /** Clears every fault knob (pause included). Queued and held deliveries go on. */
  clearFaults(): void {
    this.drops.length = 0;
    this.duplicates.length = 0;
    this.delays.length = 0;
    if (this.reorder) this.releaseHeld();
    this.resumeDeliveries();
  }

  /**
   * Resolves when every queued delivery has succeeded or been given up. While deliveries are paused it
   * resolves once nothing is in flight: the queued events wait for `resumeDeliveries`. Held
   * out-of-order deliveries are released first.
   */
  idle(): Promise<void> {
    if (this.reorder && this.reorder.held.length > 0) this.releaseHeld();
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiting.add(resolve);
    });
  }

  /** Stops delivering (when the stand-in closes): nothing is sent any more, waiters are released. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.queues.clear();
    this.running.clear();
    for (const resolve of this.waiting) resolve();
    this.waiting.clear();
  }

  // ------------------------------------------------------------ delivery

  private releaseHeld(): void {
    const held = this.reorder?.held ?? [];
    this.reorder = undefined;
    for (const delivery of held.reverse()) this.enqueue(delivery);
  }

  private enqueue(delivery: WebhookDelivery): void {
    const queue = this.queues.get(delivery.webhookId) ?? [];
    queue.push(delivery);
    this.queues.set(delivery.webhookId, queue);
    this.kick(delivery.webhookId);
  }

  private isIdle(): boolean {
    if (this.running.size > 0) return false;
    if (this.paused) return true;
    return [...this.queues.values()].every((queue) => queue.length === 0);
  }

  private notifyIfIdle(): void {
    if (!this.isIdle()) return;
    for (const resolve of this.waiting) resolve();
    this.waiting.clear();
  }

  /** Starts the delivery loop of a subscription unless it runs already: one delivery at a time, in queue order. */
  private kick(webhookId: string): void {
    if (this.running.has(webhookId) || this.paused || this.stopped) return;
    const queue = this.queues.get(webhookId);
    if (!queue || queue.length === 0) return;
    this.running.add(webhookId);
    void this.run(webhookId).finally(() => {
      this.running.delete(webhookId);
      // A pause or resume during the loop may have left work behind.
      if (!this.paused && !this.stopped && (this.queues.get(webhookId)?.length ?? 0) > 0) this.kick(webhookId);
      this.notifyIfIdle();
    });
  }

  private async run(webhookId: string): Promise<void> {
    for (;;) {
      if (this.paused || this.stopped) return;
      const queue = this.queues.get(webhookId);
      const delivery = queue?.[0];
      const subscription = this.subscriptions.get(webhookId);
      if (!queue || !delivery) return;
      if (!subscription) {
        queue.shift();
        continue;
      }
      const succeeded = await this.attempt(subscription, delivery);
      if (this.stopped) return;
      if (succeeded) {
        delivery.status = "succeeded";
        if (takeFault(this.duplicates, delivery.event)) await this.attempt(subscription, delivery);
        queue.shift();
        continue;
      }
      // notify: "a single, fire-and-forget delivery attempt"; sync: retried, holding back later events.
      if (subscription.level === "notify" || delivery.numAttempts >= this.options.maxAttempts) {
        delivery.status = "failed";
        queue.shift();
        continue;
      }
      delivery.status = "retrying";
      await this.sleep(this.options.backoffMs(delivery.numAttempts));
    }
  }

  /** One attempt: a new attempt id, hence a new body and signature; records the outcome. */
  private async attempt(subscription: WebhookSubscription, delivery: WebhookDelivery): Promise<boolean> {
    const delay = takeFault(this.delays, delivery.event);
    if (delay) await this.sleep(delay.ms);
    if (this.stopped) return false;
    delivery.numAttempts += 1;
    const attemptId = randomUUID();
    const rawBody = JSON.stringify(envelope(delivery, attemptId));
    const headers: Record<string, string> = {
      "Content-Type": "application/json",
      "User-Agent": "heroku-webhooks-stand-in",
      "Heroku-Webhook-Hmac-SHA256": signWebhookBody(rawBody, subscription.secret),
    };
    if (subscription.authorization) headers.Authorization = subscription.authorization;
    const record: WebhookAttempt = {
      webhookId: subscription.id,
      deliveryId: delivery.id,
      eventId: delivery.event.id,
      attemptId,
      include: delivery.event.include,
      action: delivery.event.action,
      url: subscription.url,
      rawBody,
      succeeded: false,
      at: Date.now(),
    };
    try {
      const response = await fetch(subscription.url, {
        method: "POST",
        headers,
        body: rawBody,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      // "We will ignore the body of the response" (webhooks-docs app-webhooks.md); read it to free the socket.
      await response.arrayBuffer().catch(() => undefined);
      record.status = response.status;
      record.succeeded = response.status >= 200 && response.status < 300;
    } catch (error) {
      const name = (error as { name?: string }).name;
      record.error =
        name === "TimeoutError" || name === "AbortError"
          ? "timeout"
          : `connection error: ${String((error as { cause?: unknown }).cause ?? error)}`;
    }
    this.attempts.push(record);
    return record.succeeded;
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }
}

function takeFault<F extends CountedFault>(faults: F[], event: WebhookEvent): F | undefined {
  const fault = faults.find((f) => f.remaining > 0 && f.match(event));
  if (!fault) return undefined;
  fault.remaining -= 1;
  if (fault.remaining === 0) faults.splice(faults.indexOf(fault), 1);
  return fault;
}

/**
 * The body of one attempt: the envelope of webhooks-docs `docs/event-examples/api-release-*.json` and of
 * the receiving example in `devcenter/app-webhooks.md` (`published_at` and `sequence` are null in every
 * example; `version` names the API version the data is rendered in), with `webhook_metadata`.
 */
function envelope(delivery: WebhookDelivery, attemptId: string): Record<string, unknown> {
  const event = delivery.event;
  return {
    action: event.action,
    actor: { ...event.actor },
    created_at: event.created_at,
    id: event.id,
    data: event.data,
    previous_data: event.previous_data,
    published_at: null,
    resource: event.resource,
    sequence: null,
    updated_at: event.created_at,
    version: "application/vnd.heroku+json; version=3",
    webhook_metadata: {
      attempt: { id: attemptId },
      delivery: { id: delivery.id },
      event: { id: event.id, include: event.include },
      webhook: { id: delivery.webhookId },
    },
  };
}
