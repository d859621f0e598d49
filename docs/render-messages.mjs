// Renders the bot's real Block Kit messages (from dist/views) to docs/messages.html, roughly as Slack
// shows them, for the README's picture: `npm run build && node docs/render-messages.mjs`, then
// `chromium --headless --screenshot=docs/messages.png --window-size=760,1100 docs/messages.html`.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { requestMessage, stagingReadyMessage } from "../dist/views/messages.js";

const names = { U0RITA: "rita", U0ALICE: "alice", U0BOB: "bob", S0RELEASERS: "releasers" };
const emoji = {
  white_check_mark: "✅",
  raising_hand: "🙋",
  tada: "🎉",
  rocket: "🚀",
  rotating_light: "🚨",
  x: "❌",
};
const esc = (t) => t.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

function mrkdwn(text) {
  let out = text
    .replaceAll(/<!date\^\d+\^[^|]*\|([^>]*)>/g, "$1")
    .replaceAll(/<@([A-Z0-9]+)>/g, (_, id) => `\u0001@${names[id] ?? id}\u0002`)
    .replaceAll(/<!subteam\^([A-Z0-9]+)>/g, (_, id) => `\u0001@${names[id] ?? id}\u0002`)
    .replaceAll(/<([^|>]+)\|([^>]+)>/g, "\u0003$2\u0004");
  out = out.replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&");
  out = esc(out)
    .replaceAll("\u0001", '<span class="mention">')
    .replaceAll("\u0002", "</span>")
    .replaceAll("\u0003", '<a href="#">')
    .replaceAll("\u0004", "</a>")
    .replaceAll(/`([^`]+)`/g, "<code>$1</code>")
    .replaceAll(/\*([^*\n]+)\*/g, "<b>$1</b>")
    .replaceAll(/(^|\s)_([^_\n]+)_/g, "$1<i>$2</i>")
    .replaceAll(/:([a-z_]+):/g, (m, name) => emoji[name] ?? m)
    .replaceAll("\n", "<br>");
  return out;
}

function block(b) {
  if (b.type === "section") return `<div class="section">${mrkdwn(b.text.text)}</div>`;
  if (b.type === "context") return `<div class="context">${b.elements.map((e) => mrkdwn(e.text)).join(" ")}</div>`;
  if (b.type === "divider") return "<hr>";
  if (b.type === "actions") {
    return `<div class="actions">${b.elements.map((e) => `<span class="button ${e.style ?? ""}">${esc(e.text.text)}</span>`).join("")}</div>`;
  }
  return "";
}

const pipeline = {
  name: "whitewave",
  from: "staging",
  to: "production",
  approverUsers: ["U0ALICE", "U0BOB"],
  approverGroups: ["S0RELEASERS"],
  requiredApprovals: 2,
};
const at = new Date("2026-11-27T14:05:00Z");
const candidate = {
  id: "6f1c1f8e-0000-4000-8000-000000000001",
  pipeline: "whitewave",
  herokuPipelineId: "p",
  sourceAppId: "s",
  sourceAppName: "whitewave-staging",
  releaseId: "r",
  releaseVersion: 124,
  slugId: "slug",
  commitSha: "9f3c2a71be0d4c51aa0f5e1b2c3d4e5f60718293",
  commitTitle: "Add the rainbow button to checkout",
  commitAuthor: "Ada Lovelace",
  ciPipelineId: 1187,
  ciPipelineUrl: "https://gitlab.com/acme/whitewave/-/pipelines/1187",
  channel: "C0",
  messageTs: "1",
  state: "live",
  supersededBy: null,
  createdAt: at,
  gitlabJob: null,
};
const ready = stagingReadyMessage({
  pipeline,
  candidate,
  targets: [{ app: { id: "p", name: "whitewave-prod" }, releaseVersion: 118, commit: "1a2b3c4d5e6f" }],
  behind: {
    count: 3,
    compareUrl: "https://gitlab.com/acme/whitewave/-/compare/a...b",
    commits: [
      { sha: "11aa22bb33cc", title: "Fix rounding of discounts", authorName: "Grace Hopper", webUrl: null },
      { sha: "44dd55ee66ff", title: "Upgrade the payment SDK", authorName: "Alan Turing", webUrl: null },
      { sha: "9f3c2a71be0d", title: "Add the rainbow button to checkout", authorName: "Ada Lovelace", webUrl: null },
    ],
  },
});
const request = {
  id: "6f1c1f8e-0000-4000-8000-000000000002",
  kind: "promotion",
  rollbackTo: null,
  gitlabJob: null,
  pipeline: "whitewave",
  herokuPipelineId: "p",
  sourceApp: { id: "s", name: "whitewave-staging" },
  sourceReleaseId: "r",
  sourceReleaseVersion: 124,
  slugId: "slug",
  commitSha: candidate.commitSha,
  commitTitle: candidate.commitTitle,
  commitsBehind: 3,
  targetApps: [{ id: "p", name: "whitewave-prod" }],
  requester: "U0RITA",
  requiredApprovals: 2,
  createdAt: at,
  expiresAt: new Date(at.getTime() + 2 * 3_600_000),
  state: "pending",
  channel: "C0",
  messageTs: "1",
  candidateId: null,
  promotionId: null,
  promotionStartedAt: null,
  finishedAt: null,
  decidedBy: null,
  reason: null,
  outcome: null,
  overrideReason: null,
  baseline: null,
};
const pending = requestMessage({
  request,
  approvals: [{ requestId: request.id, approver: "U0ALICE", at }],
  pipeline,
  now: at,
});
const done = requestMessage({
  request: {
    ...request,
    state: "succeeded",
    promotionStartedAt: at,
    finishedAt: new Date(at.getTime() + 94_000),
    outcome: {
      targets: [
        {
          app: { id: "p", name: "whitewave-prod" },
          status: "succeeded",
          releaseId: "x",
          releaseVersion: 119,
          errorMessage: null,
          outputTail: null,
        },
      ],
      error: null,
    },
  },
  approvals: [
    { requestId: request.id, approver: "U0ALICE", at },
    { requestId: request.id, approver: "U0BOB", at },
  ],
  pipeline,
  now: at,
});

const messages = [
  ["staging ready", ready],
  ["approval requested (1 of 2)", pending],
  ["promoted", done],
];
const html = `<!doctype html><meta charset="utf-8"><style>
body{font:15px/1.45 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1d1c1d;margin:0;padding:16px;background:#fff;width:720px}
.msg{display:flex;gap:10px;padding:10px 8px;border-bottom:1px solid #eee}.avatar{width:36px;height:36px;border-radius:6px;background:#4a154b;color:#fff;display:flex;align-items:center;justify-content:center;font-weight:700}
.name{font-weight:800}.app{font-size:11px;background:#ddd;border-radius:3px;padding:0 4px;margin-left:4px;color:#555}.time{color:#616061;font-size:12px;margin-left:6px}
.section{margin:4px 0}.context{color:#616061;font-size:13px;margin:4px 0}code{background:#f6f6f6;border:1px solid #ddd;border-radius:3px;padding:0 3px;color:#e01e5a;font-size:12px}
a{color:#1264a3;text-decoration:none}.mention{background:#e8f5fa;color:#1264a3;border-radius:3px;padding:0 2px}
.actions{margin:8px 0}.button{display:inline-block;border:1px solid #bbb;border-radius:4px;padding:3px 12px;margin-right:8px;font-weight:700;font-size:13px}
.button.primary{background:#007a5a;color:#fff;border-color:#007a5a}.button.danger{color:#e01e5a;border-color:#e01e5a}
hr{border:0;border-top:1px solid #eee}.label{color:#999;font-size:11px;text-transform:uppercase;margin:12px 0 0 8px}
</style>${messages
  .map(
    ([label, m]) =>
      `<div class="label">${label}</div><div class="msg"><div class="avatar">P</div><div><span class="name">promote-bot</span><span class="app">APP</span><span class="time">2:05 PM</span>${m.blocks.map(block).join("")}</div></div>`,
  )
  .join("")}`;
writeFileSync(join(import.meta.dirname, "messages.html"), html);
console.log("wrote docs/messages.html");
