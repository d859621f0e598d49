/** `/promote lock <pipeline> <reason>` and `/promote unlock <pipeline>`: approvers only, announced and audited. */
import { DomainError } from "../domain/errors.js";
import type { Lock } from "../domain/gate.js";
import type { AuditStore, LockStore } from "../domain/ports.js";
import { esc, user } from "../views/mrkdwn.js";
import { notice } from "../views/replies.js";
import type { ApproverDirectory } from "./approvers.js";
import type { AppContext } from "./context.js";
import { findPipeline } from "./pipelines.js";

/** What locking needs: the pipelines, the locks and the audit, the clock, and the channel to announce in. */
type LockContext = Pick<AppContext, "pipelines" | "clock" | "chat"> & { store: LockStore & AuditStore };

export async function lockPipeline(
  ctx: LockContext,
  approvers: ApproverDirectory,
  args: { pipeline: string; actor: string; reason: string },
): Promise<Lock> {
  const pipelineConfig = findPipeline(ctx.pipelines, args.pipeline);
  if (!(await approvers.isApprover(pipelineConfig, args.actor))) {
    throw new DomainError("NOT_APPROVER", `Only the approvers of *${esc(pipelineConfig.name)}* can lock it.`);
  }
  const reason = args.reason.trim().slice(0, 500);
  if (!reason)
    throw new DomainError("BAD_INPUT", `Say why: \`/promote lock ${esc(pipelineConfig.name)} &lt;reason&gt;\`.`);
  const result = await ctx.store.lock({
    pipeline: pipelineConfig.name,
    reason,
    lockedBy: args.actor,
    lockedAt: ctx.clock.now(),
  });
  if (!result.created) {
    throw new DomainError(
      "LOCKED",
      `*${esc(pipelineConfig.name)}* is already locked by ${user(result.lock.lockedBy)}: ${esc(result.lock.reason)}`,
    );
  }
  await ctx.store.audit({
    requestId: null,
    pipeline: pipelineConfig.name,
    event: "locked",
    actor: args.actor,
    at: ctx.clock.now(),
    detail: { reason },
  });
  await ctx.chat.post(
    pipelineConfig.channel,
    notice(
      `:lock: ${user(args.actor)} locked *${esc(pipelineConfig.name)}*: ${esc(reason)}. No promotion until \`/promote unlock ${esc(pipelineConfig.name)}\`.`,
    ),
  );
  return result.lock;
}

export async function unlockPipeline(
  ctx: LockContext,
  approvers: ApproverDirectory,
  args: { pipeline: string; actor: string },
): Promise<Lock> {
  const pipelineConfig = findPipeline(ctx.pipelines, args.pipeline);
  if (!(await approvers.isApprover(pipelineConfig, args.actor))) {
    throw new DomainError("NOT_APPROVER", `Only the approvers of *${esc(pipelineConfig.name)}* can unlock it.`);
  }
  const removed = await ctx.store.unlock(pipelineConfig.name);
  if (!removed) throw new DomainError("BAD_INPUT", `*${esc(pipelineConfig.name)}* is not locked.`);
  await ctx.store.audit({
    requestId: null,
    pipeline: pipelineConfig.name,
    event: "unlocked",
    actor: args.actor,
    at: ctx.clock.now(),
    detail: { reason: removed.reason, lockedBy: removed.lockedBy },
  });
  await ctx.chat.post(
    pipelineConfig.channel,
    notice(`:unlock: ${user(args.actor)} unlocked *${esc(pipelineConfig.name)}*.`),
  );
  return removed;
}
