/**
 * `npm run setup-heroku-webhooks` (on Heroku: `heroku run npm run setup-heroku-webhooks`): subscribes
 * every app of each configured pipeline's `from` and `to` stages to the bot's `POST /heroku/webhook`
 * (include `api:release` and `dyno`, level `sync`, signed with HEROKU_WEBHOOK_SECRET). Creates a
 * missing subscription, repairs one whose include or level differ, never makes a second one to the
 * same URL and leaves subscriptions to other URLs alone. One line per app; exit 1 on any failure.
 */
import { pathToFileURL } from "node:url";
import { HerokuAdapter } from "./adapters/heroku/heroku-adapter.js";
import {
  assessSubscriptions,
  BOT_WEBHOOK,
  botWebhookUrl,
  HerokuWebhookSubscriptions,
} from "./adapters/heroku/webhook-subscriptions.js";
import { type Config, loadConfigOrExit } from "./config.js";
import { createLogger, type Logger } from "./infra/logger.js";

export interface SetupResult {
  ok: boolean;
  lines: string[];
}

/** Refusals before any call: what to set for the command to make sense. */
export function setupRefusals(config: Config): string[] {
  const problems: string[] = [];
  if (!config.heroku.webhookSecret) {
    problems.push(
      "HEROKU_WEBHOOK_SECRET is unset: set it to a random value of at least 32 characters (openssl rand -hex 32) in the bot's environment; Heroku signs every delivery with it.",
    );
  }
  if (!config.publicUrl) {
    problems.push(
      "PUBLIC_URL is unset: set it to the bot's public base URL (as https://promote-bot.example.com); Heroku delivers to PUBLIC_URL/heroku/webhook.",
    );
  }
  return problems;
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message.replaceAll(/[*`]/g, "") : String(error);
}

/** The apps of each configured pipeline's `from` and `to` stages, once each, with the pipeline they came from. */
async function appsToSubscribe(
  config: Config,
  heroku: HerokuAdapter,
  lines: string[],
): Promise<{ apps: Map<string, { name: string; pipeline: string }>; ok: boolean }> {
  const apps = new Map<string, { name: string; pipeline: string }>();
  let ok = true;
  for (const pipelineConfig of config.pipelines) {
    try {
      const pipeline = await heroku.pipeline(pipelineConfig.herokuPipeline);
      const couplings = await heroku.couplings(pipeline.id);
      const stages = new Set([pipelineConfig.from, pipelineConfig.to]);
      // From-stage apps first, then by name, so that the lines read in a stable order.
      const coupled = couplings
        .filter((c) => stages.has(c.stage))
        .sort(
          (a, b) =>
            Number(a.stage !== pipelineConfig.from) - Number(b.stage !== pipelineConfig.from) ||
            a.app.name.localeCompare(b.app.name),
        );
      if (coupled.length === 0) {
        throw new Error(`no app in the ${pipelineConfig.from} or ${pipelineConfig.to} stage`);
      }
      for (const coupling of coupled) {
        if (!apps.has(coupling.app.id)) apps.set(coupling.app.id, { name: coupling.app.name, pipeline: pipeline.name });
      }
    } catch (error) {
      ok = false;
      lines.push(
        `failed    pipeline ${pipelineConfig.herokuPipeline} (${pipelineConfig.name}) — ${reason(error)}; fix it and run this again`,
      );
    }
  }
  return { apps, ok };
}

export async function setupHerokuWebhooks(config: Config, log: Logger): Promise<SetupResult> {
  const refusals = setupRefusals(config);
  if (refusals.length > 0) return { ok: false, lines: refusals.map((r) => `refused   ${r}`) };
  const secret = config.heroku.webhookSecret as string;
  const url = botWebhookUrl(config.publicUrl as string);
  const heroku = new HerokuAdapter({ token: config.heroku.apiToken, apiUrl: config.heroku.apiUrl, log });
  const webhooks = new HerokuWebhookSubscriptions({ token: config.heroku.apiToken, apiUrl: config.heroku.apiUrl });
  const lines: string[] = [];
  const found = await appsToSubscribe(config, heroku, lines);
  let ok = found.ok;
  const wanted = { include: [...BOT_WEBHOOK.include], level: BOT_WEBHOOK.level, url };

  for (const [appId, app] of found.apps) {
    const label = `${app.name} (pipeline ${app.pipeline})`;
    try {
      const assessment = assessSubscriptions(await webhooks.list(appId), url);
      switch (assessment.kind) {
        case "missing":
          await webhooks.create(appId, { ...wanted, secret });
          lines.push(`created   ${label} — webhook to ${url} (${wanted.include.join(", ")}; ${wanted.level})`);
          break;
        case "wrong":
          // The secret goes with the repair: Heroku never shows it, so it may be wrong too.
          await webhooks.update(appId, assessment.subscription.id, { ...wanted, secret });
          lines.push(`repaired  ${label} — ${assessment.differences.join("; ")}; now as expected, secret set`);
          break;
        case "ok":
          // Heroku never returns a subscription's secret (schema.json app_webhook has no `secret`) and the
          // bot cannot ask for a signed test delivery, so whether it matches HEROKU_WEBHOOK_SECRET is
          // unknowable from here: set it on every run, so that a rotated secret reaches Heroku too.
          await webhooks.update(appId, assessment.subscription.id, { secret });
          lines.push(`ok        ${label} — webhook to ${url} as expected; secret set again`);
          break;
        case "several":
          // Not deleted here: the operator may have made them on purpose; each would deliver every event.
          ok = false;
          lines.push(
            `failed    ${label} — ${assessment.subscriptions.length} webhooks to ${url} (${assessment.subscriptions.map((s) => s.id).join(", ")}); remove all but one (heroku webhooks:remove <id> -a ${app.name}) and run this again`,
          );
          break;
      }
    } catch (error) {
      ok = false;
      // The adapter's messages say what to check (token, app, rate limit); rerunning is always safe.
      lines.push(`failed    ${label} — ${reason(error)}`);
    }
  }
  lines.push(
    ok
      ? `Every app is subscribed to ${url}.`
      : "Some apps are not subscribed: fix the lines marked failed and run this again.",
  );
  return { ok, lines };
}

async function main(): Promise<void> {
  const config = loadConfigOrExit((problems) => {
    process.stdout.write("refused   the configuration is invalid:\n");
    for (const problem of problems) process.stdout.write(`      ${problem}\n`);
  });
  const log = createLogger({ level: "silent", secrets: config.secrets });
  const result = await setupHerokuWebhooks(config, log);
  let out = result.lines.join("\n");
  for (const secret of config.secrets) if (secret.length >= 6) out = out.split(secret).join("[REDACTED]");
  process.stdout.write(`${out}\n`);
  process.exit(result.ok ? 0 : 1);
}

// Run as a command (node dist/setup-heroku-webhooks.js), not when a test imports the function.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`setup-heroku-webhooks failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
