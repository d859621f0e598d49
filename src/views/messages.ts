/**
 * Every message the bot posts, as pure functions of domain values returning `{ text, blocks }`.
 * `text` is the notification fallback; `blocks` the Block Kit layout.
 */
import { formatDuration } from "../domain/duration.js";
import { type OverriddenGate, overriddenGates } from "../domain/gate.js";
import type { ChatMessage, CommitInfo } from "../domain/ports.js";
import type { Candidate } from "../domain/records.js";
import { type AppRef, type Approval, type PromotionRequest, shortSha } from "../domain/request.js";
import { ACTIONS } from "./action-ids.js";
import { actions, type Block, button, context, divider, fallback, limitBlocks, section } from "./blocks.js";
import { code, esc, link, plain, plural, truncate, user, userGroup, when } from "./mrkdwn.js";

export interface PipelineView {
  name: string;
  from: string;
  to: string;
  approverUsers: string[];
  approverGroups: string[];
  requiredApprovals: number;
}

export interface TargetView {
  app: AppRef;
  releaseVersion: number | null;
  commit: string | null;
}

export interface BehindView {
  count: number;
  commits: CommitInfo[];
  compareUrl: string;
}

const SHOWN_COMMITS = 5;

function message(text: string, blocks: Block[]): ChatMessage {
  return { text: fallback(text), blocks: limitBlocks(blocks) };
}

function commitLine(sha: string, title: string | null, author: string | null, url?: string | null): string {
  const head = url ? link(url, shortSha(sha)) : code(shortSha(sha));
  // Long titles are cut so the lines after them (targets, CI, commits behind) stay within the section.
  const rest = [title ? esc(truncate(title, 150, "…")) : null, author ? `_${esc(truncate(author, 60, "…"))}_` : null]
    .filter(Boolean)
    .join(" · ");
  return rest ? `${head} ${rest}` : head;
}

function targetsLine(to: string, targets: TargetView[]): string {
  if (targets.length === 0) return `*${esc(to)}:* no app`;
  const parts = targets.map((t) => {
    const version = t.releaseVersion !== null ? `v${t.releaseVersion}` : "no release";
    const commit = t.commit ? ` (${code(shortSha(t.commit))})` : "";
    return `${esc(t.app.name)} ${version}${commit}`;
  });
  return `*${esc(to)} runs:* ${parts.join(", ")}`;
}

function behindLines(behind: BehindView | null, to: string): string[] {
  if (!behind) return [];
  if (behind.count === 0) return [`*${esc(to)} is not behind.*`];
  const shown = behind.commits.slice(-SHOWN_COMMITS).reverse();
  const lines = shown.map((c) => `• ${commitLine(c.sha, c.title, c.authorName)}`);
  const more = behind.count - shown.length;
  if (more > 0) lines.push(`• ${link(behind.compareUrl, `and ${plural(more, "more commit")}`)}`);
  return [
    `*${esc(to)} is ${plural(behind.count, "commit")} behind* (${link(behind.compareUrl, "compare")}):`,
    ...lines,
  ];
}

function approversText(p: Pick<PipelineView, "approverUsers" | "approverGroups">): string {
  return [...p.approverUsers.map(user), ...p.approverGroups.map(userGroup)].join(", ") || "nobody configured";
}

function overriddenGateText(g: OverriddenGate): string {
  if (g.kind === "locked") return `the lock set by ${user(g.lockedBy)} ${when(g.lockedAt)}`;
  const w = g.window;
  return `the freeze window (${w.days.join(", ")} ${w.from}–${w.to} ${esc(w.timezone)}: ${esc(truncate(w.reason, 200, "…"))})`;
}

/**
 * Says that a request goes through a lock or freeze window on an override: who gave it (the
 * requester: only an approver may, and only when asking), for which lock and window, and why.
 * Undefined for a request without an override.
 */
