/**
 * Running an approved request: one process at a time, under a lease (./lease.ts), acts on production
 * at most once through the executor (./at-most-once.ts) with the request's kind of action (a Heroku
 * promotion, a rollback, a GitLab job play), then ends it (./finish.ts).
 *
 * What a failure means here: a DomainError is the provider's definite answer (or a follow that gave
 * up) and fails the request; anything else (a lost lease, an outcome that could not be established, a
 * store error, shutting down) leaves it `promoting` for the next process or sweep, which recognises an
 * action that already went through by its trace.
 */
import { DomainError } from "../../domain/errors.js";
import type { PromotionOutcome, PromotionRequest } from "../../domain/request.js";
import { isStopping } from "../../infra/stopping.js";
import { errorText } from "../../views/error-text.js";
import type { AppContext } from "../context.js";
import { OutcomeUnknown, TraceUnknown } from "./at-most-once.js";
import { finish, settleUnknown } from "./finish.js";
import { runJob } from "./gitlab-job.js";
import { runPromotion } from "./heroku-promotion.js";
import { LeaseKeeper, LeaseLost } from "./lease.js";
import { runRollback } from "./rollback.js";

/** Acts on (or goes on following) a request this process holds the lease of, and ends it. */
export async function executePromotion(ctx: AppContext, claimed: PromotionRequest): Promise<void> {
  const log = ctx.log.child({ requestId: claimed.id, pipeline: claimed.pipeline });
  const lease = new LeaseKeeper(ctx, claimed.id);
  try {
    if (ctx.dryRun) {
      await finish(ctx, claimed, { targets: [], error: null, dryRun: whatWouldHappen(claimed) });
      return;
    }
    const outcome = await act(ctx, lease, claimed);
    // The lease was held throughout (every attempt was fenced on it); another process that took it
    // over since would reach the same outcome, and the final transition happens once either way.
    await finish(ctx, claimed, outcome);
  } catch (error) {
    if (isStopping(error)) {
      log.info("shutting down; the request will be followed on by the next process");
      return;
    }
    if (error instanceof LeaseLost) {
      log.warn({ why: error.message }, "stopped acting: the lease is lost; another process carries on");
      return;
    }
    if (error instanceof OutcomeUnknown) {
      log.warn({ why: error.why }, "the outcome could not be established; approvers are asked");
      await settleUnknown(ctx, claimed, { why: error.why, link: error.link });
      return;
    }
    if (error instanceof TraceUnknown || !(error instanceof DomainError)) {
      // The provider could not be read to find out what an attempt did, or the error is not the
      // provider's answer (a store or programming error): the provider may be acting, so the request
      // stays `promoting` and is taken up again, recognising an attempt that went through. Past the
      // follow limit it says the outcome is unknown and approvers decide: none stays promoting for ever.
      if (await pastFollowLimit(ctx, claimed)) {
        log.warn({ err: error }, "the outcome stayed unknown past the follow limit; approvers are asked");
        const why =
          error instanceof TraceUnknown
            ? `The bot could not find out whether its attempt went through: ${errorText(error.reason)}.`
            : "The bot kept failing to follow this request (see its logs), so it does not know how it ended.";
        await settleUnknown(ctx, claimed, { why, link: null }).catch((e: unknown) =>
          log.error({ err: e }, "could not mark the outcome unknown; it will be tried again"),
        );
        return;
      }
      if (error instanceof TraceUnknown)
        log.warn({ err: error }, "the outcome of an attempt is unknown; it will be taken up again");
      else log.error({ err: error }, "acting on the request failed; it will be taken up again");
      return;
    }
    log.error({ err: error, code: error.code }, "the request failed");
    await finish(ctx, claimed, { targets: [], error: errorText(error) });
  } finally {
    await lease.stop(true);
  }
}

/** Whether the request has been acted on for longer than the follow limit (the database's clock). */
async function pastFollowLimit(ctx: AppContext, request: PromotionRequest): Promise<boolean> {
  const since = request.promotionStartedAt?.getTime();
  if (since === undefined) return false;
  const now = await ctx.store.databaseNow().catch(() => undefined);
  return now !== undefined && now.getTime() - since > ctx.tuning.followLimitMs;
}

/** DRY_RUN: the call that approval would have made, in words. */
/** The one action a request's kind takes: every kind through the same lease and finishing. */
function act(ctx: AppContext, lease: LeaseKeeper, request: PromotionRequest): Promise<PromotionOutcome> {
  switch (request.kind) {
    case "rollback":
      return runRollback(ctx, lease, request);
    case "gitlab-job":
      return runJob(ctx, lease, request);
    case "promotion":
      return runPromotion(ctx, lease, request);
  }
}

function whatWouldHappen(request: PromotionRequest): string {
  if (request.kind === "rollback") {
    return request.rollbackTo
      .map((t) => `POST /apps/${t.app.name}/releases {release: v${t.version}} (back from v${t.fromVersion})`)
      .join("; ");
  }
  if (request.kind === "gitlab-job")
    return `POST /projects/:id/jobs/${request.gitlabJob.id}/play (${request.gitlabJob.name})`;
  return `POST /pipeline-promotions promoting ${request.sourceApp.name} v${request.sourceReleaseVersion} (release ${request.sourceReleaseId}) to ${request.targetApps.map((a) => a.name).join(", ")}`;
}
