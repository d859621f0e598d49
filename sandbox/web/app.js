/**
 * The sandbox's browser side: one Slack channel drawn from the bot's real Block Kit JSON, a composer
 * for slash commands, the app's Home tab, and a panel that drives the simulated world. No framework and no build step:
 * the server streams the whole State over Server-Sent Events and every change re-renders from it.
 *
 * Loaded as a module, so it runs in strict mode without a "use strict" directive (biome flags one as redundant).
 *
 * Sections: mrkdwn (text to safe HTML) · Block Kit (blocks to DOM) · keyed re-rendering · channel
 * timeline · Home tab · tabs · composer · world panel · connection. Only mrkdwn() and plainText() produce HTML strings, and they escape
 * every character of input they emit; everything else is built with DOM nodes and textContent.
 */

// ================================================================== helpers

const $ = (selector) => document.querySelector(selector);

/** `el("div", { class: "x", text: "hi" }, child…)`. `html` must come from mrkdwn()/plainText(). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name === "html") node.innerHTML = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) node.append(child);
  return node;
}

const pad = (n) => String(n).padStart(2, "0");
const hhmm = (date) => `${pad(date.getHours())}:${pad(date.getMinutes())}`;
const hhmmss = (date) => `${hhmm(date)}:${pad(date.getSeconds())}`;

/** Links may only leave for the web or mail: never `javascript:` or `data:`. */
const isSafeUrl = (url) => /^(https?:\/\/|mailto:)/i.test(url);

// ================================================================== mrkdwn
// Slack's mrkdwn to safe HTML (https://api.slack.com/reference/surfaces/formatting). The input is
// Slack-escaped (`&amp;` `&lt;` `&gt;` stand for literal characters) and a raw `<…>` is a control
// sequence: link, mention, date. Per line: control sequences and `code` spans are swapped for
// placeholders (so their insides are not formatted), the rest is HTML-escaped, emoji and
// *bold* _italic_ ~strike~ are applied, and the placeholders are put back. ```pre``` blocks and
// `>` quote lines are handled around that. Exposed as window.sandboxMrkdwn(text, context?).

const EMOJI = {
  x: "❌",
  white_check_mark: "✅",
  warning: "⚠️",
  lock: "🔒",
  unlock: "🔓",
  rotating_light: "🚨",
  raising_hand: "🙋",
  test_tube: "🧪",
  rocket: "🚀",
  hourglass: "⌛",
  hourglass_flowing_sand: "⏳",
  zzz: "💤",
  tada: "🎉",
  no_entry: "⛔",
  information_source: "ℹ️",
  heavy_multiplication_x: "✖️",
  fast_forward: "⏩",
  heavy_check_mark: "✔️",
  eyes: "👀",
  arrow_right: "➡️",
  construction: "🚧",
  package: "📦",
  clock1: "🕐",
  red_circle: "🔴",
  large_green_circle: "🟢",
  white_circle: "⚪",
  bust_in_silhouette: "👤",
  memo: "📝",
  link: "🔗",
  calendar: "📅",
  stopwatch: "⏱️",
  repeat: "🔁",
  leftwards_arrow_with_hook: "↩️",
  arrows_counterclockwise: "🔄",
};

const HTML_ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
/** Slack's three escapes back to characters; `&amp;` last so `&amp;lt;` stays the text "&lt;". */
const unslack = (s) => s.replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&");
/** A piece of Slack-escaped text as HTML. */
const textHtml = (s) => escapeHtml(unslack(s));
const emojify = (html) => html.replace(/:([a-z0-9_+-]+):/g, (code, name) => EMOJI[name] ?? code);

// Placeholders use private-use characters, which are removed from the input first.
const HOLD_OPEN = "\uE000";
const HOLD_CLOSE = "\uE001";
const HOLD_RE = /\uE000(\d+)\uE001/g;

// A marker only opens after a non-word character and closes before one, as in Slack: `snake_case`
// and `2 * 3 * 4` stay as they are. The content neither starts nor ends with a space.
const STYLES = [
  ["*", "b"],
  ["_", "i"],
  ["~", "s"],
].map(([mark, tag]) => {
  const m = mark === "*" ? "\\*" : mark; // only * needs escaping (\_ and \~ are errors with the u flag)
  const re = new RegExp(
    `(^|[^\\p{L}\\p{N}${m}])${m}([^${m}\\s](?:[^${m}]*[^${m}\\s])?)${m}(?![\\p{L}\\p{N}${m}])`,
    "gu",
  );
  return [re, tag];
});

const MONTHS = "January February March April May June July August September October November December".split(" ");
const WEEKDAYS = "Sunday Monday Tuesday Wednesday Thursday Friday Saturday".split(" ");

function ordinal(n) {
  const teen = n % 100 >= 11 && n % 100 <= 13;
  return `${n}${teen ? "th" : ({ 1: "st", 2: "nd", 3: "rd" }[n % 10] ?? "th")}`;
}

