import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backoffDelay, parseRetryAfter, type RetryDecision, withRetry } from "../../../src/infra/retry.js";

const policy = { attempts: 4, baseMs: 100, maxMs: 1_000 };

class Transient extends Error {
  constructor(readonly afterMs?: number) {
    super("transient");
  }
}

const classify = (error: unknown): RetryDecision =>
  error instanceof Transient
    ? { retry: true, ...(error.afterMs !== undefined ? { afterMs: error.afterMs } : {}) }
    : { retry: false };

/** An operation failing with the given errors in turn, then succeeding. */
function failing(...errors: Error[]) {
  const calls: number[] = [];
  const operation = async (attempt: number) => {
    calls.push(attempt);
    const error = errors[calls.length - 1];
    if (error) throw error;
    return "done";
  };
  return { operation, calls };
}

function recordingSleep() {
  const slept: number[] = [];
  return { slept, sleep: async (ms: number) => void slept.push(ms) };
}

describe("withRetry", () => {
  it("returns the first success without sleeping", async () => {
    const { operation, calls } = failing();
    const { slept, sleep } = recordingSleep();
    await expect(withRetry(operation, classify, policy, sleep)).resolves.toBe("done");
    expect(calls).toEqual([0]);
    expect(slept).toEqual([]);
  });

  it("retries transient errors until the operation succeeds, numbering the attempts", async () => {
    const { operation, calls } = failing(new Transient(), new Transient());
    const { slept, sleep } = recordingSleep();
    const retries: Array<[number, number]> = [];
    await expect(
      withRetry(operation, classify, policy, sleep, (_e, attempt, delay) => retries.push([attempt, delay])),
    ).resolves.toBe("done");
    expect(calls).toEqual([0, 1, 2]);
    expect(slept).toHaveLength(2);
    expect(retries.map(([attempt]) => attempt)).toEqual([1, 2]);
    expect(retries.map(([, delay]) => delay)).toEqual(slept);
  });

  it("does not retry an error it is not told is transient", async () => {
    const permanent = new Error("401 unauthorized");
    const { operation, calls } = failing(permanent);
    const { slept, sleep } = recordingSleep();
    await expect(withRetry(operation, classify, policy, sleep)).rejects.toBe(permanent);
    expect(calls).toEqual([0]);
    expect(slept).toEqual([]);
  });

  it("stops after the configured number of attempts and throws the last error", async () => {
    const errors = [new Transient(), new Transient(), new Transient(), new Transient(), new Transient()];
    const { operation, calls } = failing(...errors);
    const { slept, sleep } = recordingSleep();
    await expect(withRetry(operation, classify, policy, sleep)).rejects.toBe(errors[3]);
    expect(calls).toEqual([0, 1, 2, 3]);
    expect(slept).toHaveLength(3);
  });

  it("tries once when one attempt is allowed", async () => {
    const { operation, calls } = failing(new Transient());
    await expect(
      withRetry(operation, classify, { ...policy, attempts: 1 }, recordingSleep().sleep),
    ).rejects.toBeInstanceOf(Transient);
    expect(calls).toEqual([0]);
  });

  it("waits at least as long as the server's Retry-After", async () => {
    const { operation } = failing(new Transient(2_500));
    const { slept, sleep } = recordingSleep();
    await withRetry(operation, classify, policy, sleep);
    expect(slept).toEqual([2_500]);
  });

  it("waits the backoff when it is longer than Retry-After", async () => {
    const { operation } = failing(new Transient(1));
    const { slept, sleep } = recordingSleep();
    await withRetry(operation, classify, policy, sleep);
    expect(slept[0]).toBeGreaterThanOrEqual(50);
    expect(slept[0]).toBeLessThanOrEqual(100);
  });

  it("caps a very long Retry-After at four times the maximum backoff", async () => {
    const { operation } = failing(new Transient(3_600_000));
    const { slept, sleep } = recordingSleep();
    await withRetry(operation, classify, policy, sleep);
    expect(slept).toEqual([4_000]);
  });

  // QUESTIONABLE (src/infra/retry.ts, withRetry): onRetry is told the uncapped delay (here 3,600,000 ms)
  // while the sleep is capped at maxMs * 4 (4,000 ms), so a log line built from onRetry misreports the wait.
  it("reports to onRetry the delay it actually waits", async () => {
    const { operation } = failing(new Transient(3_600_000));
    const { slept, sleep } = recordingSleep();
    const reported: number[] = [];
    await withRetry(operation, classify, policy, sleep, (_e, _attempt, delay) => reported.push(delay));
    expect(reported).toEqual(slept);
  });
});

describe("backoffDelay", () => {
  it("doubles the ceiling each attempt up to the maximum", () => {
    const top = () => 1;
    expect([0, 1, 2, 3, 4, 5].map((a) => backoffDelay(a, policy, top))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it("never waits less than half the ceiling", () => {
    const bottom = () => 0;
    expect([0, 1, 2, 3, 4].map((a) => backoffDelay(a, policy, bottom))).toEqual([50, 100, 200, 400, 500]);
  });

  it("stays between half the ceiling and the ceiling for any attempt and jitter", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 600_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, baseMs, maxMs, r) => {
          const ceiling = Math.min(maxMs, baseMs * 2 ** attempt);
          const delay = backoffDelay(attempt, { baseMs, maxMs }, () => r);
          expect(delay).toBeGreaterThanOrEqual(Math.floor(ceiling / 2));
          expect(delay).toBeLessThanOrEqual(ceiling);
        },
      ),
    );
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2025-03-04T10:00:00Z");

  it("reads seconds", () => {
    expect(parseRetryAfter("120", now)).toBe(120_000);
    expect(parseRetryAfter("0", now)).toBe(0);
    expect(parseRetryAfter("1.5", now)).toBe(1_500);
    expect(parseRetryAfter(" 7 ", now)).toBe(7_000);
  });

  it("reads an HTTP date as the time left until then", () => {
    expect(parseRetryAfter("Tue, 04 Mar 2025 10:00:30 GMT", now)).toBe(30_000);
  });

  it("does not wait for an HTTP date in the past", () => {
    expect(parseRetryAfter("Tue, 04 Mar 2025 09:59:00 GMT", now)).toBe(0);
  });

  it("ignores a missing or unreadable header", () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter("", now)).toBeUndefined();
    expect(parseRetryAfter("soon", now)).toBeUndefined();
  });
});
