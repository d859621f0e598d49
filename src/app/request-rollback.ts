/**
 * Asking to roll the target apps back to the release before the current one, from
 * `/promote rollback <pipeline>` or the Rollback button of a promotion's success message. The same
 * approval check as a promotion applies; what is stored is exactly which release each app goes back to.
 */
import { DomainError } from "../domain/errors.js";
import type { RollbackTarget } from "../domain/request.js";
import { esc } from "../views/mrkdwn.js";
import type { ApproverDirectory } from "./approvers.js";
import { auditNote } from "./audit.js";
import type { AppContext } from "./context.js";
import { checkGate, completeRequest, inProgress, type RequestCreated, requestBasics } from "./new-request.js";
import { findPipeline, herokuSide } from "./pipelines.js";
import { recordTopology } from "./release-view.js";

export async function requestRollback(
  ctx: AppContext,
  approvers: ApproverDirectory,
  args: { pipeline: string; requester: string; override?: string; afterRequestId?: string },
): Promise<RequestCreated> {
  const pipelineConfig = findPipeline(ctx.pipelines, args.pipeline);
  const active = await ctx.store.activeRequest(pipelineConfig.name);
  if (active) throw inProgress(active);

  const {
    gate: g,
    overrideReason,
    overrideGate,
  } = await checkGate(ctx, approvers, pipelineConfig, args.requester, args.override, "rollback");

  const promoted = args.afterRequestId ? await ctx.store.getRequest(args.afterRequestId) : undefined;
  const side = await herokuSide(ctx, pipelineConfig);
  // Read fresh for the request; read-only views take it from here too.
  await recordTopology(ctx, pipelineConfig, side);
  const targets: RollbackTarget[] = [];
  for (const app of side.targets) {
    const releases = await ctx.heroku.recentReleases(app.id, 20);
    const current = releases.find((r) => r.current);
    if (!current) throw new DomainError("RELEASE_UNAVAILABLE", `${esc(app.name)} has no current release to roll back.`);
    if (promoted) {
      const done = promoted.outcome?.targets.find((t) => t.app.id === app.id);
      if (!done || done.releaseId !== current.id) {
        throw new DomainError(
          "RELEASE_UNAVAILABLE",
          `${esc(app.name)} no longer runs what that promotion released (it runs v${current.version} now). Use \`/promote rollback ${esc(pipelineConfig.name)}\` to roll back what runs now.`,
        );
      }
    }
    const previous = releases.find(
      (r) => r.version < current.version && (r.status === "succeeded" || r.status === "expired"),
    );
    if (!previous) {
      throw new DomainError(
        "RELEASE_UNAVAILABLE",
        `${esc(app.name)} has no earlier release to roll back to. Promote a fix forward with \`/promote ${esc(pipelineConfig.name)}\`.`,
      );
    }
    if (previous.status === "expired" || !previous.eligibleForRollback) {
      // Refused here, before anyone approves: Heroku would refuse the rollback's POST.
      const why =
        previous.status === "expired"
          ? `${esc(app.name)} v${previous.version} has expired (Heroku deleted its build), so it cannot be rolled back to.`
          : `Heroku says ${esc(app.name)} v${previous.version} is not eligible for rollback, so it cannot be rolled back to.`;
      const older = releases.find(
        (r) => r.version < previous.version && r.status === "succeeded" && r.eligibleForRollback,
      );
      const byHand = older
        ? `roll back by hand to an older release Heroku still allows (\`heroku releases:rollback v${older.version} -a ${esc(app.name)}\`)`
        : "roll back by hand to an older release (`heroku releases:rollback vN`), if Heroku still has one";
      throw new DomainError(
        "RELEASE_UNAVAILABLE",
        `${why} Nothing was requested. Promote a fix forward with \`/promote ${esc(pipelineConfig.name)}\`, or ${byHand}.`,
      );
    }
    targets.push({
      app,
      releaseId: previous.id,
      version: previous.version,
      slugId: previous.slugId,
      fromVersion: current.version,
    });
  }
  const first = targets[0] as RollbackTarget;
  const commit = first.slugId ? await ctx.heroku.slugCommit(first.app.id, first.slugId) : null;
  const basics = requestBasics(ctx, pipelineConfig, args.requester);
  const created = await ctx.store.createRequest(
    {
      ...basics,
      kind: "rollback",
      rollbackTo: targets,
      herokuPipelineId: side.pipelineId,
      sourceApp: first.app,
      sourceReleaseId: first.releaseId,
      sourceReleaseVersion: first.version,
      slugId: first.slugId,
      commitSha: commit,
      commitTitle: null,
      commitsBehind: null,
      targetApps: side.targets,
      candidateId: null,
      overrideReason,
      overrideGate,
    },
    auditNote(ctx, basics, "requested", args.requester, {
      rollback: targets.map((t) => ({ app: t.app.name, from: t.fromVersion, to: t.version })),
    }),
  );
  if (!created.created) throw inProgress(created.existing);
  return completeRequest(ctx, approvers, {
    pipelineConfig,
    request: created.request,
    announced: undefined,
    g,
    overrideReason,
    what: `a rollback to v${first.version}`,
  });
}

/** The Rollback button of a promotion's success message: roll back what that promotion released. */
export async function rollbackPromotion(
  ctx: AppContext,
  approvers: ApproverDirectory,
  args: { requestId: string; requester: string },
): Promise<RequestCreated> {
  const promoted = await ctx.store.getRequest(args.requestId);
  if (promoted?.state !== "succeeded") {
    throw new DomainError(
      "REQUEST_NOT_FOUND",
      "That promotion did not succeed, so there is nothing to roll back from it.",
    );
  }
  return requestRollback(ctx, approvers, {
    pipeline: promoted.pipeline,
    requester: args.requester,
    afterRequestId: promoted.id,
  });
}
