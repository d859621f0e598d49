/** A request's message: what it asks for, who approved, the gates it goes through, how it ended, and its buttons. */
import { formatDuration } from "../domain/duration.js";
import type { ChatMessage } from "../domain/ports.js";
import { type Approval, type PromotionRequest, shortSha } from "../domain/request.js";
import { ACTIONS } from "./action-ids.js";
import { actions, type Block, button, context, section } from "./blocks.js";
import { approversText, commitLine, message, overrideText } from "./message-parts.js";
import type { PipelineView } from "./models.js";
import { code, esc, link, plural, user, when } from "./mrkdwn.js";

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
