import type { AuditNote, AuditStore } from "../domain/ports.js";
import type { PromotionRequest } from "../domain/request.js";
import type { AppContext } from "./context.js";

/** The audit row of a change, for the store to write in the change's own transaction. */
export function auditNote(
  ctx: Pick<AppContext, "clock">,
  request: Pick<PromotionRequest, "id" | "pipeline">,
  event: string,
  actor: string | null,
  detail: Record<string, unknown> = {},
): AuditNote {
  return { requestId: request.id, pipeline: request.pipeline, event, actor, at: ctx.clock.now(), detail };
}

/** Writes one audit row for a request transition: who, when and why. */
export async function auditRequest(
  ctx: Pick<AppContext, "clock"> & { store: AuditStore },
  request: Pick<PromotionRequest, "id" | "pipeline">,
  event: string,
  actor: string | null,
  detail: Record<string, unknown> = {},
): Promise<void> {
  await ctx.store.audit({
    requestId: request.id,
    pipeline: request.pipeline,
    event,
    actor,
    at: ctx.clock.now(),
    detail,
  });
}
