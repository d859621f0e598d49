/**
 * An error as mrkdwn for Slack: a refusal the bot wrote in mrkdwn as it is; an adapter's plain text
 * (which may quote Heroku's or GitLab's own words) and anything unexpected escaped, so that a
 * provider's message can neither format nor mention.
 */
import { DomainError } from "../domain/errors.js";
import { esc } from "./mrkdwn.js";

export function errorText(error: unknown): string {
  if (error instanceof DomainError) return error.plain ? esc(error.message) : error.message;
  return esc(error instanceof Error ? error.message : String(error));
}
