/**
 * A pipeline event from GitLab: when CI passed on the configured branch and staging runs that commit,
 * announce it with a Promote button (superseding older announcements); when CI failed, say so.
 */
import type { PipelineConfig } from "../config.js";
import { DomainError } from "../domain/errors.js";
import { gate } from "../domain/gate.js";
import { isChildPipeline, type PipelineEvent } from "../domain/gitlab-events.js";
import type { ChatMessage, Release } from "../domain/ports.js";
import type { Candidate } from "../domain/records.js";
import { describeGate } from "../views/gate-text.js";
import type { BehindView, TargetView } from "../views/models.js";
import {
  alreadyInProductionMessage,
  ciFailedMessage,
  stagingClosedMessage,
  stagingNotDeployedMessage,
  stagingReadyMessage,
  supersededMessage,
} from "../views/staging-messages.js";
import type { AppContext } from "./context.js";
import { type HerokuSide, matchesProject, pipelineView } from "./pipelines.js";
import { type AppState, appStates, viewSide } from "./release-view.js";

export type PipelineEventOutcome =
  | "ignored"
  | "ready"
  | "duplicate-candidate"
  | "not-deployed"
  | "already-in-production"
  | "closed"
  | "no-manual-job"
  | "ci-failed";

/** Why a pipeline event is not the CI result of a branch (a tag, merge request or child pipeline), if so. */
export function notBranchResult(event: PipelineEvent): string | undefined {
  const attributes = event.object_attributes;
  if (attributes.tag) return `pipeline #${attributes.id} is a tag pipeline (${attributes.ref})`;
  if (
    attributes.source === "merge_request_event" ||
    attributes.source === "external_pull_request_event" ||
    event.merge_request
  )
    return `pipeline #${attributes.id} is a merge request pipeline`;
  if (isChildPipeline(event)) {
    const parent = event.source_pipeline?.pipeline_id;
    return `pipeline #${attributes.id} is a child pipeline of pipeline #${parent ?? "?"}; the parent carries the branch's CI result`;
  }
  return undefined;
}

/** Which configured pipelines an event concerns: the project and branch match, and it is the branch's CI result. */
export function concernedPipelines(pipelines: PipelineConfig[], event: PipelineEvent): PipelineConfig[] {
  const attributes = event.object_attributes;
  if (notBranchResult(event) !== undefined) return [];
  return pipelines.filter((pipelineConfig) => {
    if (!matchesProject(pipelineConfig, event.project)) return false;
    const branch = pipelineConfig.branch ?? event.project.default_branch ?? undefined;
    return branch !== undefined && branch === attributes.ref;
  });
}

export async function onPipelineEvent(ctx: AppContext, event: PipelineEvent): Promise<PipelineEventOutcome[]> {
  const pipelines = concernedPipelines(ctx.pipelines, event);
  const outcomes: PipelineEventOutcome[] = [];
  for (const pipelineConfig of pipelines) {
    const status = event.object_attributes.status;
    if (status === "success" && pipelineConfig.strategy === "gitlab-job")
      outcomes.push(await announceJob(ctx, pipelineConfig, event));
    else if (status === "success") outcomes.push(await announceStaging(ctx, pipelineConfig, event));
    else if (status === "failed") {
      await announceFailure(ctx, pipelineConfig, event);
      outcomes.push("ci-failed");
    } else outcomes.push("ignored");
  }
  return outcomes.length > 0 ? outcomes : ["ignored"];
}

async function announceFailure(ctx: AppContext, pipelineConfig: PipelineConfig, event: PipelineEvent): Promise<void> {
  const attributes = event.object_attributes;
  await ctx.chat.post(
    pipelineConfig.channel,
    ciFailedMessage({
      pipeline: pipelineView(pipelineConfig),
      sha: attributes.sha,
      title: event.commit?.title ?? null,
      author: event.commit?.author?.name ?? null,
      ciUrl: ciUrl(event),
      branch: attributes.ref,
    }),
  );
}

