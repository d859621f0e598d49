/**
 * The use cases as the transports call them: each entry point runs one use case and hands any
 * background follow-up (processing a delivery, following a promotion) to the worker.
 */
import { DomainError } from "../domain/errors.js";
import type { HandledBody, HandledEvent } from "../domain/gitlab-events.js";
import type { PromotionRequest } from "../domain/request.js";
import { code } from "../views/mrkdwn.js";
import { ApproverDirectory } from "./approvers.js";
import type { AppContext } from "./context.js";
import { approve, type DecisionResult, endRequest } from "./decide.js";
import { publishHome } from "./home.js";
import { lockPipeline, unlockPipeline } from "./locks.js";
import { listPipelines, pipelineHistory, pipelineStatus } from "./pipeline-status.js";
import { findPipeline } from "./pipelines.js";
import { type RequestSource, requestPromotion } from "./request-promotion.js";
import { requestRollback } from "./request-rollback.js";
import { type Resolution, resolveUnknown } from "./resolve-unknown.js";
import { concernedPipelines } from "./staging-ready.js";
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

  /** Whether a GitLab event needs processing: a finished pipeline of a configured project and branch. */
  needsProcessing(_event: HandledEvent, body: HandledBody): boolean {
    if (body.object_kind === "build") {
      // The end of a production job the bot may have played (strategy gitlab-job).
      return (
        ["success", "failed", "canceled"].includes(body.build_status) &&
        this.ctx.pipelines.some((p) => p.strategy === "gitlab-job" && p.productionJob === body.build_name)
      );
    }
    if (body.object_kind !== "pipeline") return false; // deployment events are only recorded
    const status = body.object_attributes.status;
    return (status === "success" || status === "failed") && concernedPipelines(this.ctx.pipelines, body).length > 0;
  }

  /** A GitLab delivery was recorded: process it in the background. */
  deliveryRecorded(id: string): void {
    this.worker.dispatchDelivery(id);
  }

  async requestPromotion(source: RequestSource, requester: string, override?: string): Promise<PromotionRequest> {
    const request = await requestPromotion(this.ctx, this.approvers, {
      source,
      requester,
      ...(override !== undefined ? { override } : {}),
    });
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
  async cancelPending(pipeline: string, actor: string): Promise<PromotionRequest> {
    const p = findPipeline(this.ctx.pipelines, pipeline);
    const active = await this.ctx.store.activeRequest(p.name);
    if (!active) throw new DomainError("REQUEST_NOT_FOUND", `*${p.name}* has no pending request to cancel.`);
    if (active.state !== "pending") {
      throw new DomainError(
        "ALREADY_DECIDED",
        `The request for *${p.name}* is already being promoted and cannot be cancelled; see ${code(`/promote status ${p.name}`)}.`,
      );
    }
    await endRequest(this.ctx, this.approvers, { requestId: active.id, actor, action: "cancel" });
    return active;
  }

  async requestRollback(
    pipeline: string,
    requester: string,
    options: { override?: string; afterRequestId?: string } = {},
  ): Promise<PromotionRequest> {
    const request = await requestRollback(this.ctx, this.approvers, { pipeline, requester, ...options });
    if (request.state === "promoting") this.worker.followPromotion(request.id);
    return request;
  }

  /** The Rollback button of a promotion's success message: roll back what that promotion released. */
  async rollbackPromotion(requestId: string, requester: string): Promise<PromotionRequest> {
    const promoted = await this.ctx.store.getRequest(requestId);
    if (promoted?.state !== "succeeded") {
      throw new DomainError(
        "REQUEST_NOT_FOUND",
        "That promotion did not succeed, so there is nothing to roll back from it.",
      );
    }
    return this.requestRollback(promoted.pipeline, requester, { afterRequestId: promoted.id });
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
