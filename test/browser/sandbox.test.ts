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

  it("pushes a commit, requests as the requester, is refused self-approval, and an approver's click promotes", async () => {
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
});