/** "today" / "yesterday" / "tomorrow" when the date is one of those, local time. */
function relativeDay(date) {
  const day = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const diff = Math.round((day(date) - day(new Date())) / 86_400_000);
  return { "-1": "yesterday", 0: "today", 1: "tomorrow" }[diff] ?? null;
}

// https://api.slack.com/reference/surfaces/formatting#date-formatting (English, like Slack's examples).
const DATE_TOKENS = {
  date_num: (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`,
  date: (d) => `${MONTHS[d.getMonth()]} ${ordinal(d.getDate())}, ${d.getFullYear()}`,
  date_short: (d) => `${MONTHS[d.getMonth()].slice(0, 3)} ${d.getDate()}, ${d.getFullYear()}`,
  date_long: (d) => `${WEEKDAYS[d.getDay()]}, ${DATE_TOKENS.date(d)}`,
  date_pretty: (d) => relativeDay(d) ?? DATE_TOKENS.date(d),
  date_short_pretty: (d) => relativeDay(d) ?? DATE_TOKENS.date_short(d),
  date_long_pretty: (d) => relativeDay(d) ?? DATE_TOKENS.date_long(d),
  time: hhmm,
  time_secs: hhmmss,
};

/** `!date^1764254000^{date_short_pretty} at {time}^optional_link|fallback` */
function dateHtml(body) {
  const bar = body.indexOf("|");
  const spec = bar === -1 ? body : body.slice(0, bar);
  const fallback = bar === -1 ? "" : body.slice(bar + 1);
  const [, seconds = "", format = "", link = ""] = spec.split("^");
  if (!/^\d+$/.test(seconds) || format === "") return textHtml(fallback);
  const date = new Date(Number(seconds) * 1000);
  let known = true;
  const shown = unslack(format).replace(/\{(\w+)\}/g, (token, name) => {
    const render = DATE_TOKENS[name];
    if (!render) known = false;
    return render ? render(date) : token;
  });
  if (!known && fallback) return textHtml(fallback);
  const time = `<time datetime="${escapeHtml(date.toISOString())}" title="${textHtml(fallback)}">${escapeHtml(shown)}</time>`;
  const url = unslack(link);
  return isSafeUrl(url) ? `<a href="${escapeHtml(url)}" target="_blank" rel="noopener noreferrer">${time}</a>` : time;
}

/** One `<…>` control sequence (its inside, Slack-escaped) as HTML. */
function controlHtml(body, ctx) {
  const bar = body.indexOf("|");
  const target = bar === -1 ? body : body.slice(0, bar);
  const label = bar === -1 ? null : body.slice(bar + 1);
  const chip = (kind, shown) => `<span class="mention ${kind}">${shown}</span>`;

  if (target.startsWith("@")) {
    const user = ctx.users.find((u) => u.id === target.slice(1));
    return chip("user", `@${user ? escapeHtml(user.name) : textHtml(label ?? target.slice(1))}`);
  }
  if (target.startsWith("#")) {
    const id = target.slice(1);
    const name = ctx.channel?.id === id ? escapeHtml(ctx.channel.name) : textHtml(label ?? id);
    return chip("channel", `#${name}`);
  }
  if (target.startsWith("!subteam^")) {
    const group = ctx.groups.find((g) => g.id === target.slice("!subteam^".length));
    const handle = group ? escapeHtml(group.handle) : textHtml((label ?? target.slice(9)).replace(/^@/, ""));
    return chip("group", `@${handle}`);
  }
  if (target === "!here" || target === "!channel" || target === "!everyone") {
    return chip("broadcast", `@${target.slice(1)}`);
  }
  if (target.startsWith("!date^")) return dateHtml(body);
  const url = unslack(target);
  if (isSafeUrl(url)) {
    return `<a href="${escapeHtml(url)}" target="_blank" rel="noopener noreferrer">${textHtml(label ?? target)}</a>`;
  }
  return textHtml(label ?? target);
}

