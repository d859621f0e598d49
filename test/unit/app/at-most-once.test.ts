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
