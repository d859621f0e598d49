/**
 * What a Slack Web API failure means for whoever retries. @slack/web-api rejects with an error whose
 * `code` names the kind: `slack_webapi_platform_error` (HTTP 200 with `ok: false`, `data.error` the
 * reason), `slack_webapi_request_error` (no answer), `slack_webapi_http_error` (a non-200 status),
 * `slack_webapi_rate_limited_error` (429 when the client rejects rate-limited calls).
 */
interface WebApiError {
  code?: unknown;
  data?: { error?: unknown };
  statusCode?: unknown;
}

/** `ok: false` reasons that Slack's Web API documents as its own transient trouble. */
const TRANSIENT_PLATFORM_ERRORS = new Set([
  "internal_error",
  "fatal_error",
  "service_unavailable",
  "request_timeout",
  "ratelimited",
]);

export function isSlackError(error: unknown): boolean {
  const code = (error as WebApiError | undefined)?.code;
  return typeof code === "string" && code.startsWith("slack_webapi_");
}

/** A Slack failure that may pass if tried again later (an outage), as opposed to a refusal (not_in_channel). */
export function isTransientSlackError(error: unknown): boolean {
  if (!isSlackError(error)) return false;
  const e = error as WebApiError;
  if (e.code === "slack_webapi_platform_error") {
    return typeof e.data?.error === "string" && TRANSIENT_PLATFORM_ERRORS.has(e.data.error);
  }
  if (e.code === "slack_webapi_http_error") return typeof e.statusCode === "number" && e.statusCode >= 500;
  return true;
}

/** Slack's reason, for logs and the deliveries table (never a token: the error carries none). */
export function slackReason(error: unknown): string {
  const e = error as WebApiError & { message?: unknown };
  if (typeof e?.data?.error === "string") return `Slack answered ${e.data.error}`;
  return typeof e?.message === "string" ? e.message : String(error);
}
