/**
 * Asking for a promotion, from `/promote <pipeline>` or a staging-ready message's Promote button.
 * Every check runs before anything is stored; a refusal is a DomainError whose message tells the
 * requester what failed and what to do.
 */
import type { PipelineConfig } from "../config.js";
import { approvesOnRequest, selfApprovalPossible } from "../domain/approval-policy.js";
import { DomainError } from "../domain/errors.js";
import { closedError, closedGates, type Gate, overrideCommand, overrideKeys } from "../domain/gate.js";
import type { Release } from "../domain/ports.js";
import type { Candidate } from "../domain/records.js";
import { type PromotionRequest, type RequestKind, shortSha } from "../domain/request.js";
import { notice } from "../views/messages.js";
import { code, esc, link, user, when } from "../views/mrkdwn.js";
import type { ApproverDirectory } from "./approvers.js";
import { auditNote, auditRequest } from "./audit.js";
import type { AppContext } from "./context.js";
import { approve, claimPosting, postRequestMessage } from "./decide.js";
import { findPipeline, type HerokuSide, herokuSide } from "./pipelines.js";
import { requestJob } from "./request-job.js";
import { commitsBehind } from "./staging-ready.js";

export type RequestSource = { kind: "command"; pipeline: string } | { kind: "button"; candidateId: string };

/** A stored request, and whether approving it on the requester's behalf could not be decided. */
export interface RequestCreated {
  request: PromotionRequest;
  /**
   * True when the policy would let the requester's own approval count at once but Slack could not say
   * whether the requester is an approver: the request then waits for an approval like any other.
   */
  selfApprovalUnchecked: boolean;
}

/** Audits and announces an approver's override of a lock or freeze window for one request. */
export async function announceOverride(
  ctx: AppContext,
  request: PromotionRequest,
  g: Exclude<Gate, { kind: "open" }>,
  reason: string,
  what: string,
): Promise<void> {
  await auditRequest(ctx, request, "override", request.requester, { reason, gate: g.kind });
  await ctx.chat
    .post(
      request.channel,
      notice(
        `:unlock: ${user(request.requester)} overrode ${g.kind === "locked" ? "the lock" : "the freeze window"} of *${esc(request.pipeline)}* for ${esc(what)}: ${esc(reason)}`,
      ),
    )
    .catch((error: unknown) => ctx.log.error({ err: error, requestId: request.id }, "could not announce an override"));
}

/**
 * Checks the lock and freeze windows for a new request; returns the override to store, if any: its
 * reason, and the locks and windows it covers (`gatePasses`).
 */
export async function checkGate(
  ctx: AppContext,
  approvers: ApproverDirectory,
  p: PipelineConfig,
  requester: string,
  override: string | undefined,
  kind: RequestKind = "promotion",
): Promise<{ gate: Gate; overrideReason: string | null; overrideGate: string | null }> {
  const closed = closedGates(await ctx.store.getLock(p.name), p.freeze, ctx.clock.now());
  const g: Gate = closed[0] ?? { kind: "open" };
  if (override !== undefined) {
    if (!(await approvers.isApprover(p, requester))) {
      throw new DomainError(
        "NOT_APPROVER",
        `Only the approvers of *${esc(p.name)}* can override a lock or freeze window.`,
      );
    }
    if (!override.trim()) {
      throw new DomainError("BAD_INPUT", `An override needs a reason: ${overrideCommand(kind, p.name, esc)}.`);
    }
  } else if (g.kind !== "open") {
    throw closedError(g, p.name, esc, { kind });
  }
  const overriding = override !== undefined && g.kind !== "open";
  return {
    gate: g,
    overrideReason: overriding ? override.trim().slice(0, 500) : null,
    overrideGate: overriding ? overrideKeys(closed) : null,
  };
}

/** The fields every new request shares: who asked, where it is shown, how many approvals, when it expires. */
export function requestBasics(ctx: AppContext, p: PipelineConfig, requester: string) {
  const now = ctx.clock.now();
  return {
    id: ctx.newId(),
    pipeline: p.name,
    requester,
    requiredApprovals: p.requiredApprovals,
    createdAt: now,
    expiresAt: new Date(now.getTime() + p.requestTtl.ms),
    channel: p.channel,
    messageTs: null,
  };
}

export function inProgress(existing: PromotionRequest): DomainError {
  const promoting = existing.state === "promoting";
  const unknown = existing.state === "unknown";
  const what = unknown
    ? `was acted on but whose outcome is unknown`
    : promoting
      ? existing.kind === "rollback"
        ? "is being rolled back"
        : "is being promoted"
      : "is waiting for approval";
  const next = unknown
    ? "An approver records what happened, or tries again, with the buttons on its message first."
    : promoting
      ? `Wait for it to finish (\`/promote status ${esc(existing.pipeline)}\`).`
      : "Approve, reject or cancel that one first.";
  return new DomainError(
    "REQUEST_IN_PROGRESS",
    `*${esc(existing.pipeline)}* already has a request that ${what}: v${existing.sourceReleaseVersion}${existing.commitSha ? ` (${code(shortSha(existing.commitSha))})` : ""}, asked by ${user(existing.requester)} ${when(existing.createdAt)} in <#${existing.channel}>. ${next}`,
    { requestId: existing.id },
  );
}

