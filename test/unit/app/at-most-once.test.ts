/**
 * The executor's waits are durations of this process: a wall-clock jump (NTP stepping the clock, up to
 * minutes) neither stretches them nor cuts them short. Found by the model-based test: a jump of −31 s
 * during the trace lookup kept a request `promoting` 31 s longer (seed 302873554).
 */
import { describe, expect, it } from "vitest";
import type { AppContext } from "../../../src/app/context.js";
import { followUntil, lookForTrace, OutcomeUnknown } from "../../../src/app/execute/at-most-once.js";
import type { LeaseKeeper } from "../../../src/app/execute/lease.js";
import { createLogger } from "../../../src/infra/logger.js";

/** A context whose wall clock jumps `jumpMs` at the first look, and a lease that holds. */
function jumpingContext(jumpMs: number) {
  let offset = 0;
  const ctx = {
    clock: { now: () => new Date(Date.now() + offset) },
    tuning: { pollFirstMs: 10, pollMaxMs: 20, pollFactor: 1.5, followLimitMs: 300 },
    sleep: (ms: number) => new Promise((resolve) => setTimeout(resolve, ms)),
    log: createLogger({ level: "silent" }),
    store: { databaseNow: async () => new Date() },
  } as unknown as AppContext;
  const lease = { check: () => {} } as unknown as LeaseKeeper;
  return { ctx, lease, jump: () => (offset += jumpMs) };
}

describe("the executor's waits", () => {
  it.each([-31_000, 31_000])("look for a trace for the window's length when the clock jumps %i ms", async (jumpMs) => {
    const { ctx, lease, jump } = jumpingContext(jumpMs);
    const started = performance.now();
    let looks = 0;
    const found = await lookForTrace(
      ctx,
      lease,
      async () => {
        if (looks++ === 0) jump();
        return undefined;
      },
      200,
    );
    const took = performance.now() - started;
    expect(found).toBeUndefined();
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(5_000);
    expect(looks).toBeGreaterThan(1);
  });

  it.each([-31_000, 31_000])("follow a change for the follow limit when the clock jumps %i ms", async (jumpMs) => {
    const { ctx, lease, jump } = jumpingContext(jumpMs);
    const started = performance.now();
    let reads = 0;
    const following = followUntil(
      ctx,
      lease,
      new Date(),
      async () => {
        if (reads++ === 0) jump();
        return undefined;
      },
      (minutes) => new OutcomeUnknown(`not done after ${minutes} minutes`, null),
    );
    await expect(following).rejects.toBeInstanceOf(OutcomeUnknown);
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(280);
    expect(took).toBeLessThan(5_000);
  });
});

describe("following a change by Heroku's release events", () => {
  /** Events flow for one app; `events` is the count the store reports. */
  function eventContext() {
    const state = { events: 5 };
    const ctx = {
      clock: { now: () => new Date() },
      tuning: {
        pollFirstMs: 10,
        pollMaxMs: 20,
        pollFactor: 1.5,
        followLimitMs: 120_000,
        eventPollMaxMs: 60_000,
        herokuEventsFreshForMs: 3_600_000,
      },
      sleep: (ms: number) => new Promise((resolve) => setTimeout(resolve, ms)),
      log: createLogger({ level: "silent" }),
      store: {
        databaseNow: async () => new Date(),
        eventMarks: async (apps: string[]) =>
          new Map(apps.map((id) => [id, { lastEventAt: new Date(), releaseEvents: state.events }])),
      },
    } as unknown as AppContext;
    return { ctx, lease: { check: () => {} } as unknown as LeaseKeeper, state };
  }

  it("reads again at once for an event that arrived while it was reading (not a poll interval later)", async () => {
    const { ctx, lease, state } = eventContext();
    let reads = 0;
    const started = performance.now();
    const done = await followUntil(
      ctx,
      lease,
      null,
      async () => {
        reads += 1;
        // The change ends, and its event is processed, while the first read is on its way.
        if (reads === 1) {
          state.events += 1;
          return undefined;
        }
        return "done";
      },
      (minutes) => new OutcomeUnknown(`${minutes}`, null),
      ["app-prod"],
    );
    expect(done).toBe("done");
    expect(reads).toBe(2);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("while events flow and none comes, reads Heroku no more often than eventPollMaxMs", async () => {
    const { ctx, lease, state } = eventContext();
    (ctx.tuning as { eventPollMaxMs: number }).eventPollMaxMs = 200;
    let reads = 0;
    setTimeout(() => {
      state.events += 1;
    }, 700);
    await followUntil(
      ctx,
      lease,
      null,
      async () => (++reads >= 2 && state.events > 5 ? "done" : undefined),
      (minutes) => new OutcomeUnknown(`${minutes}`, null),
      ["app-prod"],
    );
    // 700 ms at one read per 200 ms at most (with 10 ms polls it would have been about 40).
    expect(reads).toBeLessThanOrEqual(6);
    expect(reads).toBeGreaterThanOrEqual(3);
  });
});