/**
 * What the pipeline's apps run, staging first. The event-fed view is used only when it shows staging
 * on the commit CI just tested; otherwise Heroku is read (the deploy may be newer than the view).
 */
async function pipelineStates(
  ctx: AppContext,
  side: HerokuSide,
  sha: string,
): Promise<{ staging: { release: Release; commit: string | null }; targets: AppState[] }> {
  const [source, ...targets] = await appStates(
    ctx,
    side,
    (state) => state.app.id !== side.source.id || state.commit === sha,
  );
  if (!source?.release) throw new DomainError("STAGING_NOT_READY", "the staging app has no release yet");
  return { staging: { release: source.release, commit: source.commit }, targets };
}

async function announceStaging(
  ctx: AppContext,
  pipelineConfig: PipelineConfig,
  event: PipelineEvent,
): Promise<PipelineEventOutcome> {
  const attributes = event.object_attributes;
  const log = ctx.log.child({
    pipeline: pipelineConfig.name,
    ciPipeline: attributes.id,
    sha: attributes.sha.slice(0, 8),
  });
  const side = await viewSide(ctx, pipelineConfig);

  // The deploy job may still be releasing on Heroku when CI reports success: wait for staging.
  const started = ctx.clock.now().getTime();
  let delay = ctx.tuning.stagingFirstDelayMs;
  let states = await pipelineStates(ctx, side, attributes.sha);
  while (states.staging.commit !== attributes.sha) {
    const waited = ctx.clock.now().getTime() - started;
    if (waited + delay > ctx.tuning.stagingWaitMs) break;
    log.info({ stagingCommit: states.staging.commit, delay }, "staging does not run the commit yet; waiting");
    await ctx.sleep(delay);
    delay = Math.min(delay * 2, 30_000);
    states = await pipelineStates(ctx, side, attributes.sha);
  }
  const staging = states.staging;
  const view = pipelineView(pipelineConfig);
  const title = event.commit?.title ?? null;
  if (staging.commit !== attributes.sha) {
    await ctx.chat.post(
      pipelineConfig.channel,
      stagingNotDeployedMessage({
        pipeline: view,
        sha: attributes.sha,
        title,
        ciUrl: attributes.url ?? "",
        stagingApp: side.source.name,
        stagingVersion: staging.release.version,
        stagingCommit: staging.commit,
        waitedMs: ctx.clock.now().getTime() - started,
      }),
    );
    return "not-deployed";
  }
  const release = staging.release;

  // One living message per staging candidate: a re-run pipeline for the same release posts nothing new.
  // A candidate without a message is one whose posting was interrupted (a crash): post it now.
  const live = await ctx.store.liveCandidates(pipelineConfig.name);
  const announced = live.find((c) => c.releaseId === release.id);
  if (announced?.messageTs) {
    log.info({ release: release.version }, "this release is already announced");
    return "duplicate-candidate";
  }

  const targets: TargetView[] = [];
  const targetSlugs: Array<string | null> = [];
  for (const { app, release: current, commit } of states.targets) {
    targets.push({ app, releaseVersion: current?.version ?? null, commit });
    targetSlugs.push(current?.slugId ?? null);
  }
  if (release.slugId && targetSlugs.every((s) => s === release.slugId)) {
    await ctx.chat.post(
      pipelineConfig.channel,
      alreadyInProductionMessage({
        pipeline: view,
        sha: attributes.sha,
        title,
        releaseVersion: release.version,
        sourceApp: side.source.name,
      }),
    );
    return "already-in-production";
  }

  // Locked or frozen: say so instead of offering a live button.
  if (await announcedClosed(ctx, pipelineConfig, event, side.source.name, release.version)) return "closed";

  const behind = await commitsBehind(ctx, pipelineConfig, targets[0]?.commit ?? null, attributes.sha);
  const candidate =
    announced ??
    newCandidate(ctx, pipelineConfig, event, side, {
      releaseId: release.id,
      releaseVersion: release.version,
      slugId: release.slugId,
      gitlabJob: null,
    });
  // Stored before posting, so a crash in between re-posts this candidate instead of a second one; the
  // insert is also the claim when two deliveries for the same release are processed at once.
  if (!announced && !(await ctx.store.insertCandidate(candidate))) {
    log.info({ release: release.version }, "this release is being announced by another delivery");
    return "duplicate-candidate";
  }
  await postCandidate(
    ctx,
    pipelineConfig,
    candidate,
    stagingReadyMessage({ pipeline: view, candidate, targets, behind }),
    {
      release: release.version,
      releaseId: release.id,
      commit: attributes.sha,
      ciPipeline: attributes.id,
    },
  );
  return "ready";
}