/** One line (or, with `pre`, a whole preformatted block) of mrkdwn as HTML. */
function inlineHtml(line, ctx, pre = false) {
  const held = [];
  const hold = (html) => `${HOLD_OPEN}${held.push(html) - 1}${HOLD_CLOSE}`;
  let s = line.replace(/<([^<>\n]+)>/g, (_, body) => hold(controlHtml(body, ctx)));
  if (pre) {
    s = textHtml(s);
  } else {
    s = s.replace(/`([^`\n]+)`/g, (_, code) => hold(`<code>${textHtml(code)}</code>`));
    s = emojify(textHtml(s));
    for (const [re, tag] of STYLES) s = s.replace(re, (_, before, inner) => `${before}<${tag}>${inner}</${tag}>`);
  }
  const restore = (html) => html.replace(HOLD_RE, (_, i) => restore(held[Number(i)] ?? ""));
  return restore(s);
}

/** Lines of mrkdwn, consecutive `>` lines grouped into one blockquote. */
function linesHtml(text, ctx) {
  const groups = [];
  for (const line of text.split("\n")) {
    const quoted = /^(?:&gt;|>) ?(.*)$/.exec(line);
    const html = inlineHtml(quoted ? quoted[1] : line, ctx);
    const last = groups.at(-1);
    if (last && last.quote === Boolean(quoted)) last.lines.push(html);
    else groups.push({ quote: Boolean(quoted), lines: [html] });
  }
  return groups
    .map((g) => (g.quote ? `<blockquote>${g.lines.join("<br>")}</blockquote>` : g.lines.join("<br>")))
    .join("");
}

/**
 * Slack mrkdwn to HTML that is safe for innerHTML. `ctx` names users, groups and the channel for
 * mentions; it defaults to the ones in the latest State.
 */
function mrkdwn(text, ctx = mentionContext()) {
  const input = String(text ?? "").replace(/[\uE000\uE001]/g, "");
  const parts = input.split("```");
  const html = [];
  for (let i = 0; i < parts.length; i++) {
    let part = parts[i];
    const isPre = i % 2 === 1 && i < parts.length - 1; // an unclosed ``` stays as text
    if (isPre) {
      html.push(`<pre>${inlineHtml(part.replace(/^\n/, "").replace(/\n$/, ""), ctx, true)}</pre>`);
      continue;
    }
    if (i % 2 === 1) part = `\`\`\`${part}`;
    // A <pre> is a block of its own: the line break next to it would be an empty line.
    if (i > 0) part = part.replace(/^\n/, "");
    if (i < parts.length - 1) part = part.replace(/\n$/, "");
    html.push(linesHtml(part, ctx));
  }
  return html.join("");
}

/** A plain_text object's text as HTML: literal, with emoji codes unless `emoji: false`. */
function plainText(text, emoji = true) {
  const html = escapeHtml(String(text ?? ""));
  return emoji ? emojify(html) : html;
}

window.sandboxMrkdwn = (text, ctx) => mrkdwn(text, { ...mentionContext(), ...ctx });

// ================================================================== state shared by the sections

const DEFAULT_USER = "U0REQUESTER"; // rita, the sandbox's requester; the server's `me` wins if it differs
let me = new URLSearchParams(location.search).get("user") || DEFAULT_USER;
let lastState = null;

function mentionContext() {
  return {
    users: lastState?.users ?? [],
    groups: lastState?.groups ?? [],
    channel: lastState?.channel ?? null,
  };
}

async function post(path, body) {
  try {
    const response = await fetch(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => null);
    if (data && typeof data.ok === "boolean") return data;
    return { ok: false, error: `The sandbox server answered HTTP ${response.status} without a result.` };
  } catch {
    return { ok: false, error: "Could not reach the sandbox server. Is it still running?" };
  }
}

// ================================================================== Block Kit

const BOT_AVATAR =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 3.5 19.5 12H15v8.5H9V12H4.5z" fill="#fff"/></svg>';
const EYE_ICON =
  '<svg viewBox="0 0 20 20" aria-hidden="true"><path fill="currentColor" d="M10 4C5.6 4 2.4 7.3 1 10c1.4 2.7 4.6 6 9 6s7.6-3.3 9-6c-1.4-2.7-4.6-6-9-6Zm0 10a4 4 0 1 1 0-8 4 4 0 0 1 0 8Zm0-6.2a2.2 2.2 0 1 0 0 4.4 2.2 2.2 0 0 0 0-4.4Z"/></svg>';

const unsupported = (what, type) => el("div", { class: "unsupported", text: `[unsupported ${what}: ${type}]` });

/** A text object (mrkdwn or plain_text) as an element. */
function textObject(obj, className) {
  if (!obj || typeof obj.text !== "string") return el("div", { class: className });
  const html = obj.type === "mrkdwn" ? mrkdwn(obj.text) : plainText(obj.text, obj.emoji !== false);
  return el("div", { class: `${className} ${obj.type === "mrkdwn" ? "mrkdwn" : "plain"}`, html });
}

function imageElement(image, className) {
  const url = String(image.image_url ?? "");
  const alt = String(image.alt_text ?? "");
  // Relative URLs are the sandbox's own files; anything else must be http(s).
  if (!isSafeUrl(url) && !url.startsWith("/")) return el("span", { class: `${className} missing`, text: alt });
  const img = el("img", { class: className, src: url, alt, title: alt, loading: "lazy" });
  img.addEventListener("error", () => img.replaceWith(el("span", { class: `${className} missing`, text: alt })));
  return img;
}

/** Buttons clicked in the last second, so a re-render does not re-enable them early. */
const sentButtons = new Map(); // key -> time it may be clicked again
const SENT_MS = 1000;

/**
 * `owner` is what the button belongs to: `key` names it for errors and double-click guards, and
 * `target` holds the fields that tell the server where the click came from (`{ ts }`,
 * `{ ephemeralId }` or `{ view: "home" }`).
 */
