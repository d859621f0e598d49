/**
 * Heroku's error answers (`{id, message}` with a status) as DomainErrors that say what to do: one
 * wording for every adapter that calls Heroku (HerokuAdapter, the webhook subscriptions).
 * https://devcenter.heroku.com/articles/platform-api-reference#errors
 */
import type { HerokuError } from "heroku-client";
import { DomainError } from "../../domain/errors.js";

export function herokuError(
  error: HerokuError,
  what: string,
  meta: { retryAfterMs?: number | undefined } = {},
  /** What the token's account must be able to do, for the 401/403 advice. */
  access = "can access the pipeline and apps",
): DomainError {
  const status = error.statusCode;
  const body = (typeof error.body === "object" && error.body !== null ? error.body : {}) as {
    id?: string;
    message?: string;
  };
  // Plain text, quoting Heroku's own words: views escape it before showing it in Slack.
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
      `Heroku refused the bot's token while ${what} (${status}${herokuMessage ? `: ${herokuMessage}` : ""}). Check that HEROKU_API_TOKEN is valid and its account ${access}.`,
      details,
    );
  }
  if (status === 404) {
    return new DomainError(
      "HEROKU_NOT_FOUND",
      `Heroku found nothing while ${what} (404): check that the pipeline and its apps exist and that HEROKU_API_TOKEN's account can see them.`,
      details,
    );
  }
  if (status === 429) {
    return new DomainError(
      "HEROKU_UNAVAILABLE",
      `Heroku's rate limit was reached while ${what}. Heroku allows about 4,500 calls an hour per token; try again in a few minutes.`,
      {
        ...details,
        retryable: true,
        retryAfterMs: meta.retryAfterMs,
      },
    );
  }
  if (status >= 500) {
    return new DomainError("HEROKU_UNAVAILABLE", `Heroku answered ${status} while ${what}.`, {
      ...details,
      retryable: true,
      retryAfterMs: meta.retryAfterMs,
    });
  }
  return new DomainError(
    "HEROKU_REJECTED",
    `Heroku refused the call while ${what} (${status}): ${herokuMessage ?? "no reason given"}`,
    details,
  );
}
