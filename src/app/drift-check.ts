/**
 * The drift check (issue 16): reads what a promotion does not copy from the source and each target
 * (config var names, buildpacks, stack, add-ons, generation) and compares them. It never fails a
 * request: what cannot be read is reported as skipped, with why.
 */
import type { PipelineConfig } from "../config.js";
import {
  compareApps,
  type DriftOverride,
  type DriftReport,
  driftBlocks,
  findingKey,
  skippedParts,
} from "../domain/drift.js";
import { DomainError } from "../domain/errors.js";
import type { AppRef, PromotionRequest } from "../domain/request.js";
import { driftRefusal } from "../views/drift-text.js";
import { errorText } from "../views/error-text.js";
import { auditRequest } from "./audit.js";
import type { AppContext } from "./context.js";
import { eventsFlowing } from "./release-view.js";

export type DriftContext = Pick<AppContext, "heroku" | "clock" | "log">;

export async function checkDrift(
  ctx: DriftContext,
  pipelineConfig: PipelineConfig,
  apps: { source: AppRef; targets: AppRef[] },
  override: DriftOverride | null = null,
): Promise<DriftReport> {
  const checkedAt = ctx.clock.now().toISOString();
  try {
    const [source, ...targets] = await Promise.all(
      [apps.source, ...apps.targets].map((app) => ctx.heroku.appSettings(app.id)),
    );
    if (!source) throw new Error("no source app");
    return {
      checkedAt,
      findings: targets.flatMap((target) => compareApps(source, target, pipelineConfig.driftIgnore)),
      skipped: skippedParts(source, targets),
      override,
    };
  } catch (error) {
    const why = error instanceof DomainError ? errorText(error) : "an unexpected error (see the bot's logs)";
    ctx.log.warn({ err: error, pipeline: pipelineConfig.name }, "the drift check could not read Heroku; skipped");
    return { checkedAt, findings: [], skipped: [`Heroku could not be read: ${why}`], override };
  }
}

/** An approver's override of the drift found now, for a request asked with `--override "reason"`. */
export function driftOverride(report: DriftReport, by: string, reason: string, at: Date): DriftOverride | null {
  if (report.findings.length === 0) return null;
  return { by, reason: reason.trim().slice(0, 500), at: at.toISOString(), findings: report.findings.map(findingKey) };
}

/**
 * The drift check made with a new request. An approver who asked with `--override "reason"` lets it
 * through the drift found now (audited after the request is stored: `auditDriftOverride`).
 */
export async function requestDrift(
  ctx: DriftContext,
  pipelineConfig: PipelineConfig,
  apps: { source: AppRef; targets: AppRef[] },
  requester: string,
  override: string | undefined,
): Promise<DriftReport> {
  const report = await checkDrift(ctx, pipelineConfig, apps);
  if (override === undefined || !override.trim()) return report;
  return { ...report, override: driftOverride(report, requester, override, ctx.clock.now()) };
}

/** Audits an approver's override of a new request's drift (the message shows it too). */
export async function auditDriftOverride(
  ctx: Pick<AppContext, "clock" | "log" | "store">,
  request: PromotionRequest,
): Promise<void> {
  const override = request.drift?.override;
  if (!override) return;
  await auditRequest(ctx, request, "drift_override", override.by, {
    reason: override.reason,
    findings: override.findings,
  }).catch((error: unknown) =>
    ctx.log.error({ err: error, requestId: request.id }, "could not audit a drift override"),
  );
}

/**
 * The drift check just before a promotion acts (its first attempt only): the report is kept on the
 * request; with `drift: block`, drift no override covers stops it before anything changes.
 */
export async function checkDriftBeforeActing(
  ctx: Pick<AppContext, "heroku" | "clock" | "log" | "store" | "pipelines">,
  request: PromotionRequest,
): Promise<void> {
  const pipelineConfig = ctx.pipelines.find((x) => x.name === request.pipeline);
  if (!pipelineConfig || request.kind === "rollback") return;
  const report = await recheckDrift(ctx, pipelineConfig, request);
  if (driftBlocks(pipelineConfig.drift, report)) {
    throw new DomainError("DRIFT_BLOCKED", driftRefusal(report, pipelineConfig.name, "promote"), { retryable: false });
  }
}

/**
 * The drift for `/promote status`: checked now, unless the last check still holds: Heroku's events
 * flow for every app of the pipeline and no release event came since (see AppContext.driftCache), so
 * that a status asked while events flow costs no Heroku call.
 */
export async function statusDrift(
  ctx: Pick<AppContext, "heroku" | "clock" | "log" | "store" | "tuning" | "driftCache">,
  pipelineConfig: PipelineConfig,
  apps: { source: AppRef; targets: AppRef[] },
): Promise<DriftReport> {
  const ids = [apps.source, ...apps.targets].map((a) => a.id);
  const marks = await ctx.store.eventMarks(ids);
  const flowing = ids.every((id) => eventsFlowing(ctx, marks.get(id)?.lastEventAt ?? null));
  const releaseEvents = ids.reduce((sum, id) => sum + (marks.get(id)?.releaseEvents ?? 0), 0);
  const cached = ctx.driftCache.get(pipelineConfig.name);
  if (flowing && cached && cached.releaseEvents === releaseEvents) return cached.report;
  const report = await checkDrift(ctx, pipelineConfig, apps);
  // A check that could not read Heroku is not kept: the next status tries again.
  if (report.skipped.every((s) => !s.startsWith("Heroku could not be read"))) {
    ctx.driftCache.set(pipelineConfig.name, { report, releaseEvents });
  }
  return report;
}

/** Checks a request's drift again (its override carried over) and keeps the report on the request. */
export async function recheckDrift(
  ctx: Pick<AppContext, "heroku" | "clock" | "log" | "store">,
  pipelineConfig: PipelineConfig,
  request: PromotionRequest,
): Promise<DriftReport> {
  const report = await checkDrift(
    ctx,
    pipelineConfig,
    { source: request.sourceApp, targets: request.targetApps },
    request.drift?.override ?? null,
  );
  await ctx.store
    .updateRequest(request.id, { drift: report })
    .catch((error: unknown) => ctx.log.warn({ err: error, requestId: request.id }, "could not keep the drift check"));
  return report;
}
