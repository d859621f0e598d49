/**
 * The lease a process holds on a request while it acts on it and follows it: one process at a time,
 * taken over by another when the holder dies. The lease lives in the store; a timer renews it.
 */
import type { AppContext } from "../context.js";

/** This process no longer holds the request's lease (or cannot tell that it does): it stops acting. */
export class LeaseLost extends Error {
  constructor(why = "the promotion lease was lost") {
    super(why);
    this.name = "LeaseLost";
  }
}

/**
 * Keeps the lease alive while the request is followed. `check()` throws once it is lost, and counts
 * it lost when a renewal threw or did not answer in time: another process may have taken the request
 * over once the lease ran out, so this one must not act on what it last knew. Durations are measured
 * on this process's monotonic clock; the lease's expiry itself is the database's.
 */
export class LeaseKeeper {
  private lost: string | undefined;
  private renewing = false;
  /** Monotonic time until which the last confirmed renewal keeps the lease (minus a safety margin). */
  private heldUntil: number;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly ctx: AppContext,
    private readonly requestId: string,
  ) {
    const leaseMs = ctx.tuning.promotionLeaseMs;
    // The claim that gave this process the lease was just made: it holds for the lease's length.
    this.heldUntil = performance.now() + leaseMs * 0.8;
    const every = Math.max(50, Math.floor(leaseMs / 3));
    this.timer = setInterval(() => void this.renew(), every);
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    if (this.renewing || this.lost) return;
    this.renewing = true;
    try {
      await this.confirm();
    } finally {
      this.renewing = false;
    }
  }

  /**
   * One renewal in the store (a conditional write on owner and expiry). Refused, throwing or not in
   * time: the lease counts as lost from then on.
   */
  private async confirm(): Promise<void> {
    const askedAt = performance.now();
    try {
      const held = await this.ctx.store.renewPromotionLease(
        this.requestId,
        this.ctx.instanceId,
        this.ctx.tuning.promotionLeaseMs,
      );
      if (!held) this.lose("another process holds the promotion lease now");
      // Counted from when it was asked: the database may have renewed it at any moment after that.
      else this.heldUntil = askedAt + this.ctx.tuning.promotionLeaseMs * 0.8;
    } catch (error) {
      this.ctx.log.warn({ err: error, requestId: this.requestId }, "could not renew the promotion lease; stopping");
      this.lose("the promotion lease could not be renewed");
    }
  }

  private lose(why: string): void {
    this.lost ??= why;
  }

  /** Throws LeaseLost when the lease is lost, or when no renewal was confirmed in time. */
  check(): void {
    if (!this.lost && performance.now() > this.heldUntil) this.lose("the promotion lease was not renewed in time");
    if (this.lost) throw new LeaseLost(this.lost);
  }

  /**
   * Before an attempt that changes production: confirms with the store that this process still holds
   * the lease (a conditional write), so that a process that lost it cannot act even if its timer has
   * not noticed yet.
   */
  async fence(): Promise<void> {
    this.check();
    await this.confirm();
    this.check();
  }

  async stop(release: boolean): Promise<void> {
    clearInterval(this.timer);
    if (release) await this.ctx.store.releasePromotionLease(this.requestId, this.ctx.instanceId).catch(() => {});
  }
}
