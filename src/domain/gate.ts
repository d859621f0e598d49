/**
 * Whether a pipeline accepts promotions now: an explicit lock (`/promote lock`) or a configured freeze
 * window closes it; an approver may override either for one request, with a reason.
 */
import { type FreezeWindow, inWindow, occurrenceStart } from "./freeze.js";

export interface Lock {
  pipeline: string;
  reason: string;
  lockedBy: string;
  lockedAt: Date;
}

export type Gate =
  | { kind: "open" }
  | { kind: "locked"; lock: Lock }
  /** `since`: when this occurrence of the window began (undefined: in force for over a week). */
  | { kind: "frozen"; window: FreezeWindow; since: Date | undefined };

type Closed = Exclude<Gate, { kind: "open" }>;

/** Everything that closes the pipeline now: its lock, then the freeze window it is in. */
export function closedGates(lock: Lock | undefined, freeze: readonly FreezeWindow[], now: Date): Closed[] {
  const closed: Closed[] = lock ? [{ kind: "locked", lock }] : [];
  for (const window of freeze.filter((w) => inWindow(w, now))) {
    closed.push({ kind: "frozen", window, since: occurrenceStart(window, now) });
  }
  return closed;
}

/**
 * The first lock or window closing the pipeline now that the request's override does not cover, or
 * open: every one of them must be covered (an override for the lock is no pass through a window
 * that began after it, nor is one for one window a pass through another).
 */
export function blockingGate(
  lock: Lock | undefined,
  freeze: readonly FreezeWindow[],
  now: Date,
  request: { overrideReason: string | null; overrideGate: string | null },
): Gate {
  return closedGates(lock, freeze, now).find((g) => !gatePasses(g, request)) ?? { kind: "open" };
}

/** What stops promotions now (the lock before a freeze window), or open. */
export function gate(lock: Lock | undefined, freeze: readonly FreezeWindow[], now: Date): Gate {
  return closedGates(lock, freeze, now)[0] ?? { kind: "open" };
}

/**
 * Names a closed gate: an override is given for one lock (who locked it, when) or one freeze window,
 * and covers no other that closes the pipeline later.
 */
export function gateKey(g: Closed): string {
  if (g.kind === "locked") return `lock:${g.lock.lockedBy}:${g.lock.lockedAt.toISOString()}`;
  const w = g.window;
  return `freeze:${JSON.stringify([w.days, w.from, w.to, w.timezone, w.reason])}:${g.since?.toISOString() ?? "always"}`;
}

/** A lock or freeze window an override was given for, as read back from its key (`gateKey`). */
export type OverriddenGate =
  | { kind: "locked"; lockedBy: string; lockedAt: Date }
  | { kind: "frozen"; window: FreezeWindow; since: Date | undefined };

function parseGateKey(key: string): OverriddenGate | undefined {
  if (key.startsWith("lock:")) {
    // `lock:<user id>:<ISO time>`: a Slack user id has no colon, the time has several.
    const rest = key.slice("lock:".length);
    const colon = rest.indexOf(":");
    const lockedAt = new Date(rest.slice(colon + 1));
    if (colon <= 0 || Number.isNaN(lockedAt.getTime())) return undefined;
    return { kind: "locked", lockedBy: rest.slice(0, colon), lockedAt };
  }
  if (key.startsWith("freeze:")) {
    // `freeze:<JSON array>:<ISO time or "always">`: the array's last `]:` ends it (a reason inside it
    // is a JSON string, and the time after it holds no bracket).
    const rest = key.slice("freeze:".length);
    const end = rest.lastIndexOf("]:");
    if (end < 0) return undefined;
    let fields: unknown;
    try {
      fields = JSON.parse(rest.slice(0, end + 1));
    } catch {
      return undefined;
    }
    if (!Array.isArray(fields)) return undefined;
    const [days, from, to, timezone, reason] = fields as unknown[];
    if (!Array.isArray(days) || ![from, to, timezone, reason].every((v) => typeof v === "string")) return undefined;
    const sinceText = rest.slice(end + 2);
    const since = sinceText === "always" ? undefined : new Date(sinceText);
    if (since && Number.isNaN(since.getTime())) return undefined;
    const window = { days, from, to, timezone, reason } as FreezeWindow;
    return { kind: "frozen", window, since };
  }
  return undefined;
}

/**
 * Which locks and windows a stored override covers (`overrideKeys` read back), to show on the
 * request; empty when there is none, or for a request stored before overrides named their gate.
 */
export function overriddenGates(overrideGate: string | null): OverriddenGate[] {
  if (!overrideGate) return [];
  return overrideGate.split("\n").flatMap((key) => parseGateKey(key) ?? []);
}

/** What an override given now covers: every lock and window closing the pipeline now (one key a line). */
export function overrideKeys(closed: readonly Closed[]): string | null {
  return closed.length > 0 ? closed.map(gateKey).join("\n") : null;
}

/**
 * Whether a request may be approved or promoted with the gate as it is: open, or closed by the very
 * lock or window the request's override was given for. (A request stored before overrides named
 * their gate has only a reason; it keeps the old meaning: any gate.)
 */
export function gatePasses(g: Gate, request: { overrideReason: string | null; overrideGate: string | null }): boolean {
  if (g.kind === "open") return true;
  if (!request.overrideReason) return false;
  return request.overrideGate === null || request.overrideGate.split("\n").includes(gateKey(g));
}