function buttonElement(button, owner) {
  const style = button.style === "primary" || button.style === "danger" ? ` ${button.style}` : "";
  const key = `${owner.key}|${button.action_id ?? ""}|${button.value ?? ""}`;
  const node = el("button", {
    type: "button",
    class: `block-button${style}`,
    "data-action-id": button.action_id ?? "",
    html: plainText(button.text?.text ?? "", button.text?.emoji !== false),
  });
  node.dataset.sentKey = key;
  if (button.url) node.append(el("span", { class: "external", "aria-hidden": "true", text: " ↗" }));
  const until = sentButtons.get(key) ?? 0;
  if (until > Date.now()) node.disabled = true;
  node.addEventListener("click", () => clickButton(node, button, owner, key));
  return node;
}

async function clickButton(node, button, owner, key) {
  if (button.url) {
    // A link button only opens its URL here (Slack would also send an action nobody listens to).
    if (isSafeUrl(button.url)) window.open(button.url, "_blank", "noopener,noreferrer");
    return;
  }
  if (button.confirm && !(await askConfirm(button.confirm))) return;
  markSent(node, key);
  const answer = await post("/api/action", {
    user: me,
    ...owner.target,
    actionId: button.action_id ?? "",
    value: button.value ?? "",
  });
  setInlineError(owner.key, answer.ok ? null : (answer.error ?? "The action failed."));
}

function markSent(node, key) {
  sentButtons.set(key, Date.now() + SENT_MS);
  node.disabled = true;
  setTimeout(() => {
    sentButtons.delete(key);
    for (const b of document.querySelectorAll(".block-button")) if (b.dataset.sentKey === key) b.disabled = false;
  }, SENT_MS);
}

function askConfirm(confirm) {
  const dialog = $("#confirm");
  if (dialog.open) return Promise.resolve(false);
  $("#confirm-title").innerHTML = plainText(confirm.title?.text ?? "Are you sure?");
  const text = confirm.text ?? { type: "plain_text", text: "" };
  $("#confirm-text").innerHTML = text.type === "mrkdwn" ? mrkdwn(text.text) : plainText(text.text);
  $("#confirm-ok").innerHTML = plainText(confirm.confirm?.text ?? "Yes");
  $("#confirm-cancel").innerHTML = plainText(confirm.deny?.text ?? "Cancel");
  $("#confirm-ok").classList.toggle("danger", confirm.style === "danger");
  $("#confirm-ok").classList.toggle("primary", confirm.style !== "danger");
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
  });
}

function sectionBlock(block, owner) {
  const node = el("div", { class: "block block-section" });
  const main = el("div", { class: "section-main" });
  if (block.text) main.append(textObject(block.text, "section-text"));
  if (Array.isArray(block.fields) && block.fields.length > 0) {
    main.append(el("div", { class: "section-fields" }, ...block.fields.map((f) => textObject(f, "section-field"))));
  }
  node.append(main);
  const accessory = block.accessory;
  if (accessory) {
    const side = el("div", { class: "section-accessory" });
    if (accessory.type === "button") side.append(buttonElement(accessory, owner));
    else if (accessory.type === "image") side.append(imageElement(accessory, "accessory-image"));
    else side.append(unsupported("element", accessory.type));
    node.append(side);
  }
  return node;
}

function contextBlock(block) {
  const parts = (block.elements ?? []).map((e) => {
    if (e.type === "image") return imageElement(e, "context-image");
    if (e.type === "mrkdwn" || e.type === "plain_text") return textObject(e, "context-text");
    return unsupported("element", e.type);
  });
  return el("div", { class: "block block-context" }, ...parts);
}

function actionsBlock(block, owner) {
  const parts = (block.elements ?? []).map((e) =>
    e.type === "button" ? buttonElement(e, owner) : unsupported("element", e.type),
  );
  return el("div", { class: "block block-actions" }, ...parts);
}

function renderBlock(block, owner) {
  switch (block?.type) {
    case "section":
      return sectionBlock(block, owner);
    case "context":
      return contextBlock(block);
    case "divider":
      return el("hr", { class: "block block-divider" });
    case "header":
      return el("div", { class: "block block-header", html: plainText(block.text?.text ?? "", true) });
    case "actions":
      return actionsBlock(block, owner);
    case "image":
      return el("div", { class: "block block-image" }, imageElement(block, "image"));
    default:
      return unsupported("block", block?.type ?? "unknown");
  }
}

// ================================================================== keyed re-rendering

/**
 * Re-renders only what changed, so hover, focus and images survive the stream of updates. `items`
 * are { key, sig, build } in display order; they go into `parent` after `anchor` (or first when it
 * is null). `rendered` maps key -> { sig, node } from the last call; the new map is returned.
 */
function reconcile(parent, anchor, items, rendered) {
  const next = new Map();
  let previous = anchor;
  for (const item of items) {
    let entry = rendered.get(item.key);
    if (!entry || entry.sig !== item.sig) {
      entry?.node.remove();
      entry = { sig: item.sig, node: item.build() };
      entry.node.dataset.key = item.key;
    }
    next.set(item.key, entry);
    if (previous === null) {
      if (parent.firstChild !== entry.node) parent.prepend(entry.node);
    } else if (previous.nextSibling !== entry.node) {
      previous.after(entry.node);
    }
    previous = entry.node;
  }
  for (const [key, entry] of rendered) if (!next.has(key)) entry.node.remove();
  return next;
}

