/**
 * Asking for a promotion, from `/promote <pipeline>` or a staging-ready message's Promote button.
 * Every check runs before anything is stored; a refusal is a DomainError whose message tells the
 * requester what failed and what to do.
 */
import type { PipelineConfig } from "../config.js";
import { DomainError } from "../domain/errors.js";
import type { Release } from "../domain/ports.js";
import type { Candidate } from "../domain/records.js";
import { shortSha } from "../domain/request.js";
import { code, esc, link } from "../views/mrkdwn.js";
import type { ApproverDirectory } from "./approvers.js";
import { auditNote } from "./audit.js";
import type { AppContext } from "./context.js";
import { auditDriftOverride, requestDrift } from "./drift-check.js";
import { checkGate, completeRequest, inProgress, type RequestCreated, requestBasics } from "./new-request.js";
import { findPipeline, type HerokuSide, herokuSide } from "./pipelines.js";
import { recordTopology } from "./release-view.js";
import { requestJob } from "./request-job.js";
import { commitsBehind } from "./staging-ready.js";

export type RequestSource = { kind: "command"; pipeline: string } | { kind: "button"; candidateId: string };

async function resolveSource(
  ctx: AppContext,
  source: RequestSource,
): Promise<{ pipeline: PipelineConfig; candidate: Candidate | undefined }> {
  if (source.kind === "command")
    return { pipeline: findPipeline(ctx.pipelines, source.pipeline), candidate: undefined };
  const candidate = await ctx.store.getCandidate(source.candidateId);
  const pipeline = candidate && ctx.pipelines.find((pipelineConfig) => pipelineConfig.name === candidate.pipeline);
  if (!candidate || !pipeline) {
    throw new DomainError(
      "REQUEST_NOT_FOUND",
      "I do not know this staging release (the message may be from an older set-up). Use `/promote &lt;pipeline&gt;` instead.",
    );
  }
  if (candidate.state === "superseded") {
    throw new DomainError(
      "RELEASE_UNAVAILABLE",
      `This release (v${candidate.releaseVersion}) was superseded${candidate.supersededBy ? ` by v${candidate.supersededBy}` : ""}. Promote the newest one from its message or with \`/promote ${esc(pipeline.name)}\`.`,
    );
  }
  return { pipeline, candidate };
}

async function checkRelease(ctx: AppContext, side: HerokuSide, candidate: Candidate | undefined): Promise<Release> {
  let release: Release | undefined;
  try {
    release = candidate
      ? await ctx.heroku.release(side.source.id, candidate.releaseId)
      : await ctx.heroku.currentRelease(side.source.id);
  } catch (error) {
    if (error instanceof DomainError && error.code === "HEROKU_NOT_FOUND") release = undefined;
    else throw error;
  }
  if (!release) {
    throw new DomainError(
      "RELEASE_UNAVAILABLE",
      `${esc(side.source.name)} has no such release any more${candidate ? ` (v${candidate.releaseVersion})` : ""}; deploy to staging again.`,
    );
  }
  if (release.status === "expired") {
    throw new DomainError(
      "RELEASE_UNAVAILABLE",
      `${esc(side.source.name)} v${release.version} has expired: Heroku deletes the build of releases older than 30 days or 20 releases, so it cannot be promoted. Deploy it to staging again.`,
    );
  }
  if (release.status !== "succeeded") {
    throw new DomainError(
      "RELEASE_UNAVAILABLE",
      `${esc(side.source.name)} v${release.version} is ${release.status}, not succeeded; only a succeeded release can be promoted.`,
    );
  }
  if (!release.slugId) {
    throw new DomainError(
      "RELEASE_UNAVAILABLE",
      `${esc(side.source.name)} v${release.version} has no slug (a container release?). Heroku pipeline promotion cannot copy Docker images.`,
    );
  }
  return release;
}

async function checkCi(ctx: AppContext, pipelineConfig: PipelineConfig, sha: string): Promise<void> {
  const branch = pipelineConfig.branch ?? (await ctx.gitlab.project(pipelineConfig.gitlabProject)).defaultBranch;
  const pipelines = await ctx.gitlab.pipelinesForCommit(pipelineConfig.gitlabProject, sha, branch);
  const latest = pipelines[0];
  if (!latest) {
    throw new DomainError(
      "CI_NOT_PASSED",
      `GitLab has no CI pipeline for ${code(shortSha(sha))} on ${code(branch)}, so it cannot be promoted. Push it to ${code(branch)} and let CI pass.`,
    );
  }
  if (latest.status !== "success") {
    throw new DomainError(
      "CI_NOT_PASSED",
      `CI for ${code(shortSha(sha))} on ${code(branch)} is ${code(latest.status)}, not passed: ${link(latest.webUrl, `pipeline #${latest.id}`)}. Promote once it has passed.`,
    );
  }
}