export function overrideText(
  request: Pick<PromotionRequest, "requester" | "overrideReason" | "overrideGate">,
): string | undefined {
  if (!request.overrideReason) return undefined;
  const gates = overriddenGates(request.overrideGate).map(overriddenGateText);
  const what = gates.length > 0 ? gates.join(" and ") : "a lock or freeze window";
  return `:unlock: ${user(request.requester)} overrode ${what}: ${esc(request.overrideReason)}`;
}

// ------------------------------------------------------------------ staging ready

export function stagingReadyMessage(args: {
  pipeline: PipelineView;
  candidate: Candidate;
  targets: TargetView[];
  behind: BehindView | null;
}): ChatMessage {
  const { pipeline, candidate, targets, behind } = args;
  const headline = `:white_check_mark: *${esc(pipeline.name)}*: ${esc(pipeline.from)} is ready to promote`;
  const blocks: Block[] = [
    section(headline),
    section(
      [
        `*${esc(pipeline.from)}:* ${esc(candidate.sourceAppName)} v${candidate.releaseVersion}`,
        `*Commit:* ${commitLine(candidate.commitSha, candidate.commitTitle, candidate.commitAuthor)}`,
        `*CI:* ${link(candidate.ciPipelineUrl, `pipeline #${candidate.ciPipelineId}`)} passed`,
        ...(candidate.gitlabJob
          ? [
              `*Deploys with:* the manual job ${code(candidate.gitlabJob.name)} (#${candidate.gitlabJob.id}) of that pipeline`,
            ]
          : []),
        targetsLine(pipeline.to, targets),
      ].join("\n"),
    ),
  ];
  const behindText = behindLines(behind, pipeline.to);
  if (behindText.length > 0) blocks.push(section(behindText.join("\n")));
  blocks.push(
    actions("candidate", [
      button({
        text: `Promote to ${pipeline.to}`,
        actionId: ACTIONS.promote,
        value: candidate.id,
        style: "primary",
      }),
    ]),
  );
  return message(
    `${pipeline.name}: ${pipeline.from} v${candidate.releaseVersion} (${shortSha(candidate.commitSha)}) is ready to promote to ${pipeline.to}`,
    blocks,
  );
}

export function supersededMessage(args: {
  pipeline: PipelineView;
  candidate: Candidate;
  newVersion: number;
}): ChatMessage {
  const { pipeline, candidate, newVersion } = args;
  return message(`${pipeline.name}: v${candidate.releaseVersion} was superseded by v${newVersion}`, [
    section(
      `:fast_forward: *${esc(pipeline.name)}*: ${esc(candidate.sourceAppName)} v${candidate.releaseVersion} — superseded by v${newVersion}`,
    ),
    context(`Commit ${commitLine(candidate.commitSha, candidate.commitTitle, candidate.commitAuthor)}`),
  ]);
}

export function stagingNotDeployedMessage(args: {
  pipeline: PipelineView;
  sha: string;
  title: string | null;
  ciUrl: string;
  stagingApp: string;
  stagingVersion: number | null;
  stagingCommit: string | null;
  waitedMs: number;
}): ChatMessage {
  const runs = args.stagingCommit
    ? `v${args.stagingVersion ?? "?"} (${code(shortSha(args.stagingCommit))})`
    : `v${args.stagingVersion ?? "?"} (no commit recorded)`;
  return message(
    `${args.pipeline.name}: CI passed for ${shortSha(args.sha)} but ${args.stagingApp} still runs another commit`,
    [
      section(
        `:hourglass: *${esc(args.pipeline.name)}*: CI ${link(args.ciUrl, "passed")} for ${commitLine(args.sha, args.title, null)}, but ${esc(args.stagingApp)} still runs ${runs} after ${Math.round(args.waitedMs / 1000)} s. No Promote button: check the staging deploy job, then use \`/promote ${esc(args.pipeline.name)}\` once staging runs it.`,
      ),
    ],
  );
}

