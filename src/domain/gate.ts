/**
 * Whether a pipeline accepts promotions now: an explicit lock (`/promote lock`) or a configured freeze
 * window closes it; an approver may override either for one request, with a reason.
 */
import { DomainError } from "./errors.js";
import { activeFreeze, type FreezeWindow } from "./freeze.js";

export interface Lock {
  pipeline: string;
  reason: string;
  lockedBy: string;
  lockedAt: Date;
}

export type Gate = { kind: "open" } | { kind: "locked"; lock: Lock } | { kind: "frozen"; window: FreezeWindow };

export function gate(lock: Lock | undefined, freeze: readonly FreezeWindow[], now: Date): Gate {
  if (lock) return { kind: "locked", lock };
  const window = activeFreeze(freeze, now);
  return window ? { kind: "frozen", window } : { kind: "open" };
}

/** What a closed gate says, in mrkdwn; user-controlled parts are escaped by `esc`. */
export function describeGate(g: Exclude<Gate, { kind: "open" }>, pipeline: string, esc: (s: string) => string): string {
  if (g.kind === "locked") {
    const seconds = Math.floor(g.lock.lockedAt.getTime() / 1000);
    return `*${esc(pipeline)}* is locked by <@${g.lock.lockedBy}> since <!date^${seconds}^{date_short_pretty} {time}|${g.lock.lockedAt.toISOString()}>: ${esc(g.lock.reason)}`;
  }
  const w = g.window;
  return `*${esc(pipeline)}* is in a freeze window (${w.days.join(", ")} ${w.from}–${w.to} ${esc(w.timezone)}): ${esc(w.reason)}`;
}

export function closedError(
  g: Exclude<Gate, { kind: "open" }>,
  pipeline: string,
  esc: (s: string) => string,
): DomainError {
  return new DomainError(
    "LOCKED",
    `${describeGate(g, pipeline, esc)}. Promotions wait until it ${g.kind === "locked" ? "is unlocked" : "ends"}; an approver can override for one request with \`/promote ${esc(pipeline)} --override "reason"\`.`,
  );
}