async function resolveSource(
  ctx: AppContext,
  source: RequestSource,
): Promise<{ pipeline: PipelineConfig; candidate: Candidate | undefined }> {
  if (source.kind === "command")
    return { pipeline: findPipeline(ctx.pipelines, source.pipeline), candidate: undefined };
  const candidate = await ctx.store.getCandidate(source.candidateId);
  const pipeline = candidate && ctx.pipelines.find((p) => p.name === candidate.pipeline);
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

async function checkCi(ctx: AppContext, p: PipelineConfig, sha: string): Promise<void> {
  const branch = p.branch ?? (await ctx.gitlab.project(p.gitlabProject)).defaultBranch;
  const pipelines = await ctx.gitlab.pipelinesForCommit(p.gitlabProject, sha, branch);
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
  const { pipeline: p, candidate } = await resolveSource(ctx, args.source);
  const log = ctx.log.child({ pipeline: p.name, slackUser: args.requester });

  const active = await ctx.store.activeRequest(p.name);
  if (active) throw inProgress(active);

  const { gate: g, overrideReason, overrideGate } = await checkGate(ctx, approvers, p, args.requester, args.override);
  if (p.strategy === "gitlab-job") {
    return requestJob(ctx, approvers, {
      p,
      candidate,
      requester: args.requester,
      via: args.source.kind,
      g,
      overrideReason,
      overrideGate,
    });
  }

  const side = await herokuSide(ctx, p);
  const release = await checkRelease(ctx, side, candidate);
  const commit = candidate?.commitSha ?? (await ctx.heroku.slugCommit(side.source.id, release.slugId as string));
  if (!commit) {
    throw new DomainError(
      "RELEASE_UNAVAILABLE",
      `${esc(side.source.name)} v${release.version} records no commit, so I cannot check its CI. Deploy it from GitLab CI.`,
    );
  }
  await checkCi(ctx, p, commit);

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
      `${esc(p.to)} already runs this build (${esc(side.source.name)} v${release.version}, ${code(shortSha(commit))}); there is nothing to promote.`,
    );
  }
  const firstTarget = targetCurrent[0];
  const productionCommit =
    firstTarget?.slugId && side.targets[0] ? await ctx.heroku.slugCommit(side.targets[0].id, firstTarget.slugId) : null;
  const behind = await commitsBehind(ctx, p, productionCommit, commit);
  const title =
    candidate?.commitTitle ??
    (await ctx.gitlab.commit(p.gitlabProject, commit).then(
      (c) => c.title,
      () => null,
    ));

  // The announcement of this same release becomes the approval message (one living message per release).
  const announced =
    candidate ??
    (await ctx.store.liveCandidates(p.name)).find(
      (c) => c.releaseId === release.id && c.channel === p.channel && c.messageTs,
    );
  const basics = requestBasics(ctx, p, args.requester);
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
      rollbackTo: null,
      gitlabJob: null,
      baseline,
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
  return completeRequest(ctx, approvers, { p, request, announced, g, overrideReason, what: `v${release.version}` });
}

/**
 * What follows storing any new request: announce an override, turn the staging-ready message into the
 * approval message (or post one), and approve at once when the policy lets the requester do so.
 */
export async function completeRequest(
  ctx: AppContext,
  approvers: ApproverDirectory,
  args: {
    p: PipelineConfig;
    request: PromotionRequest;
    announced: Candidate | undefined;
    g: Gate;
    overrideReason: string | null;
    what: string;
  },
): Promise<RequestCreated> {
  const { p, announced, g, overrideReason } = args;
  let request = args.request;
  if (overrideReason !== null && g.kind !== "open") await announceOverride(ctx, request, g, overrideReason, args.what);

  // The request exists from here on: Slack failing now must not tell the requester it failed (a retry
  // would be refused as "in progress"). A message that could not be posted is posted by the sweep.
  try {
    const claimed = await claimPosting(ctx, request);
    if (claimed) {
      // The staging-ready message of the same release becomes the approval message.
      const into =
        announced?.messageTs && (await ctx.store.transitionCandidate(announced.id, ["live"], "requested"))
          ? announced.messageTs
          : undefined;
      request = await postRequestMessage(ctx, claimed, into);
    }
  } catch (error) {
    ctx.log.error({ err: error, requestId: request.id }, "could not post the approval message; the sweep will");
  }

  if (!selfApprovalPossible(p)) return { request, selfApprovalUnchecked: false };
  let requesterIsApprover: boolean;
  try {
    requesterIsApprover = await approvers.isApprover(p, request.requester);
  } catch (error) {
    // Not approving is the safe side, but not silently: the requester is told the request waits for an
    // approval (theirs included, once Slack answers), and the log says why it was not approved at once.
    ctx.log.warn(
      { err: error, requestId: request.id, pipeline: p.name, slackUser: request.requester },
      "could not check whether the requester is an approver; the request waits for an approval",
    );
    return { request, selfApprovalUnchecked: true };
  }
  if (approvesOnRequest({ requesterIsApprover, policy: p })) {
    await approve(ctx, approvers, { requestId: request.id, actor: request.requester });
    request = (await ctx.store.getRequest(request.id)) ?? request;
  }
  return { request, selfApprovalUnchecked: false };
}
