/**
 * The at-most-once executor: every action that changes production (a Heroku promotion, a rollback, a
 * GitLab job play) goes through `actAtMostOnce`, with one retry loop, one trace lookup and one rule
 * for what an ambiguous answer means.
 *
 * The rule: an attempt whose answer leaves open whether the provider acted (a timeout, a dropped
 * connection, a 5xx, a 2xx whose body cannot be read) is never retried before its trace was looked
 * for, the last attempt included. "No trace" counts only from a lookup that succeeded after the
 * provider's window (`promotionPostTimeoutMs`); when the provider cannot be read, the outcome is
 * unknown (TraceUnknown): the request stays `promoting` and is taken up again, never failed and never
 * acted on again blindly.
 */
import { DomainError } from "../../domain/errors.js";
import { isStopping } from "../../infra/stopping.js";
import type { AppContext } from "../context.js";
import { eventsFlowing } from "../release-view.js";
import type { LeaseKeeper } from "./lease.js";

/** How many attempts an action gets when each ambiguous one left no trace. */
export const ATTEMPTS = 4;

/**
 * The provider could not be read to find out whether an earlier attempt acted. Acting again could
 * change production twice, so the request stays `promoting` (not a DomainError: it does not fail it).
 */
export class TraceUnknown extends Error {
  constructor(readonly reason: unknown) {
    const cause = reason;
    super(
      `could not find out whether an earlier attempt went through: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
    this.name = "TraceUnknown";
  }
}

/**
 * The change was made (or may have been) but its outcome cannot be established: it did not end within
 * the follow limit, or the provider stayed unreadable. The request moves to `unknown` with this
 * evidence and a link where a person can check, never to failed.
 */
export class OutcomeUnknown extends Error {
  constructor(
    readonly why: string,
    readonly link: string | null,
  ) {
    super(why);
    this.name = "OutcomeUnknown";
  }
}

/** A provider's answer that says "try again": 429, 5xx, a network error, an unreadable 2xx. */
export function isRetryable(error: unknown): boolean {
  return error instanceof DomainError && error.retryable;
}

/**
 * A read made to find a trace: a transient failure of it means "unknown", not "no". A definite refusal
 * (a 404 of the app, say) and shutting down pass through.
 */
export async function orUnknown<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (isStopping(error) || (error instanceof DomainError && !isRetryable(error))) throw error;
    throw new TraceUnknown(error);
  }
}

/**
 * An attempt recorded at `startedAt` (the database's time) may still be in flight at the provider, from
 * a process that died: wait, on the database's clock, until it must have ended.
 */
export async function waitOutWindow(
  ctx: AppContext,
  startedAt: Date,
  windowMs = ctx.tuning.promotionPostTimeoutMs,
): Promise<void> {
  const settledAt = startedAt.getTime() + windowMs + 1_000;
  const wait = settledAt - (await ctx.store.databaseNow()).getTime();
  if (wait > 0) await ctx.sleep(wait);
}

/**
 * After an ambiguous answer, look for the attempt's trace for the provider's window. Returns the trace,
 * or undefined from a lookup that succeeded after the window; throws TraceUnknown when the last lookup
 * could not read the provider.
 */
export async function lookForTrace<T>(
  ctx: AppContext,
  lease: LeaseKeeper,
  find: () => Promise<T | undefined>,
  windowMs = ctx.tuning.promotionPostTimeoutMs,
): Promise<T | undefined> {
  // A duration in this process: measured on its monotonic clock, which a wall-clock jump (NTP
  // stepping the dyno's clock) does not stretch or cut short.
  const until = performance.now() + windowMs;
  let delay = ctx.tuning.pollFirstMs;
  for (;;) {
    lease.check();
    const deadline = performance.now() >= until;
    try {
      const found = await orUnknown(find);
      if (found !== undefined) return found;
      if (deadline) return undefined;
    } catch (error) {
      if (deadline || !(error instanceof TraceUnknown)) throw error;
    }
    await ctx.sleep(delay);
    delay = Math.min(ctx.tuning.pollMaxMs, delay * 2);
  }
}

export interface ProductionAction<A, T> {
  /** What the attempt does, for logs ("creating the promotion"). */
  what: string;
  /** Before every attempt: prove this process still holds the lease (throws LeaseLost). */
  fence: () => Promise<void>;
  /** One attempt at the change; its answer. */
  attempt: () => Promise<A>;
  /** The trace an earlier attempt left at the provider, or undefined when there is none. */
  trace: () => Promise<T | undefined>;
  /** Set when an earlier process recorded an attempt (at that database time) and died: look first. */
  recoveringFrom: Date | null;
  /**
   * How long after an attempt its trace may take to appear at the provider (default: the POST's own
   * timeout, for providers whose trace exists once they answer).
   */
  traceWindowMs?: number;
}

export type Acted<A, T> = { answered: A } | { traced: T };

/**
 * Makes the change at most once. A recovering process first waits out the dead process's attempt and
 * looks for its trace; then each attempt is fenced on the lease, and any ambiguous answer is followed
 * by a trace lookup before anything else. A definite refusal (4xx) is thrown: nothing was changed.
 */
export async function actAtMostOnce<A, T>(
  ctx: AppContext,
  lease: LeaseKeeper,
  action: ProductionAction<A, T>,
): Promise<Acted<A, T>> {
  if (action.recoveringFrom) {
    await waitOutWindow(ctx, action.recoveringFrom, action.traceWindowMs);
    const earlier = await orUnknown(action.trace);
    if (earlier !== undefined) {
      ctx.log.warn({ what: action.what }, "an earlier attempt went through; following it");
      return { traced: earlier };
    }
  }
  for (let attempt = 1; ; attempt++) {
    lease.check();
    await action.fence();
    try {
      return { answered: await action.attempt() };
    } catch (error) {
      if (!isRetryable(error)) throw error;
      ctx.log.warn({ err: error, attempt, what: action.what }, "an attempt failed ambiguously; looking for its trace");
      const earlier = await lookForTrace(ctx, lease, action.trace, action.traceWindowMs);
      if (earlier !== undefined) return { traced: earlier };
      if (attempt >= ATTEMPTS) throw error;
    }
  }
}

/**
 * Follows a change until `read` says it ended, with backoff. Transient read failures are logged and
 * read again (the change runs on at the provider whatever happens here); after `followLimitMs` it
 * gives up with `tooLong`: the outcome is unknown (never failed: the change may still finish).
 *
 * With `wakeOn` (the apps the change releases on): while Heroku's release events flow for every one of
 * them, Heroku is read at most every `eventPollMaxMs`, and at once when a release event about them
 * arrives (the store counts them, so an event processed by another process wakes this one too). The
 * reads still decide: an event only says when to look.
 */
export async function followUntil<T>(
  ctx: AppContext,
  lease: LeaseKeeper,
  startedAt: Date | null,
  read: () => Promise<T | undefined>,
  tooLong: (minutes: number) => OutcomeUnknown,
  wakeOn: string[] = [],
): Promise<T> {
  // `startedAt` is the database's time: how long ago that was is read once on the database's clock
  // (this process's may be minutes off), and the time since on this process's monotonic clock (which a
  // wall-clock jump does not move).
  const before = startedAt ? (await ctx.store.databaseNow()).getTime() - startedAt.getTime() : 0;
  const since = performance.now();
  const elapsed = () => before + (performance.now() - since);
  let delay = ctx.tuning.pollFirstMs;
  for (;;) {
    lease.check();
    // Counted before the read: an event processed while the read is on its way wakes the next one.
    const seen = await releaseEventCount(ctx, wakeOn);
    try {
      const done = await read();
      if (done !== undefined) return done;
    } catch (error) {
      if (!isRetryable(error)) throw error;
      ctx.log.warn({ err: error }, "could not read the change's progress; will look again");
    }
    if (elapsed() > ctx.tuning.followLimitMs) {
      throw tooLong(Math.round(ctx.tuning.followLimitMs / 60_000));
    }
    if (seen !== undefined) {
      await waitForEvents(ctx, lease, wakeOn, seen);
      continue;
    }
    await ctx.sleep(delay);
    delay = Math.min(ctx.tuning.pollMaxMs, Math.round(delay * ctx.tuning.pollFactor));
  }
}

/** The release events applied for `apps` so far; undefined unless events flow for every one of them. */
async function releaseEventCount(ctx: AppContext, apps: string[]): Promise<number | undefined> {
  if (apps.length === 0) return undefined;
  const marks = await ctx.store.eventMarks(apps).catch(() => undefined);
  if (!marks || !apps.every((id) => eventsFlowing(ctx, marks.get(id)?.lastEventAt ?? null))) return undefined;
  return apps.reduce((sum, id) => sum + (marks.get(id)?.releaseEvents ?? 0), 0);
}

/**
 * Waits up to `eventPollMaxMs` for a release event about `apps` beyond the `seen` count, looking at the
 * store every `pollFirstMs`; it ends at once when one came already, or when events stop flowing.
 */
async function waitForEvents(ctx: AppContext, lease: LeaseKeeper, apps: string[], seen: number): Promise<void> {
  const since = performance.now();
  for (;;) {
    const now = await releaseEventCount(ctx, apps);
    // An event came (perhaps during the read), or events stopped flowing: read Heroku now.
    if (now === undefined || now !== seen) return;
    if (performance.now() - since >= ctx.tuning.eventPollMaxMs) return;
    lease.check();
    await ctx.sleep(ctx.tuning.pollFirstMs);
  }
}
