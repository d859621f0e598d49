/**
 * Bounded retries with exponential backoff and full jitter, honouring a server's Retry-After.
 * Only errors the caller classifies as transient are retried.
 */
export interface RetryPolicy {
  /** Total attempts, the first included. */
  attempts: number;
  baseMs: number;
  maxMs: number;
}

export interface RetryDecision {
  retry: boolean;
  /** Wait at least this long before the next attempt (Retry-After). */
  afterMs?: number;
}

export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function backoffDelay(
  attempt: number,
  policy: Pick<RetryPolicy, "baseMs" | "maxMs">,
  random = Math.random,
): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** attempt);
  // Full jitter keeps many instances from retrying in lockstep, but never waits less than half.
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  classify: (error: unknown) => RetryDecision,
  policy: RetryPolicy,
  sleep: Sleep = realSleep,
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      const decision = classify(error);
      if (!decision.retry || attempt + 1 >= policy.attempts) throw error;
      // A server's Retry-After wins over our backoff, within reason (4× the backoff ceiling).
      const delay = Math.min(Math.max(decision.afterMs ?? 0, backoffDelay(attempt, policy)), policy.maxMs * 4);
      onRetry?.(error, attempt + 1, delay);
      await sleep(delay);
    }
  }
}

/** Parses Retry-After: seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1_000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
