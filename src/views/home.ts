/** The App Home tab's blocks. */

import { ACTIONS } from "./action-ids.js";
import { actions, type Block, button, context, divider, section } from "./blocks.js";
import { overrideText, stagesLine } from "./message-parts.js";
import type { HomeEntry } from "./models.js";
import { esc, truncate, user, when } from "./mrkdwn.js";

/** Slack allows 100 blocks in a Home view. */
const MAX_HOME_BLOCKS = 100;

export function homeView(args: { entries: HomeEntry[]; notice: string | undefined; now: Date }): Block[] {
  const blocks: Block[] = [section("*promote-bot* — pipelines, pending requests and locks")];
  if (args.notice) blocks.push(section(`:information_source: ${args.notice}`));
  blocks.push(context(`Updated ${when(args.now)}. Type \`/promote help\` in any channel for the commands.`));
  for (const { snapshot, lock, pending, unknown, canDecide } of args.entries) {
    const pipelineConfig = snapshot.pipeline;
    blocks.push(divider());
    if (snapshot.error) {
      blocks.push(section(`*${esc(pipelineConfig.name)}* — :warning: ${truncate(snapshot.error, 500, "…")}`));
    } else {
      blocks.push(section(stagesLine(snapshot)));
    }
    if (lock) {
      blocks.push(context(`:lock: Locked by ${user(lock.lockedBy)} ${when(lock.lockedAt)}: ${esc(lock.reason)}`));
    }
    if (pending) {
      const what = pending.kind === "rollback" ? "Rollback" : "Promotion";
      blocks.push(
        section(
          `:raising_hand: ${what} of v${pending.sourceReleaseVersion} asked by ${user(pending.requester)} ${when(pending.createdAt)}; expires ${when(pending.expiresAt)}`,
        ),
      );
      const override = overrideText(pending);
      if (override) blocks.push(context(override));
      if (canDecide) {
        blocks.push(
          actions(`home-${pending.id}`, [
            button({ text: "Approve", actionId: ACTIONS.approve, value: pending.id, style: "primary" }),
            button({ text: "Reject", actionId: ACTIONS.reject, value: pending.id, style: "danger" }),
          ]),
        );
      }
    }
    if (unknown) {
      const what = unknown.kind === "rollback" ? "rollback" : "promotion";
      blocks.push(
        section(
          `:grey_question: The outcome of the ${what} of v${unknown.sourceReleaseVersion} is unknown; it holds *${esc(pipelineConfig.name)}* until an approver records what happened or tries again on its message in <#${unknown.channel}>.`,
        ),
      );
    }
    if (blocks.length >= MAX_HOME_BLOCKS - 6) {
      blocks.push(context("… more pipelines: `/promote list` shows them all."));
      break;
    }
  }
  return blocks.slice(0, MAX_HOME_BLOCKS);
}
