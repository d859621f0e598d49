/**
 * The use cases as the transports call them: each entry point runs one use case and hands any
 * background follow-up (processing a delivery, following a promotion) to the worker.
 */
import type { HandledBody, HandledEvent } from "../domain/gitlab-events.js";
import type { HerokuEvent } from "../domain/heroku-events.js";
import type { PromotionRequest } from "../domain/request.js";
import { ApproverDirectory } from "./approvers.js";
import type { AppContext } from "./context.js";
import { approve, cancelPending, type DecisionResult, endRequest } from "./decide.js";
import { HerokuTriage, skipReason } from "./delivery-triage.js";
import { publishHome } from "./home.js";
import { lockPipeline, unlockPipeline } from "./locks.js";
import type { RequestCreated } from "./new-request.js";
import { listPipelines, pipelineHistory, pipelineStatus } from "./pipeline-status.js";
import { type RequestSource, requestPromotion } from "./request-promotion.js";
import { requestRollback, rollbackPromotion } from "./request-rollback.js";
import { type Resolution, resolveUnknown } from "./resolve-unknown.js";
import { Worker } from "./worker.js";

export class PromoteBot {
  readonly worker: Worker;
  readonly approvers: ApproverDirectory;
  private readonly ctx: AppContext;
  private readonly herokuTriage: HerokuTriage;

  constructor(ctx: AppContext) {
    this.worker = new Worker(ctx);
    this.ctx = this.worker.ctx;
    this.approvers = new ApproverDirectory(this.ctx);
    this.herokuTriage = new HerokuTriage(this.ctx);
  }

  get pipelineNames(): string[] {
    return this.ctx.pipelines.map((pipelineConfig) => pipelineConfig.name);
  }

  pipeline(name: string) {
    return this.ctx.pipelines.find((pipelineConfig) => pipelineConfig.name === name);
  }

  /** Why a validated Heroku event needs no work (recorded as done at once), or undefined (app/delivery-triage.ts). */
  herokuSkipReason(event: HerokuEvent): Promise<string | undefined> {
    return this.herokuTriage.skipReason(event);
  }

  /** Why a validated GitLab event needs no work (recorded as done at once), or undefined (app/delivery-triage.ts). */
  skipReason(_event: HandledEvent, body: HandledBody): string | undefined {
    return skipReason(this.ctx.pipelines, body);
  }

  /** A GitLab delivery was recorded: process it in the background. */
  deliveryRecorded(id: string): void {
    this.worker.dispatchDelivery(id);
  }

  async requestPromotion(source: RequestSource, requester: string, override?: string): Promise<RequestCreated> {
    const created = await requestPromotion(this.ctx, this.approvers, {
      source,
      requester,
      ...(override !== undefined ? { override } : {}),
    });
    if (created.request.state === "promoting") this.worker.followPromotion(created.request.id);
    return created;
  }

  async approve(requestId: string, actor: string): Promise<DecisionResult> {
    const result = await approve(this.ctx, this.approvers, { requestId, actor });
    if (result.kind === "approved" && result.promoting) this.worker.followPromotion(requestId);
    return result;
  }

  async end(requestId: string, actor: string, action: "reject" | "cancel"): Promise<DecisionResult> {
    return endRequest(this.ctx, this.approvers, { requestId, actor, action });
  }

  /** An approver's answer to a request whose outcome is unknown: record it, or try again. */
  async resolveUnknown(requestId: string, actor: string, resolution: Resolution): Promise<PromotionRequest> {
    const resolved = await resolveUnknown(this.ctx, this.approvers, { requestId, actor, resolution });
    if (resolved.state === "promoting") this.worker.followPromotion(resolved.id);
    return resolved;
  }

  list() {
    return listPipelines(this.ctx);
  }

  status(pipeline: string) {
    return pipelineStatus(this.ctx, pipeline);
  }

  history(pipeline: string, limit: number) {
    return pipelineHistory(this.ctx, pipeline, limit);
  }

  /** `/promote cancel <pipeline>`: cancels the pipeline's pending request (requester or approver). */
  cancelPending(pipeline: string, actor: string): Promise<PromotionRequest> {
    return cancelPending(this.ctx, this.approvers, { pipeline, actor });
  }

  async requestRollback(
    pipeline: string,
    requester: string,
    options: { override?: string; afterRequestId?: string } = {},
  ): Promise<RequestCreated> {
    const created = await requestRollback(this.ctx, this.approvers, { pipeline, requester, ...options });
    if (created.request.state === "promoting") this.worker.followPromotion(created.request.id);
    return created;
  }

  /** The Rollback button of a promotion's success message: roll back what that promotion released. */
  async rollbackPromotion(requestId: string, requester: string): Promise<RequestCreated> {
    const created = await rollbackPromotion(this.ctx, this.approvers, { requestId, requester });
    if (created.request.state === "promoting") this.worker.followPromotion(created.request.id);
    return created;
  }

  publishHome(user: string, notice?: string): Promise<void> {
    return publishHome(this.ctx, this.approvers, user, notice);
  }

  lock(pipeline: string, actor: string, reason: string) {
    return lockPipeline(this.ctx, this.approvers, { pipeline, actor, reason });
  }

  unlock(pipeline: string, actor: string) {
    return unlockPipeline(this.ctx, this.approvers, { pipeline, actor });
  }

  start(): void {
    this.worker.start();
  }

  async stop(graceMs?: number): Promise<void> {
    await this.worker.stop(graceMs);
  }
}
