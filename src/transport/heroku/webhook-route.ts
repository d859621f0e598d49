/**
 * POST /heroku/webhook: Heroku app webhook deliveries (`api:release` and `dyno` events). The same
 * discipline as the GitLab route: verify the signature on the raw body first, read at most 256 KiB,
 * validate the fields the bot uses, record the event durably (deduplicated on the event's id), answer,
 * and only then process it in the background.
 *
 * A `sync` subscription delivers one event at a time and in order, retrying a failed one for days, so
 * an endpoint that keeps failing holds back every later event (heroku/webhooks-docs
 * `devcenter/app-webhooks.md`). Only a forged or malformed delivery gets a 4xx, and processing never
 * turns into a 5xx. The one 5xx is a delivery the bot could not record: Heroku's retry is then what
 * keeps it, and holding back the later events costs nothing, since they could not be recorded either.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type HerokuEvent, parseHerokuEvent } from "../../domain/heroku-events.js";
import type { DeliveryStore } from "../../domain/ports.js";
import type { Logger } from "../../infra/logger.js";
import { BodyTooLarge, header, readBody, sendJson } from "../http.js";
import { verifyHerokuSignature } from "./verify-heroku-signature.js";

/** A release or dyno event is a few KiB; Heroku documents no limit. */
export const HEROKU_BODY_LIMIT = 256 * 1024;

export interface HerokuWebhookDeps {
  secret: string;
  store: Pick<DeliveryStore, "recordDelivery">;
  log: Logger;
  now: () => Date;
  /** Why a validated event needs no work (it is then recorded as done at once, without its body). */
  skipReason: (event: HerokuEvent) => Promise<string | undefined>;
  onRecorded: (deliveryId: string) => void;
}

export async function handleHerokuWebhook(
  req: IncomingMessage,
  res: ServerResponse,
  deps: HerokuWebhookDeps,
): Promise<void> {
  const { log } = deps;
  const ctx = (extra: Record<string, unknown> = {}) => ({ route: "heroku", ...extra });
  if (req.method !== "POST") {
    res.setHeader("allow", "POST");
    return sendJson(res, 405, { error: "use POST" });
  }
  let raw: Buffer;
  try {
    raw = await readBody(req, HEROKU_BODY_LIMIT);
  } catch (error) {
    if (error instanceof BodyTooLarge) {
      log.warn(ctx(), "Heroku webhook body over 256 KiB refused");
      return sendJson(res, 413, { error: "body larger than 256 KiB" }, true);
    }
    throw error;
  }
  if (!verifyHerokuSignature(header(req, "heroku-webhook-hmac-sha256"), raw, deps.secret)) {
    log.warn(ctx({ bytes: raw.length }), "Heroku webhook with a missing or wrong Heroku-Webhook-Hmac-SHA256");
    return sendJson(res, 401, { error: "invalid Heroku-Webhook-Hmac-SHA256 signature" });
  }
  let text: string;
  let body: unknown;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
    body = JSON.parse(text);
  } catch {
    log.warn(ctx({ bytes: raw.length }), "Heroku webhook body is not UTF-8 JSON");
    return sendJson(res, 400, { error: "body is not valid UTF-8 JSON" });
  }
  const parsed = parseHerokuEvent(body);
  if ("problem" in parsed) {
    log.warn(ctx({ reason: parsed.problem }), "Heroku webhook body does not match the schema");
    return sendJson(res, 400, { error: `invalid Heroku event: ${parsed.problem}` });
  }
  const { event } = parsed;
  if (event.kind === "other") {
    log.debug(ctx({ resource: event.resource }), "Heroku event kind not used by the bot; ignored");
    return sendJson(res, 200, { status: "ignored", reason: `${event.resource} events are not used by promote-bot` });
  }
  // The event's id, never the body or a header: each retry is a new attempt with its own attempt id
  // and signature.
  const id = `heroku:${event.id}`;
  let recorded: boolean;
  let skip: string | undefined;
  try {
    skip = await deps.skipReason(event);
    recorded = await deps.store.recordDelivery({
      id,
      event: `heroku:${event.kind}`,
      body: skip === undefined ? text : "",
      receivedAt: deps.now(),
      state: skip === undefined ? "received" : "done",
    });
  } catch (error) {
    log.error(ctx({ err: error, delivery: id }), "could not record a Heroku delivery");
    return sendJson(res, 503, { error: "could not record the delivery; retry later" });
  }
  if (!recorded) {
    log.info(ctx({ delivery: id }), "Heroku redelivery; already recorded");
    return sendJson(res, 200, { status: "duplicate" });
  }
  sendJson(res, 200, { status: "accepted" });
  if (skip !== undefined) {
    log.debug(ctx({ delivery: id, reason: skip }), "Heroku delivery recorded; nothing to do for it");
    return;
  }
  log.debug(ctx({ delivery: id, kind: event.kind }), "Heroku delivery recorded");
  deps.onRecorded(id);
}