/** When the pipeline is locked or in a freeze window, posts why there is no Promote button; true then. */
async function announcedClosed(
  ctx: AppContext,
  pipelineConfig: PipelineConfig,
  event: PipelineEvent,
  sourceApp: string,
  releaseVersion: number,
): Promise<boolean> {
  const gateNow = gate(await ctx.store.getLock(pipelineConfig.name), pipelineConfig.freeze, ctx.clock.now());
  if (gateNow.kind === "open") return false;
  await ctx.chat.post(
    pipelineConfig.channel,
    stagingClosedMessage({
      pipeline: pipelineView(pipelineConfig),
      sha: event.object_attributes.sha,
      title: event.commit?.title ?? null,
      releaseVersion,
      sourceApp,
      why: describeGate(gateNow, pipelineConfig.name),
    }),
  );
  return true;
}

function ciUrl(event: PipelineEvent): string {
  const attributes = event.object_attributes;
  return attributes.url ?? `${event.project.web_url ?? ""}/-/pipelines/${attributes.id}`;
}

/** A new live candidate for what a pipeline event announces (not stored yet). */
function newCandidate(
  ctx: AppContext,
  pipelineConfig: PipelineConfig,
  event: PipelineEvent,
  side: { pipelineId: string; source: { id: string; name: string } },
  build: Pick<Candidate, "releaseId" | "releaseVersion" | "slugId" | "gitlabJob">,
): Candidate {
  return {
    id: ctx.newId(),
    pipeline: pipelineConfig.name,
    herokuPipelineId: side.pipelineId,
    sourceAppId: side.source.id,
    sourceAppName: side.source.name,
    ...build,
    commitSha: event.object_attributes.sha,
    commitTitle: event.commit?.title ?? null,
    commitAuthor: event.commit?.author?.name ?? null,
    ciPipelineId: event.object_attributes.id,
    ciPipelineUrl: ciUrl(event),
    channel: pipelineConfig.channel,
    messageTs: "",
    state: "live",
    supersededBy: null,
    createdAt: ctx.clock.now(),
  };
}

/** Posts a stored candidate's staging-ready message, records its ts, audits it, and supersedes older ones. */
async function postCandidate(
  ctx: AppContext,
  pipelineConfig: PipelineConfig,
  candidate: Candidate,
  message: ChatMessage,
  detail: Record<string, unknown>,
): Promise<void> {
  const posted = await ctx.chat.post(pipelineConfig.channel, message);
  candidate.messageTs = posted.ts;
  await ctx.store.setCandidateMessage(candidate.id, posted.ts);
  await ctx.store.audit({
    requestId: null,
    pipeline: pipelineConfig.name,
    event: "staging_ready",
    actor: null,
    at: ctx.clock.now(),
    detail,
  });
  await supersedeOlder(ctx, pipelineConfig, candidate);
}

/**
 * Strategy gitlab-job: a successful pipeline whose production job waits in `manual` means staging was
 * deployed from that commit (container releases carry no slug commit, so the commit is GitLab's).
 */
