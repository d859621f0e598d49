/**
 * The background side of the bot: processes recorded deliveries, follows promotions, expires requests,
 * and periodically picks up anything left behind (a process that died, a delivery not yet processed).
 * On stop it stops waiting, releases its leases and lets the in-flight work wind down.
 */
import { DomainError } from "../domain/errors.js";
import { blockingGate } from "../domain/gate.js";
import { isExpired } from "../domain/request.js";
import { abortableSleep, isStopping } from "../infra/stopping.js";
import { type AppContext, messageSettleDelayMs } from "./context.js";
import { expireRequest, postMissingMessage, refreshRequestMessage, startPromoting } from "./decide.js";
import { executePromotion } from "./execute/index.js";
import { processDelivery } from "./process-delivery.js";
import { learnMissingTopologies } from "./release-view.js";

export class Worker {
  private readonly tasks = new Set<Promise<void>>();
  private readonly running = new Set<string>();
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;
  readonly ctx: AppContext;

  constructor(ctx: AppContext) {
    // Every wait inside a use case ends at once when the worker stops.
    this.ctx = { ...ctx, sleep: abortableSleep(this.abort.signal) };
  }

  get stopping(): boolean {
    return this.abort.signal.aborted;
  }

  start(): void {
    this.timer = setInterval(() => this.sweep(), this.ctx.tuning.sweepIntervalMs);
    this.timer.unref();
    this.sweep();
    void this.holdStopFor(() => learnMissingTopologies(this.ctx)).catch((error: unknown) => {
      if (!isStopping(error)) this.ctx.log.warn({ err: error }, "could not learn the pipelines' apps at start-up");
    });
  }

  /** Stops taking work, interrupts waits, and waits (up to `graceMs`) for in-flight work to end. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.abort.abort();
    // Until no work is left: a task may start another (a listener's use case, the sweep) while waiting.
    const deadline = Date.now() + graceMs;
    while (this.tasks.size > 0 && Date.now() < deadline) {
      let timeout: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.tasks]),
        new Promise((resolve) => {
          timeout = setTimeout(resolve, deadline - Date.now());
        }),
      ]);
      clearTimeout(timeout);
    }
  }

  /**
   * Runs work that continues after Slack was acknowledged (a listener's use case), so that stop()
   * waits for it as for the worker's own tasks: the store is not closed under it.
   */
  async holdStopFor<T>(work: () => Promise<T>): Promise<T> {
    const result = work();
    const settled: Promise<void> = result.then(
      () => {
        this.tasks.delete(settled);
      },
      () => {
        this.tasks.delete(settled);
      },
    );
    this.tasks.add(settled);
    return result;
  }

  /** Resolves when no background work is in flight (for tests and benchmarks). */
  async idle(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }

  /** Starts background work unless work under the same key (a delivery, a promotion) is already running here. */
  private startOnce(key: string, work: () => Promise<void>): void {
    if (this.stopping || this.running.has(key)) return;
    this.running.add(key);
    const task = work()
      .catch((error: unknown) => {
        if (isStopping(error)) return;
        this.ctx.log.error({ err: error, task: key }, "background task failed");
      })
      .finally(() => {
        this.running.delete(key);
        this.tasks.delete(task);
      });
    this.tasks.add(task);
  }

  dispatchDelivery(id: string): void {
    this.startOnce(`delivery:${id}`, async () => {
      const delivery = await this.ctx.store.claimDelivery(
        id,
        this.ctx.instanceId,
        this.ctx.clock.now(),
        this.ctx.tuning.deliveryLeaseMs,
      );
      if (delivery) await processDelivery(this.ctx, delivery);
    });
  }

  /** Starts following a request that just moved to promoting. */
  followPromotion(requestId: string): void {
    this.startOnce(`promotion:${requestId}`, async () => {
      const claimed = await this.ctx.store.claimPromotion(
        this.ctx.instanceId,
        this.ctx.tuning.promotionLeaseMs,
        requestId,
      );
      if (claimed) await executePromotion(this.ctx, claimed);
    });
  }

