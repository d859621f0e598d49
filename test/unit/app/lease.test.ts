/**
 * The lease keeper counts a lease as lost when the store says another process holds it, and also when
 * it cannot tell: a renewal that throws, or one that does not answer before the lease would run out.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { AppContext } from "../../../src/app/context.js";
import { LeaseKeeper, LeaseLost } from "../../../src/app/execute/lease.js";
import { createLogger } from "../../../src/infra/logger.js";

const LEASE_MS = 300;
const keepers: LeaseKeeper[] = [];
afterEach(async () => {
  for (const k of keepers.splice(0)) await k.stop(false);
});

function keeperWith(renew: () => Promise<boolean>): LeaseKeeper {
  const ctx = {
    instanceId: "me",
    tuning: { promotionLeaseMs: LEASE_MS },
    log: createLogger({ level: "silent" }),
    store: { renewPromotionLease: renew, releasePromotionLease: async () => {} },
  } as unknown as AppContext;
  const keeper = new LeaseKeeper(ctx, "request-1");
  keepers.push(keeper);
  return keeper;
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("the lease keeper", () => {
  it("holds the lease while renewals succeed, past the lease's length", async () => {
    const keeper = keeperWith(async () => true);
    await wait(LEASE_MS * 2);
    expect(() => keeper.check()).not.toThrow();
    await expect(keeper.fence()).resolves.toBeUndefined();
  });

  it("counts the lease lost when the store says another process holds it", async () => {
    const keeper = keeperWith(async () => false);
    await wait(LEASE_MS / 2);
    expect(() => keeper.check()).toThrow(LeaseLost);
  });

  it("counts the lease lost when a renewal throws (the store could not be reached)", async () => {
    const keeper = keeperWith(async () => {
      throw new Error("connection terminated unexpectedly");
    });
    await wait(LEASE_MS / 2);
    expect(() => keeper.check()).toThrow(/could not be renewed/);
  });

  it("counts the lease lost when renewals do not answer before it would run out", async () => {
    const keeper = keeperWith(() => new Promise<boolean>(() => {}));
    expect(() => keeper.check()).not.toThrow();
    await wait(LEASE_MS);
    expect(() => keeper.check()).toThrow(/not renewed in time/);
  });

  it("fences on the store before an attempt: a store that cannot confirm the lease stops the attempt", async () => {
    let fail = false;
    const keeper = keeperWith(async () => {
      if (fail) throw new Error("store down");
      return true;
    });
    await keeper.fence();
    fail = true;
    await expect(keeper.fence()).rejects.toThrow(LeaseLost);
  });
});
