/**
 * Text for Slack mrkdwn. User-controlled text (commit titles, author names, reasons) goes through
 * `escape` so it cannot ping a channel or forge a mention: Slack treats `<…>` as control sequences,
 * so `&`, `<`, `>` must be escaped. https://api.slack.com/reference/surfaces/formatting#escaping
 */
export function esc(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** Cuts text to at most `max` characters, marking the cut. Never splits an escape sequence. */
export function truncate(text: string, max: number, marker = "… (truncated)"): string {
  if (text.length <= max) return text;
  const mark = marker.length <= max ? marker : "";
  let cut = text.slice(0, Math.max(0, max - mark.length));
  // Never leave half an entity (&amp;) or half a surrogate pair (an emoji) behind.
  const amp = cut.lastIndexOf("&");
  if (amp !== -1 && !cut.slice(amp).includes(";")) cut = cut.slice(0, amp);
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return `${cut}${mark}`;
}

/** A link whose label is user-controlled. URLs come from Heroku/GitLab APIs, never from users. */
export function link(url: string | null | undefined, label: string): string {
  const safeLabel = esc(label).replaceAll("|", "¦");
  if (!url || !/^https?:\/\//.test(url)) return safeLabel;
  return `<${url.replaceAll(">", "%3E").replaceAll("|", "%7C")}|${safeLabel}>`;
}

export function user(id: string): string {
  return /^[UW][A-Z0-9]+$/.test(id) ? `<@${id}>` : esc(id);
}

export function userGroup(id: string): string {
  return /^S[A-Z0-9]+$/.test(id) ? `<!subteam^${id}>` : esc(id);
}

export function code(text: string): string {
  return `\`${esc(text).replaceAll("`", "'")}\``;
}

/** Slack's date formatting: shown in each reader's time zone, with a UTC fallback. */
export function when(date: Date): string {
  const seconds = Math.floor(date.getTime() / 1000);
  return `<!date^${seconds}^{date_short_pretty} {time}|${date.toISOString().replace("T", " ").slice(0, 16)} UTC>`;
}

export function plural(n: number, word: string, pluralWord = `${word}s`): string {
  return `${n} ${n === 1 ? word : pluralWord}`;
}

/**
 * Turns mrkdwn into plain text for a message's `text` fallback (shown in notifications): links keep
 * their label, mentions and other control sequences lose their power, formatting marks go.
 */
export function plain(mrkdwn: string): string {
  return mrkdwn
    .replaceAll(/<([^<>|]*)\|([^<>]*)>/g, "$2")
    .replaceAll(/<[@#][A-Z0-9]+>/g, "")
    .replaceAll(/<!subteam\^[A-Z0-9]+>/g, "")
    .replaceAll(/<!date\^[^|>]*\|([^>]*)>/g, "$1")
    .replaceAll(/<!([a-z]+)>/g, "$1")
    .replaceAll(/[<>]/g, "")
    .replaceAll(/[*_`]/g, "")
    .replaceAll("&lt;", "‹")
    .replaceAll("&gt;", "›")
    .replaceAll("&amp;", "&")
    .replaceAll(/ {2,}/g, " ")
    .trim();
}