// ================================================================== channel timeline

/**
 * Errors shown where they happened until dismissed: under the message a click came from, or at the
 * top of the Home view (key HOME_KEY) for its clicks and for opening it.
 */
const inlineErrors = new Map(); // owner key -> text

function setInlineError(key, text) {
  if (text) inlineErrors.set(key, text);
  else if (!inlineErrors.delete(key)) return;
  if (!lastState) return;
  if (key === HOME_KEY) renderHome(lastState);
  else renderChannel(lastState);
}

/** One message: a top-level message, a thread reply or an ephemeral. */
function messageNode(msg, { reply = false, ephemeral = false } = {}) {
  const owner = ephemeral
    ? { key: `e:${msg.id}`, target: { ephemeralId: msg.id } }
    : { key: `m:${msg.ts}`, target: { ts: msg.ts } };
  const classes = ["message", reply && "reply", ephemeral && "ephemeral"].filter(Boolean).join(" ");
  const node = el("div", {
    class: classes,
    "data-ts": ephemeral ? undefined : msg.ts,
    "data-ephemeral-id": ephemeral ? msg.id : undefined,
  });

  const at = new Date(msg.at);
  if (ephemeral) node.append(el("div", { class: "ephemeral-caption", html: EYE_ICON }, "Only visible to you"));
  node.append(el("div", { class: "avatar", html: BOT_AVATAR }));
  const body = el(
    "div",
    { class: "message-body" },
    el(
      "div",
      { class: "message-meta" },
      el("span", { class: "sender", text: "promote-bot" }),
      el("span", { class: "app-badge", text: "APP" }),
      el("time", { class: "message-time", datetime: at.toISOString(), title: at.toLocaleString(), text: hhmm(at) }),
    ),
  );

  const content = el("div", { class: "message-content" });
  const blocks = Array.isArray(msg.blocks) ? msg.blocks : [];
  if (blocks.length > 0) for (const block of blocks) content.append(renderBlock(block, owner));
  else content.append(el("div", { class: "message-text mrkdwn", html: mrkdwn(msg.text ?? "") }));
  body.append(content);

  if (msg.edited) {
    const marker = el("span", { class: "edited", text: "(edited)" });
    // Slack puts the marker right after the text when the message ends with text.
    const last = content.lastElementChild;
    const textEnd = last?.matches(".block-section") ? last.querySelector(".section-text") : last;
    if (textEnd?.matches(".mrkdwn, .plain") && !textEnd.lastElementChild?.matches("pre, blockquote")) {
      textEnd.append(" ", marker);
    } else {
      body.append(el("div", {}, marker));
    }
  }

  const error = inlineErrors.get(owner.key);
  if (error) {
    const dismiss = el("button", { type: "button", class: "dismiss", "aria-label": "Dismiss the error", text: "×" });
    dismiss.addEventListener("click", () => setInlineError(owner.key, null));
    body.append(el("div", { class: "message-error", role: "alert" }, el("span", { text: error }), dismiss));
  }
  node.append(body);
  return node;
}

function threadNode(message, threadEphemerals) {
  const entries = [
    ...(message.replies ?? []).map((r) => ({ at: r.at, node: () => messageNode(r, { reply: true }) })),
    ...threadEphemerals.map((e) => ({ at: e.at, node: () => messageNode(e, { reply: true, ephemeral: true }) })),
  ].sort((a, b) => a.at - b.at);
  const count = message.replies?.length ?? 0;
  const last = message.replies?.at(-1);
  const summary = el(
    "div",
    { class: "thread-summary" },
    el("span", { class: "thread-count", text: `${count} ${count === 1 ? "reply" : "replies"}` }),
    last ? el("span", { class: "thread-last", text: `Last reply at ${hhmm(new Date(last.at))}` }) : null,
  );
  return el("div", { class: "thread" }, count > 0 ? summary : null, ...entries.map((e) => e.node()));
}

function dayLabel(date) {
  const relative = relativeDay(date);
  if (relative) return relative[0].toUpperCase() + relative.slice(1);
  return `${WEEKDAYS[date.getDay()]}, ${MONTHS[date.getMonth()]} ${ordinal(date.getDate())}`;
}

/**
 * The channel as a list of { key, sig, build }: day dividers, top-level messages (with their
 * thread replies and thread ephemerals) and top-level ephemerals, merged by time.
 */
