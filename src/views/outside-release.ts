/** Messages about production changes the bot did not make (seen through Heroku's release events). */
import type { ChatMessage } from "../domain/ports.js";
import { shortSha } from "../domain/request.js";
import { context, section } from "./blocks.js";
import { message } from "./message-parts.js";
import { code, esc, link } from "./mrkdwn.js";

export interface OutsideChange {
  appName: string;
  version: number;
  /** Who made it, when Heroku says (an email). */
  madeBy: string | null;
  description: string;
  commit: string | null;
  /** When Heroku made it (ISO). */
  at: string;
}

const activity = (appName: string) => `https://dashboard.heroku.com/apps/${encodeURIComponent(appName)}/activity`;

export function outsideReleaseMessage(args: { pipeline: string; change: OutsideChange }): ChatMessage {
  const { change } = args;
  const by = change.madeBy ? ` by ${esc(change.madeBy)}` : "";
  const commit = change.commit ? `, commit ${code(shortSha(change.commit))}` : "";
  return message(`${args.pipeline}: ${change.appName} changed outside promote-bot (now v${change.version})`, [
    section(
      `:eyes: *${esc(args.pipeline)}*: ${esc(change.appName)} now runs v${change.version}${commit}, released${by} outside promote-bot.`,
    ),
    context(
      [
        change.description ? `Heroku says: ${esc(change.description.slice(0, 300))}` : null,
        `<!date^${Math.floor(Date.parse(change.at) / 1000)}^{date_short_pretty} {time}|${esc(change.at)}>`,
        link(activity(change.appName), "Heroku activity"),
      ]
        .filter(Boolean)
        .join(" · "),
    ),
  ]);
}

/** The line a pending request's message carries once production changed under it. */
export function productionChangedNotice(changes: OutsideChange[]): string {
  const what = changes
    .map((c) => `${esc(c.appName)} now runs v${c.version}${c.madeBy ? ` (released by ${esc(c.madeBy)})` : ""}`)
    .join("; ");
  return `:warning: *Production changed since this request was made:* ${what}. Approving will not overwrite that change: the bot checks production before promoting and refuses. Cancel this request and ask again with the release you want.`;
}