export function alreadyInProductionMessage(args: {
  pipeline: PipelineView;
  sha: string;
  title: string | null;
  releaseVersion: number;
  sourceApp: string;
}): ChatMessage {
  return message(`${args.pipeline.name}: ${args.pipeline.to} already runs ${shortSha(args.sha)}`, [
    context(
      `:zzz: *${esc(args.pipeline.name)}*: ${esc(args.sourceApp)} v${args.releaseVersion} (${commitLine(args.sha, args.title, null)}) is already what ${esc(args.pipeline.to)} runs; nothing to promote.`,
    ),
  ]);
}

/** `why` is mrkdwn written by the bot (describeGate). */
export function stagingClosedMessage(args: {
  pipeline: PipelineView;
  sha: string;
  title: string | null;
  releaseVersion: number;
  sourceApp: string;
  why: string;
}): ChatMessage {
  return message(plain(`${args.pipeline.name}: ${args.sourceApp} v${args.releaseVersion} is ready, but ${args.why}`), [
    section(
      `:lock: *${esc(args.pipeline.name)}*: ${esc(args.sourceApp)} v${args.releaseVersion} (${commitLine(args.sha, args.title, null)}) is ready to promote, but ${args.why}`,
    ),
    context(
      `No Promote button while it lasts; an approver can still \`/promote ${esc(args.pipeline.name)} --override "reason"\`.`,
    ),
  ]);
}

export function ciFailedMessage(args: {
  pipeline: PipelineView;
  sha: string;
  title: string | null;
  author: string | null;
  ciUrl: string;
  branch: string;
}): ChatMessage {
  return message(`${args.pipeline.name}: CI failed on ${args.branch} for ${shortSha(args.sha)}`, [
    section(
      `:x: *${esc(args.pipeline.name)}*: CI ${link(args.ciUrl, "failed")} on ${code(args.branch)} for ${commitLine(args.sha, args.title, args.author)}. This commit will not reach ${esc(args.pipeline.from)}.`,
    ),
  ]);
}

/** `reason` is mrkdwn written by the bot (a DomainError message: user-controlled parts already escaped). */
export function processingFailedMessage(args: { pipeline: string; what: string; reason: string }): ChatMessage {
  return message(plain(`${args.pipeline}: ${args.what} failed: ${args.reason}`), [
    section(`:warning: *${esc(args.pipeline)}*: ${esc(args.what)} failed: ${args.reason}`),
  ]);
}

// ------------------------------------------------------------------ requests

const STATE_HEADLINE: Record<PromotionRequest["state"], string> = {
  pending: ":raising_hand: Promotion requested",
  promoting: ":rocket: Promoting",
  succeeded: ":tada: Promoted",
  failed: ":rotating_light: Promotion failed",
  unknown: ":grey_question: Promotion outcome unknown",
  dry_run: ":test_tube: Approved (dry run, nothing changed)",
  rejected: ":no_entry: Rejected",
  cancelled: ":heavy_multiplication_x: Cancelled",
  expired: ":hourglass: Expired",
};