export async function requestPromotion(
  ctx: AppContext,
  approvers: ApproverDirectory,
  args: { source: RequestSource; requester: string; override?: string },
): Promise<RequestCreated> {
  const { pipeline: pipelineConfig, candidate } = await resolveSource(ctx, args.source);
  const log = ctx.log.child({ pipeline: pipelineConfig.name, slackUser: args.requester });

  const active = await ctx.store.activeRequest(pipelineConfig.name);
  if (active) throw inProgress(active);

  const {
    gate: g,
    overrideReason,
    overrideGate,
  } = await checkGate(ctx, approvers, pipelineConfig, args.requester, args.override);
  if (pipelineConfig.strategy === "gitlab-job") {
    return requestJob(ctx, approvers, {
      pipelineConfig,
      candidate,
      requester: args.requester,
      via: args.source.kind,
      g,
      overrideReason,
      overrideGate,
      ...(args.override !== undefined ? { override: args.override } : {}),
    });
  }

  const side = await herokuSide(ctx, pipelineConfig);
  // Read fresh for the request; read-only views take it from here too.
  await recordTopology(ctx, pipelineConfig, side);
  const release = await checkRelease(ctx, side, candidate);
  const commit = candidate?.commitSha ?? (await ctx.heroku.slugCommit(side.source.id, release.slugId as string));
  if (!commit) {
    throw new DomainError(
      "RELEASE_UNAVAILABLE",
      `${esc(side.source.name)} v${release.version} records no commit, so I cannot check its CI. Deploy it from GitLab CI.`,
    );
  }
  await checkCi(ctx, pipelineConfig, commit);
  const drift = await requestDrift(ctx, pipelineConfig, side, args.requester, args.override);

  // One read per target gives both what it runs and its newest version (failed releases included): the
  // baseline that tells a later crash recovery which releases came after this request.
  const targetReleases = await Promise.all(side.targets.map((t) => ctx.heroku.recentReleases(t.id, 20)));
  const targetCurrent = targetReleases.map((list) => list.find((r) => r.current));
  const baseline = Object.fromEntries(
    side.targets.map((t, i) => [t.id, Math.max(0, ...(targetReleases[i] ?? []).map((r) => r.version))]),
  );
  if (targetCurrent.every((r) => r?.slugId === release.slugId)) {
    throw new DomainError(
      "ALREADY_IN_PRODUCTION",
      `${esc(pipelineConfig.to)} already runs this build (${esc(side.source.name)} v${release.version}, ${code(shortSha(commit))}); there is nothing to promote.`,
    );
  }
  const firstTarget = targetCurrent[0];
  const productionCommit =
    firstTarget?.slugId && side.targets[0] ? await ctx.heroku.slugCommit(side.targets[0].id, firstTarget.slugId) : null;
  const behind = await commitsBehind(ctx, pipelineConfig, productionCommit, commit);
  const title =
    candidate?.commitTitle ??
    (await ctx.gitlab.commit(pipelineConfig.gitlabProject, commit).then(
      (c) => c.title,
      () => null,
    ));

  // The announcement of this same release becomes the approval message (one living message per release).
  const announced =
    candidate ??
    (await ctx.store.liveCandidates(pipelineConfig.name)).find(
      (c) => c.releaseId === release.id && c.channel === pipelineConfig.channel && c.messageTs,
    );
  const basics = requestBasics(ctx, pipelineConfig, args.requester);
  const created = await ctx.store.createRequest(
    {
      ...basics,
      herokuPipelineId: side.pipelineId,
      sourceApp: side.source,
      sourceReleaseId: release.id,
      sourceReleaseVersion: release.version,
      slugId: release.slugId,
      commitSha: commit,
      commitTitle: title,
      commitsBehind: behind?.count ?? null,
      targetApps: side.targets,
      candidateId: announced?.id ?? null,
      overrideReason,
      overrideGate,
      kind: "promotion",
      baseline,
      drift,
    },
    auditNote(ctx, basics, "requested", args.requester, {
      release: release.version,
      releaseId: release.id,
      commit,
      via: args.source.kind,
    }),
  );
  if (!created.created) throw inProgress(created.existing);
  const request = created.request;
  log.info({ requestId: request.id, release: release.version }, "promotion requested");
  await auditDriftOverride(ctx, request);
  return completeRequest(ctx, approvers, {
    pipelineConfig,
    request,
    announced,
    g,
    overrideReason,
    what: `v${release.version}`,
  });
}
