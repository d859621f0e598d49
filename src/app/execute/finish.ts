/** Ending a request that was acted on: its final state, the audit row, and the Slack message. */
import type { Release } from "../../domain/ports.js";
import {
  type AppRef,
  outcomeState,
  type PromotionOutcome,
  type PromotionRequest,
  type RequestState,
  type TargetResult,
} from "../../domain/request.js";
import { outcomeReply } from "../../views/thread-replies.js";
import { auditNote } from "../audit.js";
import type { AppContext } from "../context.js";
import { refreshRequestMessage } from "../decide.js";

/** Lines of release-phase output shown for a failed release. */
export const OUTPUT_LINES = 15;

export function missingTarget(app: AppRef, errorMessage: string): TargetResult {
  return { app, status: "failed", releaseId: null, releaseVersion: null, errorMessage, outputTail: null };
}

/** A target as one of its releases ended, with the release phase's last lines when it failed. */
export async function releaseResult(ctx: AppContext, app: AppRef, release: Release): Promise<TargetResult> {
  const succeeded = release.status === "succeeded";
  return {
    app,
    status: succeeded ? "succeeded" : "failed",
    releaseId: release.id,
    releaseVersion: release.version,
    errorMessage: succeeded ? null : `release ${release.status}`,
    outputTail:
      !succeeded && release.outputStreamUrl
        ? await ctx.heroku.releaseOutputTail(release.outputStreamUrl, OUTPUT_LINES)
        : null,
  };
}

/** Moves a promoting request to its final state (once: a compare-and-set) and reports it in Slack. */
export async function finish(
  ctx: AppContext,
  request: PromotionRequest,
  outcome: PromotionOutcome,
  from: RequestState[] = ["promoting"],
): Promise<void> {
  const state = outcomeState(outcome);
  const done = await ctx.store.transitionRequest(
    request.id,
    from,
    state,
    // On the database's clock, like promotionStartedAt: "finished after N s" is measured on one clock.
    { outcome, finishedAt: await ctx.store.databaseNow().catch(() => ctx.clock.now()) },
    auditNote(ctx, request, state, null, {
      targets: outcome.targets.map((t) => ({
        app: t.app.name,
        status: t.status,
        version: t.releaseVersion,
        error: t.errorMessage,
      })),
      ...(outcome.error ? { error: outcome.error } : {}),
    }),
  );
  if (!done) return;
  await report(ctx, done, outcome, state);
}

/**
 * The outcome could not be established: the request moves to `unknown` with the evidence, and its
 * message offers approvers to record what happened or to try again. Never failed.
 */
export async function settleUnknown(
  ctx: AppContext,
  request: PromotionRequest,
  unknown: { why: string; link: string | null },
): Promise<void> {
  const outcome: PromotionOutcome = { targets: [], error: null, unknown };
  const done = await ctx.store.transitionRequest(
    request.id,
    ["promoting"],
    "unknown",
    { outcome },
    auditNote(ctx, request, "outcome_unknown", null, { why: unknown.why, link: unknown.link }),
  );
  if (!done) return;
  await report(ctx, done, outcome, "unknown");
}

async function report(
  ctx: AppContext,
  done: PromotionRequest,
  outcome: PromotionOutcome,
  state: RequestState,
): Promise<void> {
  ctx.log.info(
    {
      requestId: done.id,
      pipeline: done.pipeline,
      state,
      targets: outcome.targets.map((t) => `${t.app.name}:${t.status}`),
    },
    "promotion finished",
  );
  try {
    await refreshRequestMessage(ctx, done);
    if (done.messageTs) await ctx.chat.post(done.channel, outcomeReply(done), done.messageTs);
  } catch (error) {
    ctx.log.error({ err: error, requestId: done.id }, "could not report the promotion's outcome in Slack");
  }
}
