/**
 * Pieces the messages are built from: the message itself, commit and target lines, the commits
 * behind, a pipeline's stages on one line, section packing, approvers, overrides.
 */
import { type OverriddenGate, overriddenGates } from "../domain/gate.js";
import type { ChatMessage } from "../domain/ports.js";
import { type PromotionRequest, shortSha } from "../domain/request.js";
import { type Block, fallback, limitBlocks, section } from "./blocks.js";
import type { BehindView, PipelineView, TargetView } from "./models.js";
import { code, esc, link, plural, truncate, user, userGroup, when } from "./mrkdwn.js";

/** Commits a staging-ready or request message lists (`/promote status` lists more). */
export const SHOWN_COMMITS = 5;

export function message(text: string, blocks: Block[]): ChatMessage {
  return { text: fallback(text), blocks: limitBlocks(blocks) };
}

export function commitLine(sha: string, title: string | null, author: string | null, url?: string | null): string {
  const head = url ? link(url, shortSha(sha)) : code(shortSha(sha));
  // Long titles are cut so the lines after them (targets, CI, commits behind) stay within the section.
  const rest = [title ? esc(truncate(title, 150, "…")) : null, author ? `_${esc(truncate(author, 60, "…"))}_` : null]
    .filter(Boolean)
    .join(" · ");
  return rest ? `${head} ${rest}` : head;
}

export function targetsLine(to: string, targets: TargetView[]): string {
  if (targets.length === 0) return `*${esc(to)}:* no app`;
  const parts = targets.map((t) => {
    const version = t.releaseVersion !== null ? `v${t.releaseVersion}` : "no release";
    const commit = t.commit ? ` (${code(shortSha(t.commit))})` : "";
    return `${esc(t.app.name)} ${version}${commit}`;
  });
  return `*${esc(to)} runs:* ${parts.join(", ")}`;
}

/** The newest `shown` commits of `behind`, newest first, and a link to the rest. */
export function commitBullets(behind: BehindView, shown: number): string[] {
  const commits = behind.commits.slice(-shown).reverse();
  const lines = commits.map((c) => `• ${commitLine(c.sha, c.title, c.authorName)}`);
  const more = behind.count - commits.length;
  if (more > 0) lines.push(`• ${link(behind.compareUrl, `and ${plural(more, "more commit")}`)}`);
  return lines;
}

export function behindLines(behind: BehindView | null, to: string): string[] {
  if (!behind) return [];
  if (behind.count === 0) return [`*${esc(to)} is not behind.*`];
  return [
    `*${esc(to)} is ${plural(behind.count, "commit")} behind* (${link(behind.compareUrl, "compare")}):`,
    ...commitBullets(behind, SHOWN_COMMITS),
  ];
}

/** What one stage's app runs, short: "v12 `abc1234`" ("?" when it could not be read). */
export function stageText(stage: { version: number | null; commit: string | null } | null | undefined): string {
  if (!stage) return "?";
  return `v${stage.version ?? "?"}${stage.commit ? ` ${code(shortSha(stage.commit))}` : ""}`;
}

/** A pipeline on one line: "*whitewave* — staging v12 → production v11 · 3 commits behind". */
export function stagesLine(snapshot: {
  pipeline: { name: string; from: string; to: string };
  staging: { version: number | null; commit: string | null } | null;
  targets: Array<{ version: number | null; commit: string | null }>;
  behind: { count: number } | null;
}): string {
  const { pipeline, behind } = snapshot;
  const targets = snapshot.targets.map(stageText).join(", ") || "no app";
  const summary = behind ? ` · ${behind.count === 0 ? "up to date" : `${plural(behind.count, "commit")} behind`}` : "";
  return `*${esc(pipeline.name)}* — ${esc(pipeline.from)} ${stageText(snapshot.staging)} → ${esc(pipeline.to)} ${targets}${summary}`;
}

/** Lines packed into as few sections as fit Slack's 3,000 characters a section (with a margin). */
export function packSections(lines: string[], max = 2_800): Block[] {
  const blocks: Block[] = [];
  let chunk: string[] = [];
  let size = 0;
  for (const text of lines) {
    if (size + text.length > max && chunk.length > 0) {
      blocks.push(section(chunk.join("\n")));
      chunk = [];
      size = 0;
    }
    chunk.push(text);
    size += text.length + 1;
  }
  if (chunk.length > 0) blocks.push(section(chunk.join("\n")));
  return blocks;
}

export function approversText(p: Pick<PipelineView, "approverUsers" | "approverGroups">): string {
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