function timeline(state) {
  const messages = state.messages ?? [];
  const byTs = new Set(messages.map((m) => m.ts));
  const inThread = new Map();
  const items = messages.map((m) => ({ at: m.at, message: m }));
  for (const e of state.ephemerals ?? []) {
    if (e.threadTs && byTs.has(e.threadTs)) {
      inThread.set(e.threadTs, [...(inThread.get(e.threadTs) ?? []), e]);
    } else {
      items.push({ at: e.at, ephemeral: e });
    }
  }
  items.sort((a, b) => a.at - b.at); // stable: a message stays before an ephemeral of the same time

  const ctxSig = JSON.stringify(mentionContext());
  const out = [];
  let day = "";
  for (const item of items) {
    const date = new Date(item.at);
    const thisDay = DATE_TOKENS.date_num(date);
    if (thisDay !== day) {
      day = thisDay;
      const label = dayLabel(date);
      out.push({ key: `d:${thisDay}`, sig: label, build: () => dayDivider(label) });
    }
    if (item.message) {
      const m = item.message;
      const eph = inThread.get(m.ts) ?? [];
      const keys = [`m:${m.ts}`, ...(m.replies ?? []).map((r) => `m:${r.ts}`), ...eph.map((e) => `e:${e.id}`)];
      const sig = JSON.stringify([m, eph, keys.map((k) => inlineErrors.get(k) ?? ""), ctxSig]);
      out.push({
        key: `m:${m.ts}`,
        sig,
        build: () =>
          el(
            "div",
            { class: "message-group" },
            messageNode(m),
            (m.replies?.length ?? 0) + eph.length > 0 ? threadNode(m, eph) : null,
          ),
      });
    } else {
      const e = item.ephemeral;
      const key = `e:${e.id}`;
      const sig = JSON.stringify([e, inlineErrors.get(key) ?? "", ctxSig]);
      out.push({
        key,
        sig,
        build: () => el("div", { class: "message-group" }, messageNode(e, { ephemeral: true })),
      });
    }
  }
  return out;
}

function dayDivider(label) {
  return el("div", { class: "day-divider", role: "separator" }, el("span", { text: label }));
}

let rendered = new Map(); // key -> { sig, node }
let scrollToEnd = true;

function renderChannel(state) {
  const list = $("#channel");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 48;
  rendered = reconcile(list, list.querySelector(".channel-intro"), timeline(state), rendered);
  if (atBottom || scrollToEnd) list.scrollTop = list.scrollHeight;
  scrollToEnd = false;
}

// ================================================================== Home tab
// Slack sends `app_home_opened` every time a person opens an app's Home tab, and the app answers
// with views.publish (https://api.slack.com/events/app_home_opened,
// https://api.slack.com/methods/views.publish). The server sends the event when asked to; the page
// asks on every open and draws `state.home`, the view last published for the selected user, with
// the channel's block renderer. A Home tab is a page: its blocks stand alone, without message chrome.

const HOME_KEY = "home";
const HOME_OWNER = { key: HOME_KEY, target: { view: "home" } };

/** FNV-1a, 32 bits: a short, stable key for a block's JSON (its sig still compares the whole JSON). */
function hashString(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}

/**
 * The Home view's blocks as { key, sig, build }. Blocks are keyed by their content (and which
 * copy of it they are), so when the bot republishes, only blocks that changed are rebuilt, even
 * when a block in front of them came or went.
 */
function homeItems(blocks) {
  const ctxSig = JSON.stringify(mentionContext());
  const copies = new Map();
  return blocks.map((block) => {
    const json = JSON.stringify(block);
    const copy = (copies.get(json) ?? 0) + 1;
    copies.set(json, copy);
    return { key: `${hashString(json)}.${copy}`, sig: json + ctxSig, build: () => renderBlock(block, HOME_OWNER) };
  });
}

let homeRendered = new Map(); // key -> { sig, node }
/** The last open failed; it is sent again when the bot is back to running (it may have been restarting). */
let homeOpenFailed = false;

async function openHome() {
  const user = me;
  homeOpenFailed = false;
  setInlineError(HOME_KEY, null);
  const answer = await post("/api/home", { user });
  if (user !== me) return; // switched user meanwhile: that switch sent its own open
  homeOpenFailed = !answer.ok;
  setInlineError(HOME_KEY, answer.ok ? null : (answer.error ?? "The app's Home could not be loaded."));
}

function renderHome(state) {
  const view = state.me === me ? state.home : null;
  const error = inlineErrors.get(HOME_KEY) ?? "";
  $("#home-error-text").textContent = error;
  $("#home-error").hidden = !error;
  $("#home-loading").hidden = Boolean(view || error);
  const blocks = Array.isArray(view?.blocks) ? view.blocks : [];
  homeRendered = reconcile($("#home-blocks"), null, homeItems(blocks), homeRendered);
}

$("#home-error-dismiss").addEventListener("click", () => setInlineError(HOME_KEY, null));

// ================================================================== tabs

const TABS = {
  channel: { tab: $("#tab-channel"), panel: $("#channel-view") },
  home: { tab: $("#tab-home"), panel: $("#home") },
};
const TAB_ORDER = Object.keys(TABS);
let tab = new URLSearchParams(location.search).get("tab") === "home" ? "home" : "channel";
/** Where the channel was scrolled when it was hidden (a hidden list forgets); null: at the bottom. */
let channelScroll = null;

$("#tab-home .tab-avatar").innerHTML = BOT_AVATAR;

/** The selected user and tab live in the URL, so a reload or a shared link shows the same view. */
function saveLocation() {
  const url = new URL(location.href);
  url.searchParams.set("user", me);
  if (tab === "home") url.searchParams.set("tab", "home");
  else url.searchParams.delete("tab");
  history.replaceState(null, "", url);
}

