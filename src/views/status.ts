/** `/promote list`, `/promote status <pipeline>` and `/promote history <pipeline>` answers. */

import type { AuditEntry, ChatMessage } from "../domain/ports.js";
import { type PromotionRequest, shortSha } from "../domain/request.js";
import { type Block, context, divider, fallback, limitBlocks, section } from "./blocks.js";
import { driftLines } from "./drift-text.js";
import { commitBullets, packSections, stagesLine } from "./message-parts.js";
import type { PipelineSnapshot } from "./models.js";
import { code, esc, plural, truncate, user, when } from "./mrkdwn.js";

/** Commits listed by `/promote status` (the staging-ready message lists fewer). */
const SHOWN_COMMITS = 10;

function activeText(request: PromotionRequest | undefined): string {
  if (!request) return "";
  if (request.state === "unknown")
    return ` · :grey_question: v${request.sourceReleaseVersion}: outcome unknown, an approver records it`;
  return request.state === "promoting"
    ? ` · :rocket: promoting v${request.sourceReleaseVersion}`
    : ` · :raising_hand: v${request.sourceReleaseVersion} awaiting approval (${user(request.requester)})`;
}

function line(snapshot: PipelineSnapshot): string {
  const p = snapshot.pipeline;
  if (snapshot.error) return `*${esc(p.name)}* — :warning: ${truncate(snapshot.error, 300, "…")}`;
  const lock = snapshot.lock
    ? ` · :lock: locked by ${user(snapshot.lock.lockedBy)}: ${esc(truncate(snapshot.lock.reason, 120, "…"))}`
    : "";
  return `${stagesLine(snapshot)}${activeText(snapshot.active)}${lock}`;
}

export function listMessage(snapshots: PipelineSnapshot[]): ChatMessage {
  if (snapshots.length === 0)
    return { text: "No pipelines are configured.", blocks: [section("No pipelines are configured.")] };
  const blocks = packSections(snapshots.map(line));
  return { text: fallback(`${plural(snapshots.length, "pipeline")}`), blocks: limitBlocks(blocks) };
}

function outcomeText(request: PromotionRequest): string {
  const targets = request.outcome?.targets.map((t) => `${esc(t.app.name)} ${t.status}`).join(", ");
  return `${request.state === "succeeded" ? ":white_check_mark:" : ":x:"} v${request.sourceReleaseVersion} ${request.state}${request.finishedAt ? ` ${when(request.finishedAt)}` : ""}${targets ? ` (${targets})` : ""}, asked by ${user(request.requester)}`;
}

export function statusMessage(snapshot: PipelineSnapshot, last: PromotionRequest | undefined): ChatMessage {
  const blocks: Block[] = [section(line(snapshot))];
  if (snapshot.behind && snapshot.behind.count > 0) {
    const lines = commitBullets(snapshot.behind, SHOWN_COMMITS);
    blocks.push(section(`*Waiting for ${esc(snapshot.pipeline.to)}:*\n${lines.join("\n")}`));
  }
  if (snapshot.drift !== undefined) {
    const drift = driftLines(snapshot.drift, snapshot.pipeline.drift, snapshot.pipeline.name);
    blocks.push(
      section(
        drift.length > 0
          ? drift.join("\n")
          : `:white_check_mark: No drift: ${esc(snapshot.pipeline.from)} and ${esc(snapshot.pipeline.to)} have the same config var names, buildpacks, stack, add-ons and generation.`,
      ),
    );
  }
  blocks.push(divider(), context(last ? `Last promotion: ${outcomeText(last)}` : "No promotion has finished yet."));
  return { text: fallback(`${snapshot.pipeline.name} status`), blocks: limitBlocks(blocks) };
}

function approversOf(audit: AuditEntry[]): string[] {
  return audit.filter((e) => e.event === "approved" && e.actor).map((e) => user(e.actor as string));
}

export function historyMessage(
  pipeline: string,
  entries: Array<{ request: PromotionRequest; audit: AuditEntry[] }>,
): ChatMessage {
  if (entries.length === 0) {
    return {
      text: `No promotions of ${pipeline} yet.`,
      blocks: [section(`No promotion of *${esc(pipeline)}* has been requested yet.`)],
    };
  }
  const lines = entries.map(({ request, audit }) => {
    const approved = approversOf(audit);
    const decided =
      request.state === "rejected" || request.state === "cancelled"
        ? ` · ${request.state} by ${request.decidedBy ? user(request.decidedBy) : "?"}`
        : "";
    const duration =
      request.finishedAt && request.promotionStartedAt
        ? ` · ${Math.max(0, Math.round((request.finishedAt.getTime() - request.promotionStartedAt.getTime()) / 1000))} s`
        : "";
    return `• ${when(request.createdAt)} v${request.sourceReleaseVersion}${request.commitSha ? ` ${code(shortSha(request.commitSha))}` : ""} — *${request.state}* · asked by ${user(request.requester)}${approved.length ? ` · approved by ${approved.join(", ")}` : ""}${decided}${duration}`;
  });
  const blocks: Block[] = [section(`*History of ${esc(pipeline)}* (newest first)`), ...packSections(lines)];
  return { text: fallback(`History of ${pipeline}`), blocks: limitBlocks(blocks) };
}
