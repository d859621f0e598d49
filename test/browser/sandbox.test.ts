/**
 * The sandbox's page in a real browser (Debian's chromium, driven by playwright-core): a person
 * pushes a commit, asks for the promotion, is refused approving it themselves, and an approver
 * approves it. Saves the channel as docs/sandbox.png, the picture in the README.
 *
 * Needs chromium (CHROMIUM_PATH, default /usr/bin/chromium); `.ci/run` installs it. Without it the
 * test is skipped locally and fails under CI=true.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../../sandbox/server.js";
import { ACTIONS } from "../../src/views/action-ids.js";
import { APPROVER_A, REQUESTER } from "../support/harness.js";

// The page's globals that the evaluations below use (the project compiles without the DOM's types).
interface PageElement {
  innerHTML: string;
  textContent: string | null;
  tagName: string;
  attributes: Iterable<{ name: string; value: string }>;
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement>;
}
declare const document: { createElement(tag: string): PageElement };
declare const window: { sandboxMrkdwn(text: string): string };

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI === "true") {
  throw new Error(`CI=true but there is no chromium at ${CHROMIUM}: .ci/run installs Debian's chromium package`);
}
if (!haveChromium) console.warn(`NOTE: no chromium at ${CHROMIUM}; the browser test is skipped.`);

const SCREENSHOT = join(import.meta.dirname, "..", "..", "docs", "sandbox.png");

let sandbox: Sandbox;
let browser: Browser;
let page: Page;

describe.skipIf(!haveChromium)("the sandbox in a browser", () => {
  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // Root in CI containers cannot use chromium's own sandbox.
      args: ["--no-sandbox", "--disable-dev-shm-usage"],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await sandbox?.close();
  });

  const message = (pattern: RegExp) => page.locator("#channel .message:not(.ephemeral)", { hasText: pattern });
  const ephemeral = (pattern: RegExp) => page.locator("#channel .message.ephemeral", { hasText: pattern });

  async function actAs(user: string): Promise<void> {
    await page.selectOption("#user", user);
    // The page reconnects its live feed as the new user; the composer is usable at once.
    await expect.poll(() => page.inputValue("#user")).toBe(user);
  }

  it("pushes a commit, requests as the requester, is refused approving, and an approver's click promotes", async () => {
    await page.goto(sandbox.url);
    await page.locator("#bot-status", { hasText: /running/i }).waitFor({ timeout: 15_000 });

    await page.click("#push-commit");
    await message(/ready to promote/).waitFor({ timeout: 15_000 });

    await actAs(REQUESTER);
    await page.fill("#composer", "/promote whitewave");
    await page.press("#composer", "Enter");
    const request = page.locator("#channel .message:not(.ephemeral)", {
      has: page.locator(`.block-button[data-action-id="${ACTIONS.approve}"]`),
    });
    await request.waitFor({ timeout: 15_000 });
    await ephemeral(/Requested the promotion/).waitFor({ timeout: 10_000 });

    await request.locator(`.block-button[data-action-id="${ACTIONS.approve}"]`).click();
    await ephemeral(/Only the approvers of whitewave can approve/).waitFor({ timeout: 10_000 });

    await actAs(APPROVER_A);
    // Ephemeral answers belong to the person who got them.
    await expect.poll(() => ephemeral(/Only the approvers of whitewave can approve/).count()).toBe(0);
    await request.locator(`.block-button[data-action-id="${ACTIONS.approve}"]`).click();
    await message(/Promoted/).waitFor({ timeout: 30_000 });
    await expect
      .poll(() => page.locator(`#channel .block-button[data-action-id="${ACTIONS.approve}"]`).count())
      .toBe(0);

    const production = sandbox.world.heroku.currentRelease(sandbox.world.ids.production);
    const staging = sandbox.world.heroku.currentRelease(sandbox.world.ids.staging);
    expect(production?.slug?.id).toBe(staging?.slug?.id);

    // Back to the requester for the picture: their own answers are part of what they see.
    await actAs(REQUESTER);
    await page
      .locator("#channel .message", { hasText: /Promoted/ })
      .first()
      .waitFor();
    await page.locator("#channel").screenshot({ path: SCREENSHOT });
  }, 90_000);

  it("renders Slack's mrkdwn as Slack does, and never lets message text become markup", async () => {
    await page.goto(sandbox.url);
    // People's names arrive with the page's first state.
    await page.locator("#bot-status", { hasText: /running/i }).waitFor({ timeout: 15_000 });
    const render = (text: string) => page.evaluate((t) => window.sandboxMrkdwn(t), text);
    const html = await render("*bold* _it_ ~gone~ `a*b*c` <https://example.com/x?a=1&amp;b=2|the link> <@U0APPROVERA>");
    const dom = await page.evaluate((h) => {
      const div = document.createElement("div");
      div.innerHTML = h;
      return {
        bold: div.querySelector("b, strong")?.textContent,
        italic: div.querySelector("i, em")?.textContent,
        strike: div.querySelector("s, del, strike")?.textContent,
        code: div.querySelector("code")?.textContent,
        href: div.querySelector("a")?.getAttribute("href"),
        linkText: div.querySelector("a")?.textContent,
        text: div.textContent,
      };
    }, html);
    expect(dom).toMatchObject({
      bold: "bold",
      italic: "it",
      strike: "gone",
      code: "a*b*c",
      href: "https://example.com/x?a=1&b=2",
      linkText: "the link",
    });
    expect(dom.text).toContain("@alice");
    for (const hostile of [
      "<img src=x onerror=alert(1)>",
      "&lt;script&gt;alert(1)&lt;/script&gt;",
      "<javascript:alert(1)|click me>",
      '*"><svg onload=alert(1)>*',
    ]) {
      const out = await page.evaluate(
        (h) => {
          const div = document.createElement("div");
          div.innerHTML = h;
          return {
            elements: [...div.querySelectorAll("*")].map((e) => e.tagName.toLowerCase()),
            handlers: [...div.querySelectorAll("*")].flatMap((e) =>
              [...e.attributes]
                .filter((a) => a.name.startsWith("on") || /javascript:/i.test(a.value))
                .map((a) => a.name),
            ),
          };
        },
        await render(hostile),
      );
      expect(out.elements).not.toContain("script");
      expect(out.elements).not.toContain("img");
      expect(out.elements).not.toContain("svg");
      expect(out.handlers).toEqual([]);
    }
  });
});
