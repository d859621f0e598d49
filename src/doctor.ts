/**
 * `npm run doctor`: checks, with the bot's own configuration, everything that must be true for it to
 * work, and prints one pass/fail line each (never a secret): the Slack token and the bot's access to
 * each channel and approver group; the Heroku token and each pipeline's apps by stage; the GitLab token,
 * each project, and a webhook pointing at this bot with the events it needs; with HEROKU_WEBHOOK_SECRET
 * set, each app's Heroku webhook subscription to this bot.
 */
import { WebClient } from "@slack/web-api";
import { GitLabAdapter } from "./adapters/gitlab/gitlab-adapter.js";
import { HerokuAdapter } from "./adapters/heroku/heroku-adapter.js";
import {
  assessSubscriptions,
  BOT_WEBHOOK,
  botWebhookUrl,
  HerokuWebhookSubscriptions,
} from "./adapters/heroku/webhook-subscriptions.js";
import type { Config } from "./config.js";
import { DomainError } from "./domain/errors.js";
import type { Logger } from "./infra/logger.js";

export interface DoctorResult {
  ok: boolean;
  lines: string[];
}

function reason(error: unknown): string {
  if (error instanceof DomainError) return error.message.replaceAll(/[*`]/g, "");
  const e = error as { data?: { error?: string; needed?: string; provided?: string }; message?: string };
  if (e?.data?.error === "missing_scope") {
    // Slack names the scope the call needed and the ones the token has (WebClient keeps the body in `data`).
    const needed = e.data.needed ?? "an unnamed scope";
    return `missing_scope: the Slack app lacks the ${needed} scope (the token has ${e.data.provided || "none"}); add ${needed} under OAuth & Permissions → Scopes (manifest.yml lists every scope the bot needs) and reinstall the app to the workspace`;
  }
  if (e?.data?.error === "channel_not_found") {
    return "channel_not_found: no such channel, or a private channel the bot is not in (invite it with /invite @promote-bot)";
  }
  return e?.data?.error ?? e?.message ?? String(error);
}

/**
 * Each app's subscription to this bot's POST /heroku/webhook. Webhooks are optional: without
 * HEROKU_WEBHOOK_SECRET the bot takes none and reads Heroku for every view, which is a notice, not a
 * failure. Without PUBLIC_URL the bot's URL is unknown here, so any `…/heroku/webhook` counts.
 */
async function checkHerokuWebhooks(
  config: Config,
  apps: Map<string, string>,
  lines: string[],
  check: (what: string, probe: () => Promise<string | undefined>) => Promise<boolean>,
  retry: { attempts: number; baseMs: number; maxMs: number },
): Promise<void> {
  if (!config.heroku.webhookSecret) {
    lines.push(
      "SKIP  Heroku webhooks — HEROKU_WEBHOOK_SECRET is unset, so the bot takes no Heroku webhook events and reads Heroku for every view (list, status, App Home); to use events, set it and run npm run setup-heroku-webhooks",
    );
    return;
  }
  const url = config.publicUrl ? botWebhookUrl(config.publicUrl) : undefined;
  const shown = url ?? "https://<this bot>/heroku/webhook";
  const setup = "run npm run setup-heroku-webhooks";
  const webhooks = new HerokuWebhookSubscriptions({
    token: config.heroku.apiToken,
    apiUrl: config.heroku.apiUrl,
    retry,
  });
  for (const [appId, name] of apps) {
    await check(`Heroku webhook to this bot on ${name}`, async () => {
      const assessment = assessSubscriptions(await webhooks.list(appId), url);
      switch (assessment.kind) {
        case "missing": {
          const elsewhere = assessment.others.map((s) => s.url);
          throw new Error(
            elsewhere.length > 0
              ? `no webhook to ${shown}, but one to ${elsewhere.join(", ")} (an old PUBLIC_URL?); ${setup}, then remove the old one (heroku webhooks -a ${name})`
              : `no webhook to ${shown}; ${setup}`,
          );
        }
        case "several":
          throw new Error(
            `${assessment.subscriptions.length} webhooks to ${shown} (${assessment.subscriptions.map((s) => s.id).join(", ")}): every event arrives once per subscription; remove all but one (heroku webhooks:remove <id> -a ${name})`,
          );
        case "wrong":
          throw new Error(
            `the webhook to ${assessment.subscription.url}: ${assessment.differences.join("; ")}; ${setup}`,
          );
        case "ok":
          return `${assessment.subscription.url} (${BOT_WEBHOOK.include.join(", ")}; ${BOT_WEBHOOK.level})${url ? "" : "; PUBLIC_URL is unset, so any …/heroku/webhook counted"}`;
      }
    });
  }
}

export async function runDoctor(config: Config, log: Logger): Promise<DoctorResult> {
  const lines: string[] = [];
  let ok = true;
  const check = async (what: string, probe: () => Promise<string | undefined>): Promise<boolean> => {
    try {
      const detail = await probe();
      lines.push(`PASS  ${what}${detail ? ` — ${detail}` : ""}`);
      return true;
    } catch (error) {
      ok = false;
      lines.push(`FAIL  ${what} — ${reason(error)}`);
      return false;
    }
  };
  const fast = { attempts: 2, baseMs: 200, maxMs: 1_000 };

  // Slack
  const slack = new WebClient(config.slack.botToken, {
    slackApiUrl: config.slack.apiUrl,
    retryConfig: { retries: 1, minTimeout: 200, maxTimeout: 1_000 },
  });
  let scopes: string[] = [];
  let botName = "promote-bot";
  const slackOk = await check("Slack token (auth.test)", async () => {
    const result = await slack.auth.test();
    scopes = result.response_metadata?.scopes ?? [];
    botName = result.user ?? botName;
    return `bot ${result.user ?? "?"} in ${result.team ?? "?"}`;
  });
  if (slackOk) {
    for (const channel of [...new Set(config.pipelines.map((p) => p.channel))]) {
      await check(`Slack channel ${channel}`, async () => {
        const info = await slack.conversations.info({ channel });
        const name = info.channel?.name ?? channel;
        // The bot reads a channel's history to find a request message whose post Slack accepted but
        // whose answer was lost, instead of posting it twice (decide.ts postMissingMessage).
        const history = info.channel?.is_private ? "groups:history" : "channels:history";
        if (!scopes.includes(history)) {
          throw new Error(
            `#${name}: the Slack app lacks the ${history} scope, which the bot needs to find its own message after Slack lost an answer (else it may post a request twice); add it under OAuth & Permissions → Scopes (manifest.yml lists every scope) and reinstall the app to the workspace`,
          );
        }
        if (info.channel?.is_member) return `#${name}, the bot is a member`;
        if (!info.channel?.is_private && scopes.includes("chat:write.public")) {
          return `#${name}, not a member but chat:write.public lets it post; invite it (/invite @${botName}) so that it can read the channel and never post a request twice after Slack lost an answer`;
        }
        throw new Error(`#${name}: the bot is not a member; invite it with /invite @${botName}`);
      });
    }
    for (const group of [...new Set(config.pipelines.flatMap((p) => p.approverGroups))]) {
      await check(`Slack user group ${group}`, async () => {
        const result = await slack.usergroups.users.list({ usergroup: group });
        return `${result.users?.length ?? 0} members`;
      });
    }
  }

  // Heroku
  const heroku = new HerokuAdapter({ token: config.heroku.apiToken, apiUrl: config.heroku.apiUrl, log, retry: fast });
  /** The apps of the pipelines' from and to stages: the ones that need a webhook subscription. */
  const webhookApps = new Map<string, string>();
  for (const p of config.pipelines) {
    await check(`Heroku pipeline ${p.herokuPipeline} (${p.name})`, async () => {
      const pipeline = await heroku.pipeline(p.herokuPipeline);
      const couplings = await heroku.couplings(pipeline.id);
      // From-stage apps first, then by name: the webhook lines read in a stable order.
      const stageApps = couplings
        .filter((c) => c.stage === p.from || c.stage === p.to)
        .sort(
          (a, b) => Number(a.stage !== p.from) - Number(b.stage !== p.from) || a.app.name.localeCompare(b.app.name),
        );
      for (const c of stageApps) webhookApps.set(c.app.id, c.app.name);
      const sources = couplings.filter((c) => c.stage === p.from).map((c) => c.app.name);
      const targets = couplings.filter((c) => c.stage === p.to).map((c) => c.app.name);
      if (sources.length !== 1) throw new Error(`expected one app in the ${p.from} stage, found ${sources.length}`);
      if (targets.length === 0) throw new Error(`no app in the ${p.to} stage`);
      return `${p.from}: ${sources[0]}; ${p.to}: ${targets.join(", ")}`;
    });
  }

  await checkHerokuWebhooks(config, webhookApps, lines, check, fast);

  // GitLab
  const gitlab = new GitLabAdapter({ token: config.gitlab.token, url: config.gitlab.url, log, retry: fast });
  for (const p of config.pipelines) {
    const reachable = await check(`GitLab project ${p.gitlabProject} (${p.name})`, async () => {
      const project = await gitlab.project(p.gitlabProject);
      return `${project.pathWithNamespace}, branch ${p.branch ?? project.defaultBranch}`;
    });
    if (!reachable) continue;
    await check(`GitLab webhook to this bot on ${p.gitlabProject}`, async () => {
      const hooks = (await gitlab.projectHooks(p.gitlabProject)).filter((h) => /\/gitlab\/webhook\/?$/.test(h.url));
      if (hooks.length === 0) {
        throw new Error(
          "no webhook to https://<this bot>/gitlab/webhook; add one with the secret token and Pipeline events",
        );
      }
      const good = hooks.find((h) => h.pipelineEvents && (p.strategy !== "gitlab-job" || h.jobEvents));
      if (!good) {
        throw new Error(
          `the webhook to ${hooks[0]?.url} lacks ${p.strategy === "gitlab-job" ? "Pipeline and Job events" : "Pipeline events"}`,
        );
      }
      if (!good.enabled) throw new Error(`GitLab has disabled the webhook to ${good.url} after failures; re-enable it`);
      return good.url;
    });
  }
  lines.push(ok ? "All checks passed." : "Some checks failed: fix the lines marked FAIL and run the doctor again.");
  return { ok, lines };
}
