/** `/promote list`, `/promote status <pipeline>` and `/promote history <pipeline>` answers. */

import type { AuditEntry, ChatMessage } from "../domain/ports.js";
import { type PromotionRequest, shortSha } from "../domain/request.js";
import { type Block, context, divider, fallback, limitBlocks, section } from "./blocks.js";
import { commitBullets, packSections, stagesLine } from "./message-parts.js";
import type { PipelineSnapshot } from "./models.js";
import { code, esc, plural, truncate, user, when } from "./mrkdwn.js";

/** Commits listed by `/promote status` (the staging-ready message lists fewer). */
const SHOWN_COMMITS = 10;

function activeText(r: PromotionRequest | undefined): string {
  if (!r) return "";
  if (r.state === "unknown")
    return ` · :grey_question: v${r.sourceReleaseVersion}: outcome unknown, an approver records it`;
  return r.state === "promoting"
    ? ` · :rocket: promoting v${r.sourceReleaseVersion}`
    : ` · :raising_hand: v${r.sourceReleaseVersion} awaiting approval (${user(r.requester)})`;
}

function line(s: PipelineSnapshot): string {
  const p = s.pipeline;
  if (s.error) return `*${esc(p.name)}* — :warning: ${truncate(s.error, 300, "…")}`;
  const lock = s.lock ? ` · :lock: locked by ${user(s.lock.lockedBy)}: ${esc(truncate(s.lock.reason, 120, "…"))}` : "";
  return `${stagesLine(s)}${activeText(s.active)}${lock}`;
}

export function listMessage(snapshots: PipelineSnapshot[]): ChatMessage {
  if (snapshots.length === 0)
    return { text: "No pipelines are configured.", blocks: [section("No pipelines are configured.")] };
  const blocks = packSections(snapshots.map(line));
  return { text: fallback(`${plural(snapshots.length, "pipeline")}`), blocks: limitBlocks(blocks) };
}

function outcomeText(r: PromotionRequest): string {
  const targets = r.outcome?.targets.map((t) => `${esc(t.app.name)} ${t.status}`).join(", ");
  return `${r.state === "succeeded" ? ":white_check_mark:" : ":x:"} v${r.sourceReleaseVersion} ${r.state}${r.finishedAt ? ` ${when(r.finishedAt)}` : ""}${targets ? ` (${targets})` : ""}, asked by ${user(r.requester)}`;
}

export function statusMessage(s: PipelineSnapshot, last: PromotionRequest | undefined): ChatMessage {
  const blocks: Block[] = [section(line(s))];
  if (s.behind && s.behind.count > 0) {
    const lines = commitBullets(s.behind, SHOWN_COMMITS);
    blocks.push(section(`*Waiting for ${esc(s.pipeline.to)}:*\n${lines.join("\n")}`));
  }
  blocks.push(divider(), context(last ? `Last promotion: ${outcomeText(last)}` : "No promotion has finished yet."));
  return { text: fallback(`${s.pipeline.name} status`), blocks: limitBlocks(blocks) };
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
  const lines = entries.map(({ request: r, audit }) => {
    const approved = approversOf(audit);
    const decided =
      r.state === "rejected" || r.state === "cancelled"
        ? ` · ${r.state} by ${r.decidedBy ? user(r.decidedBy) : "?"}`
        : "";
    const duration =
      r.finishedAt && r.promotionStartedAt
        ? ` · ${Math.max(0, Math.round((r.finishedAt.getTime() - r.promotionStartedAt.getTime()) / 1000))} s`
        : "";
    return `• ${when(r.createdAt)} v${r.sourceReleaseVersion} ${code(shortSha(r.commitSha))} — *${r.state}* · asked by ${user(r.requester)}${approved.length ? ` · approved by ${approved.join(", ")}` : ""}${decided}${duration}`;
  });
  const blocks: Block[] = [section(`*History of ${esc(pipeline)}* (newest first)`), ...packSections(lines)];
  return { text: fallback(`History of ${pipeline}`), blocks: limitBlocks(blocks) };
}
