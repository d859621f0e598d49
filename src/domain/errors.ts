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
  | "BAD_INPUT";

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "DomainError";
  }
}

export function isDomainError(error: unknown, code?: ErrorCode): error is DomainError {
  return error instanceof DomainError && (code === undefined || error.code === code);
}
