/** `/promote list`, `/promote status <pipeline>` and `/promote history <pipeline>` answers. */

import type { AuditEntry, ChatMessage } from "../domain/ports.js";
import { type PromotionRequest, shortSha } from "../domain/request.js";
import { type Block, context, divider, fallback, limitBlocks, section } from "./blocks.js";
import type { PipelineSnapshot, StageState } from "./models.js";
import { code, esc, link, plural, truncate, user, when } from "./mrkdwn.js";

const SHOWN_COMMITS = 10;

function stageText(s: StageState | null | undefined): string {
  if (!s) return "?";
  return `v${s.version ?? "?"}${s.commit ? ` ${code(shortSha(s.commit))}` : ""}`;
}

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
  const behind = s.behind
    ? ` · ${s.behind.count === 0 ? "up to date" : `${plural(s.behind.count, "commit")} behind`}`
    : "";
  const targets = s.targets.map((t) => stageText(t)).join(", ") || "no app";
  const lock = s.lock ? ` · :lock: locked by ${user(s.lock.lockedBy)}: ${esc(truncate(s.lock.reason, 120, "…"))}` : "";
  return `*${esc(p.name)}* — ${esc(p.from)} ${stageText(s.staging)} → ${esc(p.to)} ${targets}${behind}${activeText(s.active)}${lock}`;
}

export function listMessage(snapshots: PipelineSnapshot[]): ChatMessage {
  if (snapshots.length === 0)
    return { text: "No pipelines are configured.", blocks: [section("No pipelines are configured.")] };
  // Lines are packed into sections of at most ~2,800 characters (Slack allows 3,000 per section).
  const blocks: Block[] = [];
  let chunk: string[] = [];
  let size = 0;
  for (const text of snapshots.map(line)) {
    if (size + text.length > 2_800 && chunk.length > 0) {
      blocks.push(section(chunk.join("\n")));
      chunk = [];
      size = 0;
    }
    chunk.push(text);
    size += text.length + 1;
  }
  if (chunk.length > 0) blocks.push(section(chunk.join("\n")));
  return { text: fallback(`${plural(snapshots.length, "pipeline")}`), blocks: limitBlocks(blocks) };
}

function outcomeText(r: PromotionRequest): string {
  const targets = r.outcome?.targets.map((t) => `${esc(t.app.name)} ${t.status}`).join(", ");
  return `${r.state === "succeeded" ? ":white_check_mark:" : ":x:"} v${r.sourceReleaseVersion} ${r.state}${r.finishedAt ? ` ${when(r.finishedAt)}` : ""}${targets ? ` (${targets})` : ""}, asked by ${user(r.requester)}`;
}

export function statusMessage(s: PipelineSnapshot, last: PromotionRequest | undefined): ChatMessage {
  const blocks: Block[] = [section(line(s))];
  if (s.behind && s.behind.count > 0) {
    const commits = s.behind.commits.slice(-SHOWN_COMMITS).reverse();
    const lines = commits.map(
      (c) =>
        `• ${code(shortSha(c.sha))} ${esc(truncate(c.title, 120, "…"))} — _${esc(truncate(c.authorName, 40, "…"))}_`,
    );
    const more = s.behind.count - commits.length;
    if (more > 0) lines.push(`• ${link(s.behind.compareUrl, `and ${plural(more, "more commit")}`)}`);
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
  const blocks: Block[] = [section(`*History of ${esc(pipeline)}* (newest first)`)];
  let chunk: string[] = [];
  for (const l of lines) {
    if (chunk.join("\n").length + l.length > 2_800) {
      blocks.push(section(chunk.join("\n")));
      chunk = [];
    }
    chunk.push(l);
  }
  if (chunk.length) blocks.push(section(chunk.join("\n")));
  return { text: fallback(`History of ${pipeline}`), blocks: limitBlocks(blocks) };
}