  sweep(): void {
    if (this.sweeping || this.stopping) return;
    this.sweeping = true;
    // Tracked like any task, so that stop() does not close the store under a sweep step.
    void this.holdStopFor(() => this.sweepOnce())
      .catch((error: unknown) => {
        if (!(error instanceof DomainError)) this.ctx.log.error({ err: error }, "background sweep failed");
      })
      .finally(() => {
        this.sweeping = false;
      });
  }

  private async sweepOnce(): Promise<void> {
    // Each step on its own: one failing (Slack down, a store blip) must not stop the others, and
    // orphaned promotions come first (their takeover is the time-critical one).
    const step = async (name: string, work: () => Promise<void>) => {
      try {
        await work();
      } catch (error) {
        if (!isStopping(error)) this.ctx.log.error({ err: error, step: name }, "a background sweep step failed");
      }
    };
    await step("orphaned promotions", async () => {
      for (let i = 0; i < 5; i++) {
        const claimed = await this.ctx.store.claimPromotion(this.ctx.instanceId, this.ctx.tuning.promotionLeaseMs);
        if (!claimed || this.running.has(`promotion:${claimed.id}`)) break;
        this.startOnce(`promotion:${claimed.id}`, () => executePromotion(this.ctx, claimed));
      }
    });
    const now = this.ctx.clock.now();
    await step("deliveries", async () => {
      for (const id of await this.ctx.store.unfinishedDeliveries(now, 20)) this.dispatchDelivery(id);
    });
    await step("approved requests", async () => {
      // An approval that completed a request without moving it on (a crash in between). A lock or
      // freeze window that closed the pipeline since holds it, as it would hold an approval now,
      // until it opens again or the request expires.
      for (const request of await this.ctx.store.fullyApprovedPending()) {
        const pipelineConfig = this.ctx.pipelines.find((x) => x.name === request.pipeline);
        if (!pipelineConfig) continue;
        // Approvals count only before expiry: an approved request found after it expired is expired,
        // never promoted (the expiry step below ends it).
        if (isExpired(request, this.ctx.clock.now())) continue;
        const blocking = blockingGate(
          await this.ctx.store.getLock(pipelineConfig.name),
          pipelineConfig.freeze,
          this.ctx.clock.now(),
          request,
        );
        if (blocking.kind !== "open") {
          this.ctx.log.debug(
            { requestId: request.id, gate: blocking.kind },
            "approved request held: the pipeline is closed",
          );
          continue;
        }
        const count = (await this.ctx.store.approvals(request.id)).length;
        if (await startPromoting(this.ctx, request, count)) this.followPromotion(request.id);
      }
    });
    await step("expiries", async () => {
      for (const request of await this.ctx.store.expiredRequests(now)) await expireRequest(this.ctx, request);
    });
    await step("settled messages", async () => {
      for (const request of await this.ctx.store.unsettledMessages(messageSettleDelayMs(this.ctx.tuning), 20)) {
        try {
          await refreshRequestMessage(this.ctx, request);
          await this.ctx.store.markMessageSettled(request.id, request.state, this.ctx.clock.now());
        } catch (error) {
          // Slack still failing: the next sweep tries again.
          if (isStopping(error)) throw error;
          this.ctx.log.warn(
            { err: error, requestId: request.id },
            "could not bring a request's message up to date after its last change",
          );
          break;
        }
      }
    });
    await step("missing messages", async () => {
      for (const request of await this.ctx.store.requestsWithoutMessage(this.ctx.tuning.messageGraceMs)) {
        await postMissingMessage(this.ctx, request).catch((error: unknown) =>
          this.ctx.log.error({ err: error, requestId: request.id }, "could not post a missing request message"),
        );
      }
    });
  }
}