function updateTitle() {
  const shown = tab === "home" ? "promote-bot Home" : `#${lastState?.channel?.name ?? "whitewave-releases"}`;
  document.title = `promote-bot sandbox · ${shown}`;
}

function showTab(name) {
  const list = $("#channel");
  if (tab === "channel" && name !== "channel") {
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 48;
    channelScroll = atBottom ? null : list.scrollTop;
  }
  tab = name;
  for (const [key, { tab: button, panel }] of Object.entries(TABS)) {
    const selected = key === name;
    button.setAttribute("aria-selected", String(selected));
    button.tabIndex = selected ? 0 : -1;
    panel.hidden = !selected;
  }
  if (name === "channel") {
    if (channelScroll === null) list.scrollTop = list.scrollHeight;
    else list.scrollTop = channelScroll;
  }
  updateTitle();
}

function selectTab(name) {
  showTab(name);
  saveLocation();
  if (name === "home") openHome(); // Slack sends app_home_opened on every open, even of the open tab
}

for (const [name, { tab: button }] of Object.entries(TABS)) {
  button.addEventListener("click", () => selectTab(name));
}

// Arrow keys, Home and End move between tabs (https://www.w3.org/WAI/ARIA/apg/patterns/tabs/).
$(".tabs").addEventListener("keydown", (event) => {
  const at = TAB_ORDER.indexOf(tab);
  const to = { ArrowLeft: at - 1, ArrowRight: at + 1, Home: 0, End: TAB_ORDER.length - 1 }[event.key];
  if (to === undefined) return;
  event.preventDefault();
  const name = TAB_ORDER[(to + TAB_ORDER.length) % TAB_ORDER.length];
  if (name !== tab) selectTab(name);
  TABS[name].tab.focus();
});

// ================================================================== composer

const composer = $("#composer");
const sentCommands = [];
let historyIndex = -1; // -1: not browsing the history
let draft = "";

function showComposerError(text) {
  const error = $("#composer-error");
  error.textContent = text ?? "";
  error.hidden = !text;
  $("#composer-error-row").hidden = !text;
}

async function sendCommand() {
  const text = composer.value.trim();
  if (!text) return;
  if (sentCommands.at(-1) !== text) sentCommands.push(text);
  historyIndex = -1;
  const send = $("#send");
  send.disabled = true;
  const answer = await post("/api/command", { user: me, text });
  send.disabled = false;
  if (answer.ok) {
    showComposerError(null);
    scrollToEnd = true; // like Slack after you send: the answer shows up at the bottom
    if (composer.value.trim() === text) composer.value = "";
  } else {
    showComposerError(answer.error ?? `${text.split(" ")[0]} failed.`);
  }
  composer.focus();
}

function browseHistory(step) {
  if (sentCommands.length === 0) return;
  if (historyIndex === -1) {
    if (step > 0) return;
    draft = composer.value;
    historyIndex = sentCommands.length;
  }
  historyIndex += step;
  if (historyIndex < 0) historyIndex = 0;
  if (historyIndex >= sentCommands.length) {
    historyIndex = -1;
    composer.value = draft;
  } else {
    composer.value = sentCommands[historyIndex];
  }
  composer.setSelectionRange(composer.value.length, composer.value.length);
}

$("#composer-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sendCommand();
});
composer.addEventListener("keydown", (event) => {
  if (event.key === "ArrowUp" || event.key === "ArrowDown") {
    event.preventDefault();
    browseHistory(event.key === "ArrowUp" ? -1 : 1);
  }
});
$("#composer-error-dismiss").addEventListener("click", () => showComposerError(null));
for (const chip of document.querySelectorAll(".chip")) {
  chip.addEventListener("click", () => {
    composer.value = chip.dataset.fill;
    historyIndex = -1;
    composer.focus();
  });
}

// ================================================================== user picker

let usersSig = "";
function renderUsers(state) {
  const select = $("#user");
  const sig = JSON.stringify(state.users ?? []);
  if (sig !== usersSig) {
    usersSig = sig;
    select.replaceChildren(
      ...(state.users ?? []).map((u) => el("option", { value: u.id, text: `${u.name} — ${u.role}` })),
    );
  }
  select.value = me;
}

$("#user").addEventListener("change", (event) => {
  me = event.target.value;
  saveLocation();
  showComposerError(null);
  inlineErrors.delete(HOME_KEY);
  // The previous user's ephemerals and Home go at once; the new user's arrive with the next State.
  if (lastState) render({ ...lastState, me, ephemerals: [], home: null });
  scrollToEnd = true;
  connect();
  if (tab === "home") openHome(); // the new user opens their own Home
});

// ================================================================== world panel

let worldResultTimer = 0;
function showWorldResult(ok, text) {
  const result = $("#world-result");
  result.textContent = text;
  result.className = `world-result ${ok ? "ok" : "failed"}`;
  result.hidden = !text;
  clearTimeout(worldResultTimer);
  worldResultTimer = setTimeout(() => {
    result.hidden = true;
  }, 6000);
}

