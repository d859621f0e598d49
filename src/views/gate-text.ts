/**
 * What a lock or freeze window says to people: why the pipeline is closed, and the override command
 * that goes through it (domain/gate.ts decides whether it is closed; the words are here).
 */
import { DomainError } from "../domain/errors.js";
import type { Gate } from "../domain/gate.js";
import type { RequestKind } from "../domain/request.js";
import { esc, user } from "./mrkdwn.js";

type ClosedGate = Exclude<Gate, { kind: "open" }>;

/** What a closed gate says, in mrkdwn. */
export function describeGate(g: ClosedGate, pipeline: string): string {
  if (g.kind === "locked") {
    const seconds = Math.floor(g.lock.lockedAt.getTime() / 1000);
    return `*${esc(pipeline)}* is locked by ${user(g.lock.lockedBy)} since <!date^${seconds}^{date_short_pretty} {time}|${g.lock.lockedAt.toISOString()}>: ${esc(g.lock.reason)}`;
  }
  const w = g.window;
  return `*${esc(pipeline)}* is in a freeze window (${w.days.join(", ")} ${w.from}–${w.to} ${esc(w.timezone)}): ${esc(w.reason)}`;
}

/** The command an approver gives to ask for a request of this kind through a lock or freeze window. */
export function overrideCommand(kind: RequestKind, pipeline: string): string {
  return `\`/promote ${kind === "rollback" ? "rollback " : ""}${esc(pipeline)} --override "reason"\``;
}

/**
 * The refusal for a closed gate: what closes it, and what to do, in the words of the request's kind
 * (a rollback has its own override form). `held`: the refusal of an approval of a request that was
 * asked before the gate closed, which no new command can change: it has to be asked again.
 */
export function closedError(
  g: ClosedGate,
  pipeline: string,
  options: { kind?: RequestKind; held?: boolean } = {},
): DomainError {
  const kind = options.kind === "rollback" ? "rollback" : "promotion";
  const until = g.kind === "locked" ? "is unlocked" : "ends";
  const override = overrideCommand(kind, pipeline);
  const next = options.held
    ? `This ${kind} waits until it ${until}. To go through it now, cancel this request (the requester or an approver) and have an approver ask again with ${override}.`
    : `${kind === "rollback" ? "Rollbacks" : "Promotions"} wait until it ${until}; an approver can override it for one ${kind} with ${override}.`;
  return new DomainError("LOCKED", `${describeGate(g, pipeline)}. ${next}`);
}
