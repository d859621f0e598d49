/**
 * POST /gitlab/webhook: verify the token, read at most 1 MiB, validate the fields the bot uses,
 * record the delivery durably (deduplicated), answer, and only then process it in the background.
 * GitLab disables hooks that keep failing, so only a misconfigured or invalid request gets a 4xx,
 * and processing failures never turn into a 5xx. https://docs.gitlab.com/user/project/integrations/webhooks/
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  HANDLED_EVENTS,
  type HandledBody,
  type HandledEvent,
  isHandledEvent,
  naturalKey,
} from "../../domain/gitlab-events.js";
import type { Store } from "../../domain/ports.js";
import type { Logger } from "../../infra/logger.js";
import { BodyTooLarge, header, readBody, sendJson } from "../http.js";
import { verifyGitLabToken } from "./verify-gitlab-token.js";

export const GITLAB_BODY_LIMIT = 1024 * 1024;

export interface WebhookDeps {
  secret: string;
  store: Store;
  log: Logger;
  now: () => Date;
  /** Why a validated event needs no work (it is then recorded as done at once); undefined when it needs work. */
  skipReason: (event: HandledEvent, body: HandledBody) => string | undefined;
  onRecorded: (deliveryId: string) => void;
}

export async function handleGitLabWebhook(req: IncomingMessage, res: ServerResponse, deps: WebhookDeps): Promise<void> {
  const event = header(req, "x-gitlab-event");
  // Context for log lines, built only when one is written (a child logger per delivery is a
  // measurable share of a delivery's cost: bench/RESULTS.md).
  const ctx = (extra: Record<string, unknown> = {}) => ({
    route: "gitlab",
    gitlabEvent: event,
    eventUuid: header(req, "x-gitlab-event-uuid"),
    webhookUuid: header(req, "x-gitlab-webhook-uuid"),
    ...extra,
  });
  const { log } = deps;
  if (req.method !== "POST") {
    res.setHeader("allow", "POST");
    return sendJson(res, 405, { error: "use POST" });
  }
  if (!verifyGitLabToken(header(req, "x-gitlab-token"), deps.secret)) {
    log.warn(ctx(), "GitLab webhook with a missing or wrong X-Gitlab-Token");
    req.resume();
    return sendJson(res, 401, { error: "invalid X-Gitlab-Token" });
  }
  let raw: Buffer;
  try {
    raw = await readBody(req, GITLAB_BODY_LIMIT);
  } catch (error) {
    if (error instanceof BodyTooLarge) {
      log.warn(ctx(), "GitLab webhook body over 1 MiB refused");
      return sendJson(res, 413, { error: "body larger than 1 MiB" }, true);
    }
    throw error;
  }
  if (!event) {
    log.warn(ctx(), "GitLab webhook without X-Gitlab-Event");
    return sendJson(res, 400, { error: "missing X-Gitlab-Event header" });
  }
  if (!isHandledEvent(event)) {
    log.debug(ctx(), "GitLab event kind not used by the bot; ignored");
    return sendJson(res, 200, { status: "ignored", reason: `${event} is not used by promote-bot` });
  }
  let body: unknown;
  let text: string;
  try {
    // Invalid UTF-8 is refused rather than silently turned into replacement characters.
    text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch {
    log.warn(ctx({ bytes: raw.length }), "GitLab webhook body is not valid UTF-8");
    return sendJson(res, 400, { error: "body is not valid UTF-8" });
  }
  try {
    body = JSON.parse(text);
  } catch {
    log.warn(ctx({ bytes: raw.length }), "GitLab webhook body is not JSON");
    return sendJson(res, 400, { error: "body is not valid JSON" });
  }
  const parsed = HANDLED_EVENTS[event].safeParse(body);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const reason = first ? `${first.path.join(".") || "body"}: ${first.message}` : "invalid body";
    log.warn(ctx({ reason, issues: parsed.error.issues.length }), "GitLab webhook body does not match the schema");
    return sendJson(res, 400, { error: `invalid ${event} body: ${reason}` });
  }
  // Idempotency-Key (GitLab 17.4+) is the same on every resend of a delivery. Without it, the event's own
  // identity: X-Gitlab-Event-UUID is new on a resend and may be shared by distinct events (see naturalKey).
  const key = header(req, "idempotency-key") ?? naturalKey(event, parsed.data);
  const id = `gitlab:${key}`.slice(0, 300);
  const skip = deps.skipReason(event, parsed.data);
  const process = skip === undefined;
  let recorded: boolean;
  try {
    recorded = await deps.store.recordDelivery({
      id,
      event,
      // Nothing to do for it: recorded as done, without its body.
      body: process ? text : "",
      receivedAt: deps.now(),
      state: process ? "received" : "done",
    });
  } catch (error) {
    // Not recorded, so GitLab must retry: this is the one case a 5xx is honest.
    log.error(ctx({ err: error }), "could not record a GitLab delivery");
    return sendJson(res, 503, { error: "could not record the delivery; retry later" });
  }
  if (!recorded) {
    log.info(ctx({ delivery: id }), "GitLab redelivery; already recorded");
    return sendJson(res, 200, { status: "duplicate" });
  }
  sendJson(res, 200, { status: "accepted" });
  if (process) {
    log.info(ctx({ delivery: id }), "GitLab delivery recorded");
    deps.onRecorded(id);
  } else {
    log.debug(ctx({ delivery: id, reason: skip }), "GitLab delivery recorded; nothing to do for it");
  }
}
