/** A request's message: what it asks for, who approved, the gates it goes through, how it ended, and its buttons. */
import { formatDuration } from "../domain/duration.js";
import type { ChatMessage } from "../domain/ports.js";
import { type Approval, type PromotionRequest, shortSha } from "../domain/request.js";
import { ACTIONS } from "./action-ids.js";
import { actions, type Block, button, context, section } from "./blocks.js";
import { driftLines } from "./drift-text.js";
import { approversText, commitLine, message, overrideText } from "./message-parts.js";
import type { PipelineView } from "./models.js";
import { code, esc, link, plural, user, when } from "./mrkdwn.js";
import { type OutsideChange, productionChangedNotice } from "./outside-release.js";

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
    const job = outcome.job;
    const took = job.durationS !== null ? ` in ${formatDuration(job.durationS * 1000)}` : "";
    const reason = job.failureReason && job.status !== "success" ? ` (${esc(job.failureReason)})` : "";
    blocks.push(
      section(
        `${job.status === "success" ? ":white_check_mark:" : ":x:"} Job ${code(job.name)} ${link(job.webUrl, `#${job.id}`)} ${esc(job.status)}${took}${reason}${job.status === "success" ? "" : ` — ${link(job.webUrl, "see its log")}`}`,
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
  /** Production releases made since the request that the bot did not make (from the release view). */
  productionChanged?: OutsideChange[];
}): ChatMessage {
  const { request, approvals, pipeline } = args;
  const failedTargets = request.outcome?.targets.filter((t) => t.status !== "succeeded") ?? [];
  const partial =
    request.state === "failed" &&
    failedTargets.length > 0 &&
    failedTargets.length < (request.outcome?.targets.length ?? 0);
  const rollback = request.kind === "rollback";
  const headline = request.outcome?.dryRun
    ? `:test_tube: Approved (dry run, nothing changed): *${esc(request.pipeline)}* ${rollback ? `${esc(pipeline.to)} back to v${request.sourceReleaseVersion}` : `${esc(pipeline.from)} v${request.sourceReleaseVersion} → ${esc(pipeline.to)}`}`
    : rollback
      ? `${partial ? ":rotating_light: Rollback partly failed" : STATE_HEADLINE[request.state].replace(/Promot(ion|ing|ed)/, (m) => ({ Promotion: "Rollback", Promoting: "Rolling back", Promoted: "Rolled back" })[m] ?? m)}: *${esc(request.pipeline)}* ${esc(pipeline.to)} back to v${request.sourceReleaseVersion}`
      : `${partial ? ":rotating_light: Promotion partly failed" : STATE_HEADLINE[request.state]}: *${esc(request.pipeline)}* ${esc(pipeline.from)} v${request.sourceReleaseVersion} → ${esc(pipeline.to)}`;
  const details = rollback
    ? [
        `*Requested by* ${user(request.requester)} ${when(request.createdAt)}`,
        ...(request.rollbackTo ?? []).map((t) => `*${esc(t.app.name)}:* v${t.fromVersion} → back to v${t.version}`),
        ...(request.commitSha ? [`*Commit:* ${commitLine(request.commitSha, request.commitTitle, null)}`] : []),
      ]
    : [
        `*Requested by* ${user(request.requester)} ${when(request.createdAt)}`,
        `*Release:* ${esc(request.sourceApp.name)} v${request.sourceReleaseVersion}`,
        `*Commit:* ${commitLine(request.commitSha, request.commitTitle, null)}`,
        `*Targets:* ${request.targetApps.map((a) => esc(a.name)).join(", ")}`,
        ...(request.kind === "gitlab-job"
          ? [`*Deploys with:* the manual job ${code(request.gitlabJob.name)} (#${request.gitlabJob.id})`]
          : []),
      ];
  if (request.commitsBehind !== null) {
    const verb = request.state === "pending" ? "is" : "was";
    details.push(`*${esc(pipeline.to)} ${verb} ${plural(request.commitsBehind, "commit")} behind*`);
  }
  const blocks: Block[] = [section(headline), section(details.join("\n"))];
  // Drift is shown while it matters (pending, promoting) and stays on the record once overridden.
  const drift =
    request.state === "pending" || request.state === "promoting" || request.drift?.override
      ? driftLines(request.drift, pipeline.drift, request.pipeline)
      : [];
  if (drift.length > 0) blocks.push(section(drift.join("\n")));
  // Shown in every state: what an approver let through a lock or freeze window stays on the record.
  const override = overrideText(request);
  if (override) blocks.push(context(override));

  const approvedBy = approvals.map((a) => user(a.approver)).join(", ");
  if (request.state === "pending" && args.productionChanged && args.productionChanged.length > 0) {
    blocks.push(section(productionChangedNotice(args.productionChanged)));
  }
  if (request.state === "pending") {
    blocks.push(
      section(
        [
          `*Approvals:* ${approvals.length} of ${request.requiredApprovals}${approvedBy ? ` (${approvedBy})` : ""}`,
          `*Can approve:* ${approversText(pipeline)}`,
          `*Expires* ${when(request.expiresAt)}`,
        ].join("\n"),
      ),
      actions("request", [
        button({ text: "Approve", actionId: ACTIONS.approve, value: request.id, style: "primary" }),
        button({ text: "Reject", actionId: ACTIONS.reject, value: request.id, style: "danger" }),
        button({ text: "Cancel", actionId: ACTIONS.cancel, value: request.id }),
      ]),
    );
  } else {
    if (approvedBy) blocks.push(context(`Approved by ${approvedBy}`));
    if (request.state === "rejected" || request.state === "cancelled") {
      blocks.push(
        context(
          `${request.state === "rejected" ? "Rejected" : "Cancelled"} by ${request.decidedBy ? user(request.decidedBy) : "someone"}${request.finishedAt ? ` ${when(request.finishedAt)}` : ""}${request.reason ? `: ${esc(request.reason)}` : ""}`,
        ),
      );
    }
    if (request.state === "expired") {
      blocks.push(
        context(
          `Expired ${when(request.expiresAt)} with ${approvals.length} of ${request.requiredApprovals} approvals. Ask again with \`/promote ${esc(request.pipeline)}\`.`,
        ),
      );
    }
    if (request.state === "promoting") {
      blocks.push(
        context(
          `Heroku is ${rollback ? "rolling back" : "promoting"}${request.promotionStartedAt ? ` since ${when(request.promotionStartedAt)}` : ""}…`,
        ),
      );
    }
    blocks.push(...outcomeBlocks(request));
    if (request.state === "unknown") {
      blocks.push(
        context(
          `The bot does not know whether production changed, so it neither reports a failure nor acts again on its own. Approvers: check, then record what happened, or try again (the bot first looks for its earlier attempt and never repeats one that went through).`,
        ),
        actions("unknown", [
          button({
            text: "It went through",
            actionId: ACTIONS.recordSucceeded,
            value: request.id,
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
            value: request.id,
            confirm: {
              title: "Record it as not gone through?",
              text: "Only when you checked that production did not change. This is recorded with your name.",
              confirm: "Record",
              deny: "Back",
            },
          }),
          button({ text: "Try again", actionId: ACTIONS.retryUnknown, value: request.id, style: "primary" }),
        ]),
      );
    }
    if (
      (request.state === "succeeded" || request.state === "failed") &&
      request.finishedAt &&
      request.promotionStartedAt
    ) {
      const seconds = Math.max(
        0,
        Math.round((request.finishedAt.getTime() - request.promotionStartedAt.getTime()) / 1000),
      );
      blocks.push(context(`Finished ${when(request.finishedAt)} after ${seconds} s`));
    }
    // Every successful promotion offers the way back (under the same approval check).
    if (request.state === "succeeded" && !rollback && !request.outcome?.dryRun) {
      blocks.push(
        actions("done", [
          button({
            text: `Roll back ${pipeline.to}`,
            actionId: ACTIONS.rollback,
            value: request.id,
            confirm: {
              title: "Request a rollback?",
              text: `This asks for ${esc(pipeline.to)} to go back to the release it ran before v${request.sourceReleaseVersion}; approvers still have to approve it.`,
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
      ? `${request.pipeline}: rollback ${partial ? "partly failed" : request.state} — ${pipeline.to} back to v${request.sourceReleaseVersion}`
      : `${request.pipeline}: ${partial ? "promotion partly failed" : request.state} — ${pipeline.from} v${request.sourceReleaseVersion} (${shortSha(request.commitSha)}) to ${pipeline.to}`,
    blocks,
  );
}
