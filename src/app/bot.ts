/**
 * The use cases as the transports call them: each entry point runs one use case and hands any
 * background follow-up (processing a delivery, following a promotion) to the worker.
 */
import type { PromotionRequest } from "../domain/request.js";
import { ApproverDirectory } from "./approvers.js";
import type { AppContext } from "./context.js";
import { approve, type DecisionResult, endRequest } from "./decide.js";
import { type RequestSource, requestPromotion } from "./request-promotion.js";
import { Worker } from "./worker.js";

export class PromoteBot {
  readonly worker: Worker;
  readonly approvers: ApproverDirectory;
  private readonly ctx: AppContext;

  constructor(ctx: AppContext) {
    this.worker = new Worker(ctx);
    this.ctx = this.worker.ctx;
    this.approvers = new ApproverDirectory(this.ctx);
  }

  get pipelineNames(): string[] {
    return this.ctx.pipelines.map((p) => p.name);
  }

  pipeline(name: string) {
    return this.ctx.pipelines.find((p) => p.name === name);
  }

  /** A GitLab delivery was recorded: process it in the background. */
  deliveryRecorded(id: string): void {
    this.worker.dispatchDelivery(id);
  }

  async requestPromotion(source: RequestSource, requester: string): Promise<PromotionRequest> {
    const request = await requestPromotion(this.ctx, this.approvers, { source, requester });
    if (request.state === "promoting") this.worker.followPromotion(request.id);
    return request;
  }

  async approve(requestId: string, actor: string): Promise<DecisionResult> {
    const result = await approve(this.ctx, this.approvers, { requestId, actor });
    if (result.kind === "approved" && result.promoting) this.worker.followPromotion(requestId);
    return result;
  }

  async end(requestId: string, actor: string, action: "reject" | "cancel"): Promise<DecisionResult> {
    return endRequest(this.ctx, this.approvers, { requestId, actor, action });
  }

  start(): void {
    this.worker.start();
  }

  async stop(graceMs?: number): Promise<void> {
    await this.worker.stop(graceMs);
  }
}