async function worldCall(path, body, control) {
  control.disabled = true;
  const answer = await post(path, body);
  control.disabled = false;
  showWorldResult(answer.ok, answer.ok ? (answer.detail ?? "Done.") : (answer.error ?? "That failed."));
  return answer;
}

for (const button of document.querySelectorAll(".world-button")) {
  button.addEventListener("click", () => worldCall(button.dataset.endpoint, {}, button));
}

const rateLimit = $("#rate-limit");
rateLimit.addEventListener("change", async () => {
  const on = rateLimit.checked;
  const answer = await worldCall("/api/world/rate-limit", { on }, rateLimit);
  if (!answer.ok) rateLimit.checked = !on;
});

function renderApp(id, app, other) {
  const card = $(id);
  card.querySelector(".app-version").textContent = app ? `v${app.version}` : "no release";
  card.querySelector(".app-commit").textContent = app?.commit ? app.commit.slice(0, 8) : "";
  card.querySelector(".app-commit").hidden = !app?.commit;
  const title = card.querySelector(".app-title");
  title.textContent = app?.title ?? "";
  title.title = app?.title ?? "";
  const behind = id === "#app-production" && app && other && app.commit !== other.commit;
  const note = card.querySelector(".app-note");
  note.textContent = behind ? "behind" : "";
  note.title = behind ? "Production runs another commit than staging" : "";
}

function renderWorld(world = {}) {
  renderApp("#app-staging", world.staging, world.production);
  renderApp("#app-production", world.production, world.staging);
  const failNext = $("#fail-next-promotion");
  failNext.classList.toggle("armed", Boolean(world.failNextPromotion));
  failNext.querySelector(".armed-badge").hidden = !world.failNextPromotion;
  if (!rateLimit.disabled) rateLimit.checked = Boolean(world.rateLimited);
}

let activitySig = "";
function renderActivity(activity = []) {
  const sig = JSON.stringify(activity);
  if (sig === activitySig) return;
  activitySig = sig;
  const list = $("#activity");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 24;
  list.replaceChildren(
    ...activity.map((a) => {
      const at = new Date(a.at);
      const service = String(a.service ?? "");
      return el(
        "li",
        { title: at.toLocaleString() },
        el("time", { datetime: at.toISOString(), text: hhmmss(at) }),
        el("span", { class: `service service-${service.toLowerCase()}`, text: service }),
        el("span", { class: "activity-line", text: a.line ?? "" }),
      );
    }),
  );
  if (activity.length === 0) list.append(el("li", { class: "empty", text: "Nothing yet." }));
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function renderBotStatus(bot = {}) {
  const node = $("#bot-status");
  const status = bot.status ?? "unknown";
  node.dataset.status = status;
  const details = [bot.pid ? `pid ${bot.pid}` : null, `${bot.restarts ?? 0} restart${bot.restarts === 1 ? "" : "s"}`];
  node.replaceChildren(
    el("span", { class: "status-dot", "aria-hidden": "true" }),
    el("span", { class: "status-word", text: `bot ${status}` }),
    el("span", { class: "status-details", text: details.filter(Boolean).join(" · ") }),
  );
}

// ================================================================== connection

let botWasRunning = false;

function render(state) {
  lastState = state;
  const channel = state.channel?.name ?? "whitewave-releases";
  $("#channel-name").textContent = channel;
  $("#intro-channel-name").textContent = channel;
  composer.setAttribute("aria-label", `Message #${channel}`);
  updateTitle();
  renderUsers(state);
  renderBotStatus(state.bot);
  renderWorld(state.world);
  renderActivity(state.activity);
  renderChannel(state);
  renderHome(state);
  // An open refused while the bot was (re)starting is sent again once it runs, as a person would.
  const running = state.bot?.status === "running";
  if (running && !botWasRunning && homeOpenFailed && tab === "home") openHome();
  botWasRunning = running;
}

function setLive(status) {
  const live = $("#live");
  live.dataset.state = status;
  live.textContent = status;
}

let source = null;
let retryTimer = 0;

/** One EventSource for the selected user; a new user means a new stream (ephemerals are per user). */
function connect() {
  source?.close();
  clearTimeout(retryTimer);
  setLive("connecting");
  const stream = new EventSource(`/api/events?user=${encodeURIComponent(me)}`);
  source = stream;
  stream.addEventListener("open", () => {
    if (source === stream) setLive("live");
  });
  stream.addEventListener("state", (event) => {
    if (source !== stream) return;
    let state;
    try {
      state = JSON.parse(event.data);
    } catch {
      return;
    }
    setLive("live");
    if (state.me && state.me !== me) me = state.me;
    render(state);
  });
  stream.addEventListener("error", () => {
    if (source !== stream) return;
    if (stream.readyState === EventSource.CLOSED) {
      // The browser gave up (the server answered with an error): try again ourselves.
      setLive("offline");
      retryTimer = setTimeout(connect, 3000);
    } else {
      setLive("reconnecting");
    }
  });
}

showTab(tab);
connect();
if (tab === "home") openHome();
