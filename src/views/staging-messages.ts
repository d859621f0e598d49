/** The staging-ready message and what it turns into: superseded, not deployed, already in production, closed, CI failed. */
import type { ChatMessage } from "../domain/ports.js";
import type { Candidate } from "../domain/records.js";
import { shortSha } from "../domain/request.js";
import { ACTIONS } from "./action-ids.js";
import { actions, type Block, button, context, section } from "./blocks.js";
import { behindLines, commitLine, message, targetsLine } from "./message-parts.js";
import type { BehindView, PipelineView, TargetView } from "./models.js";
import { code, esc, link, plain } from "./mrkdwn.js";

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
