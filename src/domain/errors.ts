/**
 * Refusals and failures the domain can name. Each carries a code (for logs, tests and metrics)
 * and a message written for the person in Slack: what happened and what to do.
 */
export type ErrorCode =
  | "UNKNOWN_PIPELINE"
  | "NOT_APPROVER"
  | "SELF_APPROVAL"
  | "ALREADY_APPROVED"
  | "EXPIRED"
  | "ALREADY_DECIDED"
  | "NOT_REQUESTER"
  | "REQUEST_NOT_FOUND"
  | "CI_NOT_PASSED"
  | "ALREADY_IN_PRODUCTION"
  | "PRODUCTION_CHANGED"
  | "RELEASE_UNAVAILABLE"
  | "REQUEST_IN_PROGRESS"
  | "STAGING_NOT_READY"
  | "HEROKU_UNAUTHORIZED"
  | "HEROKU_TWO_FACTOR"
  | "HEROKU_NOT_FOUND"
  | "HEROKU_REJECTED"
  | "HEROKU_UNAVAILABLE"
  | "GITLAB_UNAVAILABLE"
  | "GITLAB_UNAUTHORIZED"
  | "GITLAB_FORBIDDEN"
  | "GITLAB_NOT_FOUND"
  | "SLACK_FAILED"
  | "LOCKED"
  | "DRIFT_BLOCKED"
  | "BAD_INPUT";

/**
 * Codes of failures of a service the bot depends on (ours to fix or wait out), as opposed to refusals,
 * which are the person's doing (not an approver, expired, locked, CI not passed) and stand as they are.
 */
const DEPENDENCY_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "HEROKU_UNAUTHORIZED",
  "HEROKU_TWO_FACTOR",
  "HEROKU_NOT_FOUND",
  "HEROKU_REJECTED",
  "HEROKU_UNAVAILABLE",
  "GITLAB_UNAVAILABLE",
  "GITLAB_UNAUTHORIZED",
  "GITLAB_FORBIDDEN",
  "GITLAB_NOT_FOUND",
  "SLACK_FAILED",
]);

export interface ErrorOptions {
  /** Trying again later may pass (an outage, a rate limit), as opposed to a failure that stands. */
  retryable?: boolean;
  /** How long the service asked to wait before trying again (its Retry-After). */
  retryAfterMs?: number | undefined;
  /** The HTTP status the service answered, when it answered. */
  status?: number | undefined;
  /**
   * The message is plain text, not mrkdwn (an adapter's words, which may quote the service's): views
   * escape it before showing it (views/error-text.ts). Otherwise it is mrkdwn written by the bot.
   */
  plain?: boolean;
  /** Facts for logs and tests, never shown as words. */
  details?: Record<string, unknown>;
}

export class DomainError extends Error {
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly status: number | undefined;
  readonly plain: boolean;
  readonly details: Record<string, unknown>;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: ErrorOptions = {},
  ) {
    // A refusal is an expected answer (a bystander's click, an expired request), not a fault to trace:
    // capturing its stack was a measurable part of a denied click's CPU (bench/PROFILING.md). Failures
    // of a dependency keep their stack, as does everything that is not a DomainError.
    const stackTraceLimit = Error.stackTraceLimit;
    if (!DEPENDENCY_CODES.has(code)) Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = stackTraceLimit;
    this.name = "DomainError";
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
    this.status = options.status;
    this.plain = options.plain ?? false;
    this.details = options.details ?? {};
  }

  /** A refusal (the person's doing: it stands) or a failure of a service the bot depends on. */
  get kind(): "refusal" | "dependency" {
    return DEPENDENCY_CODES.has(this.code) ? "dependency" : "refusal";
  }
}

export function isDomainError(error: unknown, code?: ErrorCode): error is DomainError {
  return error instanceof DomainError && (code === undefined || error.code === code);
}