function outcomeBlocks(request: PromotionRequest): Block[] {
  const outcome = request.outcome;
  if (!outcome) return [];
  const blocks: Block[] = [];
  if (outcome.dryRun) {
    blocks.push(
      section(`:test_tube: *Dry run: nothing was changed.* Approval would have made: ${code(outcome.dryRun)}`),
    );
  }
  // The error is a DomainError message: mrkdwn written by the bot, external text already escaped.
  if (outcome.error) blocks.push(section(`*Reason:* ${outcome.error}`));
  // Written by the bot too (OutcomeUnknown's evidence).
  const unknown = outcome.unknown ?? outcome.recorded?.unknown;
  if (unknown) {
    blocks.push(
      section(
        `*${outcome.recorded ? "Was unknown" : "Outcome unknown"}:* ${unknown.why}${unknown.link ? ` Check: ${link(unknown.link, "what happened")}` : ""}`,
      ),
    );
  }
  if (outcome.recorded) {
    blocks.push(
      context(
        `Recorded as ${outcome.recorded.as === "succeeded" ? "gone through" : "not gone through"} by ${user(outcome.recorded.by)} ${when(new Date(outcome.recorded.at))}`,
      ),
    );
  }
  if (outcome.job) {
    const j = outcome.job;
    const took = j.durationS !== null ? ` in ${formatDuration(j.durationS * 1000)}` : "";
    const reason = j.failureReason && j.status !== "success" ? ` (${esc(j.failureReason)})` : "";
    blocks.push(
      section(
        `${j.status === "success" ? ":white_check_mark:" : ":x:"} Job ${code(j.name)} ${link(j.webUrl, `#${j.id}`)} ${esc(j.status)}${took}${reason}${j.status === "success" ? "" : ` — ${link(j.webUrl, "see its log")}`}`,
      ),
    );
  }
  for (const t of outcome.targets) {
    if (t.status === "succeeded") {
      blocks.push(
        section(
          `:white_check_mark: ${esc(t.app.name)} now runs ${t.releaseVersion !== null ? `v${t.releaseVersion}` : "the new release"}`,
        ),
      );
    } else {
      const lines = [
        `:x: ${esc(t.app.name)} ${t.status === "pending" ? "did not finish" : "failed"}${t.errorMessage ? `: ${esc(t.errorMessage)}` : ""}`,
      ];
      if (t.outputTail) lines.push(`\`\`\`${esc(t.outputTail.slice(-2_500)).replaceAll("```", "'''")}\`\`\``);
      blocks.push(section(lines.join("\n")));
    }
  }
  return blocks;
}

export function requestMessage(args: {
  request: PromotionRequest;
  approvals: Approval[];
  pipeline: PipelineView;
  now: Date;
}): ChatMessage {
  const { request, approvals, pipeline } = args;
  const r = request;
  const failedTargets = r.outcome?.targets.filter((t) => t.status !== "succeeded") ?? [];
  const partial =
    r.state === "failed" && failedTargets.length > 0 && failedTargets.length < (r.outcome?.targets.length ?? 0);
  const rollback = r.kind === "rollback";
  const headline = r.outcome?.dryRun
    ? `:test_tube: Approved (dry run, nothing changed): *${esc(r.pipeline)}* ${rollback ? `${esc(pipeline.to)} back to v${r.sourceReleaseVersion}` : `${esc(pipeline.from)} v${r.sourceReleaseVersion} → ${esc(pipeline.to)}`}`
    : rollback
      ? `${partial ? ":rotating_light: Rollback partly failed" : STATE_HEADLINE[r.state].replace(/Promot(ion|ing|ed)/, (m) => ({ Promotion: "Rollback", Promoting: "Rolling back", Promoted: "Rolled back" })[m] ?? m)}: *${esc(r.pipeline)}* ${esc(pipeline.to)} back to v${r.sourceReleaseVersion}`
      : `${partial ? ":rotating_light: Promotion partly failed" : STATE_HEADLINE[r.state]}: *${esc(r.pipeline)}* ${esc(pipeline.from)} v${r.sourceReleaseVersion} → ${esc(pipeline.to)}`;
  const details = rollback
    ? [
        `*Requested by* ${user(r.requester)} ${when(r.createdAt)}`,
        ...(r.rollbackTo ?? []).map((t) => `*${esc(t.app.name)}:* v${t.fromVersion} → back to v${t.version}`),
        ...(r.commitSha ? [`*Commit:* ${commitLine(r.commitSha, r.commitTitle, null)}`] : []),
      ]
    : [
        `*Requested by* ${user(r.requester)} ${when(r.createdAt)}`,
        `*Release:* ${esc(r.sourceApp.name)} v${r.sourceReleaseVersion}`,
        `*Commit:* ${commitLine(r.commitSha, r.commitTitle, null)}`,
        `*Targets:* ${r.targetApps.map((a) => esc(a.name)).join(", ")}`,
        ...(r.gitlabJob ? [`*Deploys with:* the manual job ${code(r.gitlabJob.name)} (#${r.gitlabJob.id})`] : []),
      ];
  if (r.commitsBehind !== null) {
    const verb = r.state === "pending" ? "is" : "was";
    details.push(`*${esc(pipeline.to)} ${verb} ${plural(r.commitsBehind, "commit")} behind*`);
  }
  const blocks: Block[] = [section(headline), section(details.join("\n"))];
  // Shown in every state: what an approver let through a lock or freeze window stays on the record.
  const override = overrideText(r);
  if (override) blocks.push(context(override));

  const approvedBy = approvals.map((a) => user(a.approver)).join(", ");
  if (r.state === "pending") {
    blocks.push(
      section(
        [
          `*Approvals:* ${approvals.length} of ${r.requiredApprovals}${approvedBy ? ` (${approvedBy})` : ""}`,
          `*Can approve:* ${approversText(pipeline)}`,
          `*Expires* ${when(r.expiresAt)}`,
        ].join("\n"),
      ),
      actions("request", [
        button({ text: "Approve", actionId: ACTIONS.approve, value: r.id, style: "primary" }),
        button({ text: "Reject", actionId: ACTIONS.reject, value: r.id, style: "danger" }),
        button({ text: "Cancel", actionId: ACTIONS.cancel, value: r.id }),
      ]),
    );
  } else {
    if (approvedBy) blocks.push(context(`Approved by ${approvedBy}`));
    if (r.state === "rejected" || r.state === "cancelled") {
      blocks.push(
        context(
          `${r.state === "rejected" ? "Rejected" : "Cancelled"} by ${r.decidedBy ? user(r.decidedBy) : "someone"}${r.finishedAt ? ` ${when(r.finishedAt)}` : ""}${r.reason ? `: ${esc(r.reason)}` : ""}`,
        ),
      );
    }
    if (r.state === "expired") {
      blocks.push(
        context(
          `Expired ${when(r.expiresAt)} with ${approvals.length} of ${r.requiredApprovals} approvals. Ask again with \`/promote ${esc(r.pipeline)}\`.`,
        ),
      );
    }
    if (r.state === "promoting") {
      blocks.push(
        context(
          `Heroku is ${rollback ? "rolling back" : "promoting"}${r.promotionStartedAt ? ` since ${when(r.promotionStartedAt)}` : ""}…`,
        ),
      );
    }
    blocks.push(...outcomeBlocks(r));
    if (r.state === "unknown") {
      blocks.push(
        context(
          `The bot does not know whether production changed, so it neither reports a failure nor acts again on its own. Approvers: check, then record what happened, or try again (the bot first looks for its earlier attempt and never repeats one that went through).`,
        ),
        actions("unknown", [
          button({
            text: "It went through",
            actionId: ACTIONS.recordSucceeded,
            value: r.id,
            confirm: {
              title: "Record it as gone through?",
              text: "Only when you checked that production runs the new release. This is recorded with your name.",
              confirm: "Record",
              deny: "Back",
            },
          }),
          button({
            text: "It did not",
            actionId: ACTIONS.recordFailed,
            value: r.id,
            confirm: {
              title: "Record it as not gone through?",
              text: "Only when you checked that production did not change. This is recorded with your name.",
              confirm: "Record",
              deny: "Back",
            },
          }),
          button({ text: "Try again", actionId: ACTIONS.retryUnknown, value: r.id, style: "primary" }),
        ]),
      );
    }
    if ((r.state === "succeeded" || r.state === "failed") && r.finishedAt && r.promotionStartedAt) {
      const seconds = Math.max(0, Math.round((r.finishedAt.getTime() - r.promotionStartedAt.getTime()) / 1000));
      blocks.push(context(`Finished ${when(r.finishedAt)} after ${seconds} s`));
    }
    // Every successful promotion offers the way back (under the same approval check).
    if (r.state === "succeeded" && !rollback && !r.outcome?.dryRun) {
      blocks.push(
        actions("done", [
          button({
            text: `Roll back ${pipeline.to}`,
            actionId: ACTIONS.rollback,
            value: r.id,
            confirm: {
              title: "Request a rollback?",
              text: `This asks for ${esc(pipeline.to)} to go back to the release it ran before v${r.sourceReleaseVersion}; approvers still have to approve it.`,
              confirm: "Request rollback",
              deny: "Keep it",
            },
          }),
        ]),
      );
    }
  }
  return message(
    rollback
      ? `${r.pipeline}: rollback ${partial ? "partly failed" : r.state} — ${pipeline.to} back to v${r.sourceReleaseVersion}`
      : `${r.pipeline}: ${partial ? "promotion partly failed" : r.state} — ${pipeline.from} v${r.sourceReleaseVersion} (${shortSha(r.commitSha)}) to ${pipeline.to}`,
    blocks,
  );
}

/** The thread reply that tells the requester how it ended. */
export function outcomeReply(request: PromotionRequest): ChatMessage {
  const r = request;
  const failed = r.outcome?.targets.filter((t) => t.status !== "succeeded") ?? [];
  let text: string;
  const what = r.kind === "rollback" ? "rollback" : "promotion";
  if (r.outcome?.dryRun) {
    text = `${user(r.requester)} your ${what} of v${r.sourceReleaseVersion} was approved; this is a dry run, so nothing was changed.`;
  } else if (r.state === "unknown" && r.outcome?.unknown) {
    text = `${user(r.requester)} the outcome of the ${what} of v${r.sourceReleaseVersion} is unknown: ${r.outcome.unknown.why} An approver checks, then records what happened or tries again with the buttons on the message.`;
  } else if (r.outcome?.recorded) {
    text = `${user(r.requester)} ${user(r.outcome.recorded.by)} recorded that the ${what} of v${r.sourceReleaseVersion} ${r.outcome.recorded.as === "succeeded" ? "went through" : "did not go through"}.`;
  } else if (r.state === "succeeded" && r.outcome) {
    const versions = r.outcome.targets.map((t) => `${esc(t.app.name)} v${t.releaseVersion ?? "?"}`).join(", ");
    text =
      r.kind === "rollback"
        ? `${user(r.requester)} rolled back to v${r.sourceReleaseVersion}: ${versions}.`
        : `${user(r.requester)} v${r.sourceReleaseVersion} is live: ${versions}.`;
  } else if (r.outcome?.error) {
    text = `${user(r.requester)} the ${what} of v${r.sourceReleaseVersion} failed: ${r.outcome.error}`;
  } else {
    const names = failed.map((t) => `${esc(t.app.name)}${t.errorMessage ? ` (${esc(t.errorMessage)})` : ""}`);
    const succeeded = (r.outcome?.targets.length ?? 0) - failed.length;
    text = `${user(r.requester)} the ${what} of v${r.sourceReleaseVersion} failed on ${names.join(", ")}${succeeded > 0 ? `; ${plural(succeeded, "other target")} succeeded` : ""}.`;
  }
  return message(plain(text), [section(text)]);
}

export function decisionReply(request: PromotionRequest, actor: string, event: string): ChatMessage {
  const what = request.kind === "rollback" ? "rollback to" : "promotion of";
  const text = `${user(actor)} ${event} the ${what} v${request.sourceReleaseVersion}${request.reason ? `: ${esc(request.reason)}` : ""}.`;
  return message(`${request.pipeline}: v${request.sourceReleaseVersion} ${event}`, [context(text)]);
}

export function notice(text: string, plainText = plain(text)): ChatMessage {
  return { text: fallback(plainText), blocks: [section(text)] };
}

export function helpMessage(pipelines: string[]): ChatMessage {
  const names = pipelines.map((p) => code(p)).join(", ");
  return message("promote-bot commands", [
    section(
      [
        "*promote-bot* promotes a Heroku pipeline's staging release to production after approval.",
        "• `/promote &lt;pipeline&gt;` — ask to promote what staging runs now, e.g. `/promote whitewave`",
        "• `/promote list` — every pipeline: what staging and production run, how far behind",
        "• `/promote status &lt;pipeline&gt;` — the commits waiting for production and the last promotion",
        "• `/promote history &lt;pipeline&gt; [N]` — the last N requests (default 10, at most 50)",
        "• `/promote cancel &lt;pipeline&gt;` — cancel the pending request (the requester or an approver)",
        "• `/promote lock &lt;pipeline&gt; &lt;reason&gt;` / `/promote unlock &lt;pipeline&gt;` — stop and resume promotions (approvers)",
        '• `/promote &lt;pipeline&gt; --override "reason"` — promote through a lock or freeze window (approvers)',
        "• `/promote rollback &lt;pipeline&gt;` — ask to roll production back to its previous release (same approvals)",
        '• `/promote rollback &lt;pipeline&gt; --override "reason"` — roll back through a lock or freeze window (approvers)',
        "• `/promote help` — this help",
        "Or click *Promote* on a staging-ready message in the pipeline's channel.",
      ].join("\n"),
    ),
    context(`Configured pipelines: ${names || "none"}`),
  ]);
}

/**
 * Said to a requester whose own approval would have counted at once if Slack had said whether they are
 * an approver (a user group lookup failed): nothing was approved, and the request waits.
 */
function selfApprovalUncheckedText(pipeline: string): string {
  return `:warning: I could not check with Slack whether you are an approver of *${esc(pipeline)}*, so nothing was approved on your behalf: the request waits for an approval. If you are an approver, approve it from its message once Slack answers; otherwise ask an approver.`;
}

export function requestCreatedReply(
  request: PromotionRequest,
  pipeline: PipelineView,
  selfApprovalUnchecked = false,
): ChatMessage {
  const what = `*${esc(request.pipeline)}* ${esc(pipeline.from)} v${request.sourceReleaseVersion} (${code(shortSha(request.commitSha))}) to ${esc(pipeline.to)}`;
  if (request.state === "promoting") {
    return notice(`Approved your own request (allowed for *${esc(request.pipeline)}*): promoting ${what} now.`);
  }
  const unchecked = selfApprovalUnchecked ? ` ${selfApprovalUncheckedText(request.pipeline)}` : "";
  return notice(
    `Requested the promotion of ${what}. It needs ${plural(request.requiredApprovals, "approval")} from ${approversText(pipeline)}.${unchecked}`,
    `Requested the promotion of ${request.pipeline} v${request.sourceReleaseVersion} to ${pipeline.to}; it needs ${plural(request.requiredApprovals, "approval")}.`,
  );
}

export function rollbackCreatedReply(request: PromotionRequest, selfApprovalUnchecked = false): ChatMessage {
  const what = `*${esc(request.pipeline)}* to v${request.sourceReleaseVersion}`;
  if (request.state === "promoting") {
    return notice(`Approved your own request (allowed for *${esc(request.pipeline)}*): rolling back ${what} now.`);
  }
  const unchecked = selfApprovalUncheckedText(request.pipeline);
  return notice(
    `Requested a rollback of ${what}. It needs ${plural(request.requiredApprovals, "approval")}.${selfApprovalUnchecked ? ` ${unchecked}` : ""}`,
  );
}

export function refusal(text: string): ChatMessage {
  return notice(`:warning: ${text}`);
}

export { divider };