async function announceJob(
  ctx: AppContext,
  pipelineConfig: PipelineConfig,
  event: PipelineEvent,
): Promise<PipelineEventOutcome> {
  const attributes = event.object_attributes;
  const job = (event.builds ?? []).find((b) => b.name === pipelineConfig.productionJob && b.status === "manual");
  if (!job) {
    ctx.log.info(
      { pipeline: pipelineConfig.name, ciPipeline: attributes.id, job: pipelineConfig.productionJob },
      "no manual production job in this pipeline",
    );
    return "no-manual-job";
  }
  const releaseId = `job:${job.id}`;
  const live = await ctx.store.liveCandidates(pipelineConfig.name);
  const announced = live.find((c) => c.releaseId === releaseId);
  if (announced?.messageTs) return "duplicate-candidate";
  const side = await viewSide(ctx, pipelineConfig);
  const [source, ...states] = await appStates(ctx, side);
  const staging = source?.release;
  const targets: TargetView[] = states.map(({ app, release }) => ({
    app,
    releaseVersion: release?.version ?? null,
    commit: null,
  }));
  const view = pipelineView(pipelineConfig);
  // Locked or frozen: say so instead of offering a live button.
  if (await announcedClosed(ctx, pipelineConfig, event, side.source.name, staging?.version ?? 0)) return "closed";
  const candidate =
    announced ??
    newCandidate(ctx, pipelineConfig, event, side, {
      releaseId,
      releaseVersion: staging?.version ?? 0,
      slugId: null,
      gitlabJob: { id: job.id, name: job.name, pipelineId: attributes.id },
    });
  if (!announced && !(await ctx.store.insertCandidate(candidate))) return "duplicate-candidate";
  await postCandidate(
    ctx,
    pipelineConfig,
    candidate,
    stagingReadyMessage({ pipeline: view, candidate, targets, behind: null }),
    {
      commit: attributes.sha,
      ciPipeline: attributes.id,
      job: job.id,
    },
  );
  return "ready";
}

/** Removes the button from every older live announcement of the pipeline. */
async function supersedeOlder(ctx: AppContext, pipelineConfig: PipelineConfig, newest: Candidate): Promise<void> {
  const live = await ctx.store.liveCandidates(pipelineConfig.name);
  for (const old of live) {
    if (old.id === newest.id || !old.messageTs) continue;
    // A candidate announced later for a newer release wins even if its event was processed first
    // (for gitlab-job candidates, the newer pipeline).
    const newer =
      old.gitlabJob && newest.gitlabJob
        ? old.ciPipelineId > newest.ciPipelineId
        : old.releaseVersion > newest.releaseVersion;
    if (newer) {
      const mine = await ctx.store.transitionCandidate(newest.id, ["live"], "superseded", {
        supersededBy: old.releaseVersion,
      });
      if (mine) {
        await ctx.chat.update(
          newest.channel,
          newest.messageTs,
          supersededMessage({
            pipeline: pipelineView(pipelineConfig),
            candidate: newest,
            newVersion: old.releaseVersion,
          }),
        );
      }
      continue;
    }
    const superseded = await ctx.store.transitionCandidate(old.id, ["live"], "superseded", {
      supersededBy: newest.releaseVersion,
    });
    if (!superseded) continue;
    try {
      await ctx.chat.update(
        old.channel,
        old.messageTs,
        supersededMessage({
          pipeline: pipelineView(pipelineConfig),
          candidate: old,
          newVersion: newest.releaseVersion,
        }),
      );
    } catch (error) {
      ctx.log.warn({ err: error, candidate: old.id }, "could not mark an older staging message superseded");
    }
  }
}

export async function commitsBehind(
  ctx: AppContext,
  pipelineConfig: PipelineConfig,
  productionCommit: string | null,
  stagingCommit: string,
): Promise<BehindView | null> {
  if (!productionCommit) return null;
  if (productionCommit === stagingCommit) return { count: 0, commits: [], compareUrl: "" };
  try {
    const result = await ctx.gitlab.compare(pipelineConfig.gitlabProject, productionCommit, stagingCommit);
    return { count: result.commits.length, commits: result.commits, compareUrl: result.webUrl };
  } catch (error) {
    // The comparison is a nicety: the announcement goes out without it.
    ctx.log.warn({ err: error, pipeline: pipelineConfig.name }, "could not compare production and staging commits");
    return null;
  }
}
