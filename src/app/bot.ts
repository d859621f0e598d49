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
import type { RequestCreated } from "./new-request.js";
import { listPipelines, pipelineHistory, pipelineStatus } from "./pipeline-status.js";
import { findPipeline } from "./pipelines.js";
import { type RequestSource, requestPromotion } from "./request-promotion.js";
import { requestRollback } from "./request-rollback.js";
import { type Resolution, resolveUnknown } from "./resolve-unknown.js";
import { concernedPipelines, notBranchResult } from "./staging-ready.js";
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
    return this.ctx.pipelines.map((pipelineConfig) => pipelineConfig.name);
  }

  pipeline(name: string) {
    return this.ctx.pipelines.find((pipelineConfig) => pipelineConfig.name === name);
  }

  /**
   * Why a validated GitLab event needs no work (it is recorded as done at once), or undefined when it
   * needs processing: the end of a production job, or a finished CI result of a configured project and branch.
   */
  skipReason(_event: HandledEvent, body: HandledBody): string | undefined {
    if (body.object_kind === "build") {
      // The end of a production job the bot may have played (strategy gitlab-job).
      if (!["success", "failed", "canceled"].includes(body.build_status)) return `job status ${body.build_status}`;
      return this.ctx.pipelines.some(
        (pipelineConfig) =>
          pipelineConfig.strategy === "gitlab-job" && pipelineConfig.productionJob === body.build_name,
      )
        ? undefined
        : `job ${body.build_name} is no configured production job`;
    }
    if (body.object_kind !== "pipeline") return "deployment events are only recorded";
    const status = body.object_attributes.status;
    if (status !== "success" && status !== "failed") return `pipeline status ${status}`;
    const notResult = notBranchResult(body);
    if (notResult) return notResult;
    return concernedPipelines(this.ctx.pipelines, body).length > 0 ? undefined : "no configured project and branch";
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
  async cancelPending(pipeline: string, actor: string): Promise<PromotionRequest> {
    const pipelineConfig = findPipeline(this.ctx.pipelines, pipeline);
    const active = await this.ctx.store.activeRequest(pipelineConfig.name);
    if (!active)
      throw new DomainError("REQUEST_NOT_FOUND", `*${pipelineConfig.name}* has no pending request to cancel.`);
    if (active.state !== "pending") {
      throw new DomainError(
        "ALREADY_DECIDED",
        `The request for *${pipelineConfig.name}* is already being promoted and cannot be cancelled; see ${code(`/promote status ${pipelineConfig.name}`)}.`,
      );
    }
    await endRequest(this.ctx, this.approvers, { requestId: active.id, actor, action: "cancel" });
    return active;
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
