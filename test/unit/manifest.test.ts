/** manifest.yml against Slack's manifest structure and against the code: routes, command, events, scopes. */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { FEATURE_SCOPES, WEB_API_SCOPES } from "../../src/adapters/slack/scopes.js";

const ROOT = join(import.meta.dirname, "../..");
const manifest = parse(readFileSync(join(ROOT, "manifest.yml"), "utf8")) as {
  display_information: { name: string; description?: string };
  features: {
    app_home?: { home_tab_enabled?: boolean };
    bot_user: { display_name: string };
    slash_commands: Array<{ command: string; url: string; description: string; usage_hint?: string }>;
  };
  oauth_config: { scopes: { bot: string[] } };
  settings: {
    event_subscriptions?: { request_url: string; bot_events: string[] };
    interactivity: { is_enabled: boolean; request_url: string };
    socket_mode_enabled?: boolean;
  };
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith(".ts") ? [readFileSync(path, "utf8")] : [];
  });
}
const code = sources(join(ROOT, "src")).join("\n");

describe("manifest.yml", () => {
  it("has the structure Slack documents for an app manifest", () => {
    expect(manifest.display_information.name.length).toBeGreaterThan(0);
    expect(manifest.display_information.name.length).toBeLessThanOrEqual(35);
    expect(manifest.features.bot_user.display_name.length).toBeLessThanOrEqual(80);
    for (const command of manifest.features.slash_commands) {
      expect(command.command).toMatch(/^\/[a-z0-9_-]{1,31}$/);
      expect(command.description.length).toBeLessThanOrEqual(2000);
      expect((command.usage_hint ?? "").length).toBeLessThanOrEqual(1000);
    }
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
  });

  it("points the command, interactivity and events at the bot's one Slack route", () => {
    const urls = [
      ...manifest.features.slash_commands.map((c) => c.url),
      manifest.settings.interactivity.request_url,
      manifest.settings.event_subscriptions?.request_url,
    ];
    for (const url of urls) expect(url).toMatch(/^https:\/\/YOUR-APP\.herokuapp\.com\/slack\/events$/);
    // The server hands that path to the Slack intake (its own receiver; Bolt's HTTPReceiver is not used).
    expect(code).toContain('path === "/slack/events"');
  });

  it("declares exactly the slash commands and events the code listens to", () => {
    const commands = [...code.matchAll(/app\.command\("([^"]+)"/g)].map((m) => m[1]);
    expect(manifest.features.slash_commands.map((c) => c.command)).toEqual(commands);
    const events = [...code.matchAll(/app\.event\("([^"]+)"/g)].map((m) => m[1]);
    expect(manifest.settings.event_subscriptions?.bot_events ?? []).toEqual(events);
    expect(manifest.features.app_home?.home_tab_enabled).toBe(events.includes("app_home_opened"));
  });

  it("requests every scope the code needs and none more", () => {
    // Web API calls in src/: `client.chat.postMessage(`, `client.usergroups.users.list(`, …
    const called = new Set(
      [
        ...code.matchAll(
          /(?:client|slack)\.((?:auth|chat|usergroups|views|conversations|users|reactions|files)(?:\.\w+)+)\(/g,
        ),
      ].map((m) => m[1] as string),
    );
    expect(called.size).toBeGreaterThan(0);
    for (const method of called) expect(Object.keys(WEB_API_SCOPES)).toContain(method);
    const needed = new Set<string>([FEATURE_SCOPES.commands, FEATURE_SCOPES.publicChannels]);
    for (const method of called) {
      for (const scope of [WEB_API_SCOPES[method] ?? []].flat()) needed.add(scope);
    }
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual([...needed].sort());
  });
});
