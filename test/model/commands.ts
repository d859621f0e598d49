/**
 * The model of the people around the bot, and the commands of a history (fast-check `fc.commands`).
 *
 * The model never asks the bot what happened. It records what the people did (who asked, who approved,
 * rejected or cancelled, who locked, with which override) and derives from the pipeline's policy what
 * that entitles the bot to do: a request is *approved* once enough distinct approvers other than the
 * requester (unless self-approval is allowed) approved it while it was open (not rejected, cancelled or
 * expired) and every lock in force was covered by its override. After the history, `HistoryRun.records()`
 * joins that with the stand-ins' own records for `checkInvariants`.
 *
 * The only thing read from the bot's side is Slack: a request becomes known to the people when its
 * message appears in the channel (as people learn of it), and its requester and release are read there.
 */
import fc from "fast-check";
import { ACTIONS } from "../../src/views/action-ids.js";
import type { SlackMessage } from "../../stand-ins/slack.js";
import {
  APPROVER_A,
  APPROVER_B,
  BYSTANDER,
  buttonValue,
  CHANNEL,
  GROUP_APPROVER,
  PROJECT_ID,
  REQUESTER,
} from "../support/harness.js";
import { type BotRunner, MESSAGE_GRACE_MS, MODEL_TUNING } from "./bot-runner.js";
import {
  type HerokuPromotionRecord,
  type HistoryRecords,
  type ModelRequestRecord,
  shownStateOf,
} from "./invariants.js";

export const PEOPLE_IDS = [REQUESTER, APPROVER_A, APPROVER_B, GROUP_APPROVER, BYSTANDER] as const;
export type PersonId = (typeof PEOPLE_IDS)[number];
/** The default pipeline's approvers: two people by name and one through the @releasers group. */
const APPROVERS = new Set<string>([APPROVER_A, APPROVER_B, GROUP_APPROVER]);

export interface Policy {
  requiredApprovals: number;
  allowSelfApproval: boolean;
  /** The pipeline is inside a freeze window the whole time (pipelines.yml cannot change at runtime). */
  frozen?: boolean;
  /**
   * The middle (epoch ms) of a configured freeze window far from the real time, which the history
   * opens by moving the bot's clock into it and closes by moving it back (FreezeWindowStep).
   */
  freezeMidMs?: number;
}

/** Kinds of fault a history can inject; each is counted when injected. */
export const FAULT_KINDS = [
  "heroku-post-acts-then-5xx",
  "heroku-post-acts-then-drops",
  "heroku-post-acts-then-unreadable-2xx",
  "heroku-post-5xx",
  "heroku-post-drop",
  "heroku-post-429",
  "heroku-reads-5xx",
  "heroku-release-phase-fails",
  "heroku-release-appears-late",
  "heroku-promotion-slow",
  "slack-post-5xx",
  "slack-update-5xx",
  "slack-not-ok",
  "restart",
  "expire",
  "gitlab-redelivery",
  "production-hotfix",
  "slack-slower-than-grace",
  "slack-post-acts-then-fails",
  "clock-jump",
  "freeze-window-opens",
] as const;
export type { Cmd };
export type FaultKind = (typeof FAULT_KINDS)[number];

interface KnownRequest {
  ts: string;
  /** The request id its buttons carry (while they were seen). */
  requestId: string | null;
  /** The step at which it was asked for (its message may appear later). */
  askedAtStep: number;
  requester: string;
  releaseVersion: number;
  releaseId: string;
  /** The lock (by epoch) that the requester's override covered, if any. */
  overrideEpoch: number | null;
  /** Whether an approver asked with --override while the pipeline was frozen (it covers the window). */
  overrideFreeze: boolean;
  approvals: Set<string>;
  approvedAtStep: number | null;
  closed: string | null;
  /** The last version seen with its buttons: people may click a stale copy. */
  lastPending: SlackMessage | null;
}

interface Attempt {
  step: number;
  who: string;
  /** The lock epoch in force when an approver asked with --override. */
  overrideEpoch: number | null;
  overrideFreeze: boolean;
  consumed: boolean;
  /** The bot told the person it made the request: its message must appear. */
  made: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One history on a running world: the people's model, the record of steps, and the stand-ins' baselines. */
export class HistoryRun {
  step = 0;
  readonly log: string[] = [];
  readonly faults: Partial<Record<FaultKind, number>> = {};
  private readonly requests = new Map<string, KnownRequest>();
  private readonly attempts: Attempt[] = [];
  private readonly refusedAttempts: Attempt[] = [];
  private lock: { epoch: number; by: string } | null = null;
  /** Releases people deployed straight to production (a hotfix), with the step. */
  private readonly hotfixes: Array<{ step: number; releaseId: string }> = [];
  private epochs = 0;
  /** Whether the history moved the bot's clock into the configured freeze window. */
  private frozenAtRuntime = false;
  /** Each bot's clock jump (ms), on top of the freeze window's offset. */
  private readonly jitterMs = new Map<number, number>();
  /** Requests the bot said it made whose message never appeared within the bound. */
  unposted = 0;
  /** After each step, how many promotions Heroku holds: promotion i was created by step stepOf(i). */
  private readonly promotionsAfterStep: number[] = [];
  private readonly startPromotions: number;
  private readonly startMessages: number;
  private readonly startProductionVersion: number;
  private readonly startRollbackPosts: number;

  constructor(
    readonly runner: BotRunner,
    readonly policy: Policy,
  ) {
    const { heroku, slack, ids } = runner.world;
    this.startPromotions = heroku.promotions.length;
    this.startMessages = slack.messages.length;
    this.startProductionVersion = heroku.releases(ids.production).at(-1)?.version ?? 0;
    this.startRollbackPosts = heroku.callsTo("POST", `/apps/${ids.production}/releases`).length;
  }

  get world() {
    return this.runner.world;
  }

  fault(kind: FaultKind): void {
    this.faults[kind] = (this.faults[kind] ?? 0) + 1;
  }

  /** Ends a step: lets the bot finish, learns of new request messages, and notes Heroku's promotions. */
  async endStep(what: string, capMs = 1_500): Promise<void> {
    await this.runner.quiesce(capMs);
    this.discover();
    this.promotionsAfterStep[this.step] = this.world.heroku.promotions.length - this.startPromotions;
    this.log.push(`${this.step}: ${what}`);
    this.step += 1;
  }

  /** Request messages of this history, as Slack shows them now. */
  private requestMessages(): SlackMessage[] {
    return this.world.slack.messages
      .slice(this.startMessages)
      .filter((m) => m.channel === CHANNEL && !m.thread_ts && shownStateOf(m.text) !== undefined);
  }

  /** This history's newest staging-ready message that still offers its Promote button. */
  stagingReadyMessage(): SlackMessage | undefined {
    return this.world.slack.messages
      .slice(this.startMessages)
      .filter((m) => m.channel === CHANNEL && buttonValue(m, ACTIONS.promote))
      .at(-1);
  }

  /** People see new request messages: the requester and release are read off the message. */
  discover(): void {
    for (const message of this.requestMessages()) {
      const known = this.requests.get(message.ts);
      if (known) {
        const id = buttonValue(message, ACTIONS.approve);
        if (id) {
          known.lastPending = structuredClone(message);
          known.requestId = id;
        }
        continue;
      }
      const blocksText = JSON.stringify(message.blocks);
      const requester = /Requested by\* <@(U[0-9A-Z]+)>/.exec(blocksText)?.[1];
      const version = Number(/ v(\d+) \(/.exec(message.text)?.[1]);
      if (!requester || !Number.isFinite(version)) continue;
      const release = this.world.heroku.releases(this.world.ids.staging).find((r) => r.version === version);
      // The attempt that asked for it: that person's oldest unconsumed /promote or Promote click.
      const attempt =
        this.attempts.findLast((a) => !a.consumed && a.who === requester) ??
        this.refusedAttempts.findLast((a) => !a.consumed && a.who === requester);
      if (attempt) attempt.consumed = true;
      const request: KnownRequest = {
        ts: message.ts,
        requestId: buttonValue(message, ACTIONS.approve) ?? null,
        askedAtStep: attempt?.step ?? this.step,
        requester,
        releaseVersion: version,
        releaseId: release?.id ?? `unknown-v${version}`,
        overrideEpoch: attempt?.overrideEpoch ?? null,
        overrideFreeze: attempt?.overrideFreeze ?? false,
        approvals: new Set(),
        approvedAtStep: null,
        closed: attempt ? null : "nobody asked for it",
        lastPending: buttonValue(message, ACTIONS.approve) ? structuredClone(message) : null,
      };
      // Self-approval on request: an approver asking, allowed to approve their own, one approval needed.
      if (
        attempt &&
        APPROVERS.has(requester) &&
        this.policy.allowSelfApproval &&
        this.policy.requiredApprovals === 1 &&
        this.gatePasses(request)
      ) {
        request.approvals.add(requester);
        request.approvedAtStep = attempt.step;
      }
      this.requests.set(message.ts, request);
    }
  }

  private gatePasses(request: KnownRequest): boolean {
    // Every gate closing the pipeline must be covered: the lock by an override given during that very
    // lock, the freeze window by an override given inside it (domain/gate.ts blockingGate). The
    // window opened at runtime is one occurrence (the clock always lands in the same one), so an
    // override given inside it covers it each time it opens in this history.
    const lockPasses = this.lock === null || this.lock.epoch === request.overrideEpoch;
    const freezePasses = !this.frozen || request.overrideFreeze;
    return lockPasses && freezePasses;
  }

  /** Whether the pipeline is in a freeze window now, as the bot's clock sees it. */
  get frozen(): boolean {
    return this.policy.frozen === true || this.frozenAtRuntime;
  }

  /** Opens or closes the runtime freeze window by moving every bot's clock into it or out of it. */
  async setFreeze(open: boolean): Promise<void> {
    this.frozenAtRuntime = open;
    for (let bot = 0; bot < this.runner.count; bot++) await this.applyClock(bot);
  }

  /** A bot's clock jumps `ms` off (on top of the freeze window's offset). */
  async setJitter(bot: number, ms: number): Promise<void> {
    this.jitterMs.set(bot % this.runner.count, ms);
    await this.applyClock(bot % this.runner.count);
  }

  private async applyClock(bot: number): Promise<void> {
    const base = this.frozenAtRuntime && this.policy.freezeMidMs ? this.policy.freezeMidMs - Date.now() : 0;
    await this.runner.setClock(bot, base + (this.jitterMs.get(bot) ?? 0));
  }

  /** A request people can click on: the newest pending one most of the time, any known one otherwise. */
  pickRequest(selector: number): KnownRequest | undefined {
    const all = [...this.requests.values()].filter((r) => r.lastPending);
    if (all.length === 0) return undefined;
    const newest = all.at(-1)!;
    return selector % 4 === 0 ? all[selector % all.length] : newest;
  }

  // ------------------------------------------------------------------ what people do

  /**
   * Someone asked for a promotion (a command or the Promote button): `ask` sends it. The bot's answer
   * to that person says whether a request was made; a refused ask is forgotten, an unanswered one is
   * kept as possibly made (its message may come later).
   */
  async attempt(who: string, override: boolean, ask: () => Promise<number>): Promise<string> {
    const before = this.world.answersFor(who).length;
    const attempt: Attempt = {
      step: this.step,
      who,
      overrideEpoch: override && APPROVERS.has(who) && this.lock ? this.lock.epoch : null,
      overrideFreeze: override && APPROVERS.has(who) && this.frozen,
      consumed: false,
      made: false,
    };
    const status = await ask();
    if (status !== 200) return `HTTP ${status}`;
    let answer: string | undefined;
    for (let i = 0; i < 40 && answer === undefined; i++) {
      answer = this.world.answersFor(who)[before];
      if (answer === undefined) await sleep(50);
    }
    if (answer !== undefined && !/Requested the promotion|Approved your own request/.test(answer)) {
      // Kept as a last resort for a message that appears anyway (the answer may belong to another ask).
      this.refusedAttempts.push(attempt);
      return `refused: ${/"text":"([^"]{0,80})/.exec(answer)?.[1] ?? answer.slice(0, 80)}`;
    }
    // Older asks by this person that made nothing are superseded.
    for (const a of this.attempts) if (a.who === who) a.consumed = true;
    attempt.made = answer !== undefined;
    this.attempts.push(attempt);
    return answer === undefined ? "no answer" : "made";
  }

  recordClick(request: KnownRequest, who: string, action: "approve" | "reject" | "cancel"): void {
    if (request.approvedAtStep !== null || request.closed) return;
    const isApprover = APPROVERS.has(who);
    if (action === "approve") {
      const selfOk = who !== request.requester || this.policy.allowSelfApproval;
      if (!isApprover || !selfOk || !this.gatePasses(request)) return;
      request.approvals.add(who);
      if (request.approvals.size >= this.policy.requiredApprovals) request.approvedAtStep = this.step;
    } else if (action === "reject") {
      if (isApprover) request.closed = `rejected by ${who} at step ${this.step}`;
    } else if (isApprover || who === request.requester) {
      request.closed = `cancelled by ${who} at step ${this.step}`;
    }
  }

  recordLock(who: string): void {
    if (APPROVERS.has(who) && this.lock === null) {
      this.epochs += 1;
      this.lock = { epoch: this.epochs, by: who };
    }
  }

  recordUnlock(who: string): void {
    if (APPROVERS.has(who)) this.lock = null;
  }

  /** Someone pushes a hotfix straight to production, bypassing the bot. */
  hotfix(): void {
    const { heroku, ids } = this.world;
    const release = heroku.deploy(ids.production, `${"f".repeat(32)}${String(this.step).padStart(8, "0")}`);
    this.hotfixes.push({ step: this.step, releaseId: release.id });
  }

  /** Time passes beyond a pending request's expiry. */
  recordExpiry(request: KnownRequest): void {
    if (request.approvedAtStep === null && !request.closed) request.closed = `expired at step ${this.step}`;
  }

  get locked(): boolean {
    return this.lock !== null;
  }

  // ------------------------------------------------------------------ after the history

  /** Stops every fault, ends what people left open (cancel pending requests, unlock), waits for the outcome. */
  async wrapUp(boundMs: number): Promise<void> {
    const { heroku, slack, gitlab } = this.world;
    heroku.clearFaults();
    slack.clearFaults();
    gitlab.clearFaults();
    heroku.promotionBehaviour = { pollsUntilDone: 1, failTargets: {} };
    // The window ends: an approved request it holds (approved, then the window opened before it went
    // ahead, e.g. across a restart) goes ahead by itself.
    if (this.frozenAtRuntime) {
      await this.setFreeze(false);
      this.log.push("wrap-up: the freeze window ends");
    }
    const deadline = Date.now() + boundMs;
    for (;;) {
      heroku.revealDueReleases();
      await this.runner.quiesce(500);
      this.discover();
      const states = this.requestMessages().map((m) => ({ m, state: shownStateOf(m.text) }));
      const open = states.filter((s) => s.state === "pending" || s.state === "promoting");
      const pending = open.filter((s) => s.state === "pending");
      // A request the people approved must go ahead by itself; only requests they left open are cancelled.
      const leftOpen = pending.filter((s) => this.requests.get(s.m.ts)?.approvedAtStep === null);
      for (const { m } of leftOpen) {
        const known = this.requests.get(m.ts);
        if (!known?.lastPending) continue;
        await this.world.click(known.requester, known.lastPending, ACTIONS.cancel);
        this.recordClick(known, known.requester, "cancel");
        this.log.push(`wrap-up: ${known.requester} cancels ${m.ts}`);
      }
      if (this.lock) {
        await this.world.slash(APPROVER_A, "unlock whitewave");
        this.recordUnlock(APPROVER_A);
        this.log.push("wrap-up: unlock");
      }
      // A request the bot said it made whose message is not in the channel yet (Slack was down) must
      // still be posted: wait for it too.
      const unposted = this.attempts.filter((a) => a.made && !a.consumed);
      if (open.length === 0 && unposted.length === 0 && Date.now() <= deadline) {
        // Before concluding: an ask whose answer never came may still be on its way (a slow Slack
        // retrying the request's message for as long as a Slack call can take); let it land first.
        await this.runner.quiesce(MESSAGE_GRACE_MS);
        // An ask with no answer at all may have made a request whose message Slack refused: the sweep
        // posts it after the grace. Wait that out once.
        if (this.attempts.some((a) => !a.made && !a.consumed)) {
          await sleep(MESSAGE_GRACE_MS + 1_000);
          await this.runner.quiesce(MESSAGE_GRACE_MS);
        }
        this.discover();
        const late = this.requestMessages().filter((m) =>
          ["pending", "promoting"].includes(shownStateOf(m.text) ?? ""),
        );
        if (late.length > 0) continue;
      }
      if ((open.length === 0 && unposted.length === 0) || Date.now() > deadline) {
        for (const a of unposted)
          this.log.push(`wrap-up: the request ${a.who} made at step ${a.step} was never posted`);
        this.unposted = unposted.length;
        break;
      }
      await sleep(200);
    }
    // The sweep brings every finished request's message up to date once more (messageSettleMs).
    await sleep(500);
    await this.runner.quiesce(2_000);
    this.discover();
    this.promotionsAfterStep[this.step] = heroku.promotions.length - this.startPromotions;
  }

  records(): HistoryRecords {
    const { heroku, ids } = this.world;
    const promotions: HerokuPromotionRecord[] = heroku.promotions.slice(this.startPromotions).map((p, i) => ({
      id: p.id,
      sourceReleaseId: p.source.release.id,
      createdAtStep: this.promotionsAfterStep.findIndex((n) => n !== undefined && n > i),
      targets: p.targets.map((t) => ({ appId: t.app.id, status: t.status, releaseId: t.release?.id ?? null })),
    }));
    const requests: ModelRequestRecord[] = [...this.requests.values()].map((r) => ({
      ts: r.ts,
      requestId: r.requestId,
      requester: r.requester,
      releaseId: r.releaseId,
      releaseVersion: r.releaseVersion,
      askedAtStep: r.askedAtStep,
      approvedAtStep: r.approvedAtStep,
      approvalNote:
        r.approvedAtStep !== null
          ? `approved at step ${r.approvedAtStep}`
          : `${r.approvals.size} of ${this.policy.requiredApprovals} approvals${r.closed ? `, ${r.closed}` : ""}`,
    }));
    const productionReleases = heroku
      .releases(ids.production)
      .filter((r) => r.version > this.startProductionVersion)
      .map((r) => ({ id: r.id, version: r.version, status: r.status, description: r.description }));
    const rollbacks = heroku.callsTo("POST", `/apps/${ids.production}/releases`).length - this.startRollbackPosts;
    const messages = this.requestMessages().map((m) => ({
      ts: m.ts,
      shownState: shownStateOf(m.text) ?? "?",
      wayOut:
        buttonValue(m, ACTIONS.retryUnknown) !== undefined && buttonValue(m, ACTIONS.recordSucceeded) !== undefined,
    }));
    if (rollbacks > 0) this.log.push(`(the bot posted ${rollbacks} release(s) to production directly)`);
    return {
      requests,
      promotions,
      productionReleases,
      messages,
      hotfixes: [...this.hotfixes],
      unpostedRequests: this.unposted,
    };
  }
}

// ------------------------------------------------------------------ commands

type Model = { run: HistoryRun };
type Real = HistoryRun;
type Cmd = fc.AsyncCommand<Model, Real>;

/** Sends a signed request to one of the bots and ignores a refused connection (the bot was restarting). */
async function tolerate(work: () => Promise<Response>): Promise<number> {
  try {
    return (await work()).status;
  } catch {
    return 0;
  }
}

abstract class Step implements Cmd {
  check(): boolean {
    return true;
  }
  abstract run(model: Model, real: Real): Promise<void>;
  abstract toString(): string;
}

export class Ship extends Step {
  constructor(
    readonly redeliveries: number,
    readonly bot: number,
  ) {
    super();
  }
  async run(_m: Model, run: Real) {
    const shipped = run.world.shipToStaging(`Change ${run.step}`);
    const delivery = run.world.gitlab.pipelineEvent(PROJECT_ID, shipped.pipelineId);
    for (let i = 0; i <= this.redeliveries; i++) {
      if (i > 0) run.fault("gitlab-redelivery");
      await tolerate(() => run.world.sendGitLab(delivery, run.runner.url(this.bot + i)));
    }
    await run.endStep(this.toString());
  }
  toString() {
    return `ship a release to staging (webhook delivered ${this.redeliveries + 1}x)`;
  }
}

export class RequestPromotion extends Step {
  constructor(
    readonly who: PersonId,
    readonly override: boolean,
    readonly bot: number,
  ) {
    super();
  }
  async run(_m: Model, run: Real) {
    const text = this.override ? 'whitewave --override "model says so"' : "whitewave";
    const outcome = await run.attempt(this.who, this.override, () =>
      tolerate(() => run.world.slash(this.who, text, run.runner.url(this.bot))),
    );
    await run.endStep(`${this.toString()} (${outcome})`);
  }
  toString() {
    return `${this.who}: /promote whitewave${this.override ? " --override" : ""}`;
  }
}

class ClickPromote extends Step {
  constructor(readonly who: PersonId) {
    super();
  }
  async run(_m: Model, run: Real) {
    const ready = run.stagingReadyMessage();
    const outcome = ready
      ? await run.attempt(this.who, false, () => tolerate(() => run.world.click(this.who, ready, ACTIONS.promote)))
      : "no staging-ready message";
    await run.endStep(`${this.toString()} (${outcome})`);
  }
  toString() {
    return `${this.who}: clicks Promote on the staging-ready message`;
  }
}

export class Decide extends Step {
  constructor(
    readonly who: PersonId,
    readonly action: "approve" | "reject" | "cancel",
    readonly selector: number,
    readonly bot: number,
  ) {
    super();
  }
  async run(_m: Model, run: Real) {
    const request = run.pickRequest(this.selector);
    let note = " (no request)";
    if (request?.lastPending) {
      const actionId = ACTIONS[this.action];
      const status = await tolerate(() =>
        run.world.click(this.who, request.lastPending as SlackMessage, actionId, run.runner.url(this.bot)),
      );
      // A click the bot never received (it was down) is not an approval.
      if (status === 200) run.recordClick(request, this.who, this.action);
      note = ` on ${request.ts}${status === 200 ? "" : ` (HTTP ${status})`}`;
    }
    await run.endStep(`${this.toString()}${note}`);
  }
  toString() {
    return `${this.who}: clicks ${this.action}`;
  }
}

class Lock extends Step {
  constructor(
    readonly who: PersonId,
    readonly unlock: boolean,
    readonly bot: number,
  ) {
    super();
  }
  async run(_m: Model, run: Real) {
    const text = this.unlock ? "unlock whitewave" : 'lock whitewave "model incident"';
    const status = await tolerate(() => run.world.slash(this.who, text, run.runner.url(this.bot)));
    if (status === 200) {
      if (this.unlock) run.recordUnlock(this.who);
      else run.recordLock(this.who);
    }
    await run.endStep(this.toString());
  }
  toString() {
    return `${this.who}: /promote ${this.unlock ? "unlock" : "lock"} whitewave`;
  }
}

/**
 * Time passes beyond the pending request's expiry. The bot's clock cannot be injected (src/server.ts
 * builds `clock: new Date()`), so the request's expiry is moved into the past instead, in the store:
 * the only write the model makes there, standing for a clock jump of the request's TTL.
 */
class Expire extends Step {
  constructor(readonly selector: number) {
    super();
  }
  async run(_m: Model, run: Real) {
    const request = run.pickRequest(this.selector);
    if (request) {
      run.fault("expire");
      run.recordExpiry(request);
      await run.runner
        .store()
        .db.updateTable("requests")
        .set({ expires_at: new Date(Date.now() - 1_000).toISOString() })
        .where("message_ts", "=", request.ts)
        .where("state", "=", "pending")
        .execute();
    }
    await run.endStep(`${this.toString()}${request ? ` (${request.ts})` : " (no request)"}`);
  }
  toString() {
    return "time passes beyond the request's expiry";
  }
}

/**
 * A bot's clock jumps up to two minutes either way (NTP stepping a dyno's clock). Leases, the POST
 * window and the claim on posting a message are timed by the database's clock, so nothing the bot
 * does twice or too early may follow from it.
 */
class ClockJump extends Step {
  constructor(
    readonly offsetMs: number,
    readonly bot: number,
  ) {
    super();
  }
  async run(_m: Model, run: Real) {
    run.fault("clock-jump");
    await run.setJitter(this.bot, this.offsetMs);
    await run.endStep(this.toString());
  }
  toString() {
    return `bot ${this.bot}'s clock is set ${this.offsetMs >= 0 ? "+" : ""}${Math.round(this.offsetMs / 1000)} s off`;
  }
}

/**
 * The configured freeze window opens (or ends) while requests are open: the bot's clock is moved into
 * the window (or out of it), as the passing of time would. Only where the pipeline has one (Policy.freezeMidMs).
 */
class FreezeWindowStep extends Step {
  constructor(readonly open: boolean) {
    super();
  }
  async run(_m: Model, run: Real) {
    if (this.open && !run.frozen) run.fault("freeze-window-opens");
    await run.setFreeze(this.open);
    await run.endStep(this.toString());
  }
  toString() {
    return this.open ? "the freeze window opens" : "the freeze window ends";
  }
}

class Restart extends Step {
  constructor(readonly bot: number) {
    super();
  }
  async run(_m: Model, run: Real) {
    run.fault("restart");
    await run.runner.crash(this.bot);
    await run.endStep(this.toString());
  }
  toString() {
    return `crash and restart bot ${this.bot}`;
  }
}

/**
 * A hotfix pushed straight to production between a request and its promotion (issue 13, known case
 * 3): the bot must not promote over it, since the approvers approved against what production ran.
 */
class Hotfix extends Step {
  async run(_m: Model, run: Real) {
    run.fault("production-hotfix");
    run.hotfix();
    await run.endStep(this.toString());
  }
  toString() {
    return "someone deploys a hotfix straight to production";
  }
}

const UNAVAILABLE = { status: 503, body: { id: "unavailable", message: "Service Unavailable" } };

class InjectFault extends Step {
  constructor(
    readonly kind: FaultKind,
    readonly times: number,
  ) {
    super();
  }
  async run(_m: Model, run: Real) {
    const { heroku, slack, ids } = run.world;
    const post = { method: "POST", path: "/pipeline-promotions", times: this.times };
    run.fault(this.kind);
    switch (this.kind) {
      case "heroku-post-acts-then-5xx":
        heroku.fault({ ...post, answerAfterHandling: UNAVAILABLE });
        break;
      case "heroku-post-acts-then-drops":
        heroku.fault({ ...post, dropAfterHandling: true });
        break;
      case "heroku-post-acts-then-unreadable-2xx":
        heroku.fault({ ...post, answerAfterHandling: { status: 201, body: "<html>upstream said ok</html>" } });
        break;
      case "heroku-post-5xx":
        heroku.fault({ ...post, response: UNAVAILABLE });
        break;
      case "heroku-post-drop":
        heroku.fault({ ...post, drop: true });
        break;
      case "heroku-post-429":
        heroku.fault({
          ...post,
          response: { status: 429, headers: { "Retry-After": "0" }, body: { id: "rate_limit", message: "rate limit" } },
        });
        break;
      case "heroku-reads-5xx":
        heroku.fault({
          method: "GET",
          path: `/apps/${ids.production}/releases`,
          times: this.times * 3,
          response: UNAVAILABLE,
        });
        heroku.fault({ method: "GET", path: /\/promotion-targets$/, times: this.times, response: UNAVAILABLE });
        break;
      case "heroku-release-phase-fails":
        heroku.promotionBehaviour.failTargets = {
          "whitewave-prod": { error_message: "release command failed", output: "Running migrations\nboom\n" },
        };
        break;
      case "heroku-release-appears-late":
        // Later than the POST's timeout, within the bot's trace window (its stated assumption about
        // Heroku: docs/reliability.md, known limits; beyond it a lost answer could be posted again).
        heroku.promotionBehaviour.releaseDelayMs = Math.min(
          200 * this.times,
          (MODEL_TUNING.promotionTraceWindowMs ?? 0) - 100,
        );
        break;
      case "heroku-promotion-slow":
        // 0: Heroku finishes it by itself, unpolled; otherwise it answers pending this many polls.
        heroku.promotionBehaviour.pollsUntilDone = this.times === 1 ? 0 : this.times * 2;
        break;
      case "slack-post-5xx":
        slack.fault({
          method: "POST",
          path: "/api/chat.postMessage",
          times: this.times,
          response: { status: 503, body: "" },
        });
        break;
      case "slack-update-5xx":
        slack.fault({
          method: "POST",
          path: "/api/chat.update",
          times: this.times,
          response: { status: 503, body: "" },
        });
        break;
      case "slack-slower-than-grace":
        // Slack slow and failing: each answer a 503 just within the bot's Slack timeout, three in a
        // row, so the creator's post (with WebClient's retries) is in flight as long as Slack calls
        // can be. The sweep's grace is longer than that bound (src/server.ts slackCallBoundMs), so it
        // never posts a second message meanwhile. (An answer later than the timeout may have posted
        // and is retried by WebClient: a documented limit, not modelled.)
        slack.fault({
          method: "POST",
          path: /^\/api\/chat\.(postMessage|update)$/,
          times: 3,
          delayMs: (MODEL_TUNING.slackTimeoutMs ?? 1_000) - 300,
          response: { status: 503, body: "" },
        });
        break;
      case "slack-post-acts-then-fails":
        // Slack shows the message and then answers a failure (or no answer at all): the bot must find
        // that message before it posts the request again.
        slack.fault({
          method: "POST",
          path: "/api/chat.postMessage",
          times: this.times,
          ...(this.times % 2 === 0
            ? { dropAfterHandling: true }
            : { answerAfterHandling: { status: 200, body: { ok: false, error: "internal_error" } } }),
        });
        break;
      case "slack-not-ok":
        slack.fault({
          method: "POST",
          path: /^\/api\/chat\.(postMessage|update)$/,
          times: this.times,
          response: { status: 200, body: { ok: false, error: "internal_error" } },
        });
        break;
      default:
        break;
    }
    await run.endStep(this.toString(), 50);
  }
  toString() {
    return `fault: ${this.kind} x${this.times}`;
  }
}

export interface CommandOptions {
  /** Fault kinds left out (each with the defect that keeps it out named where the option is set). */
  exclude?: ReadonlySet<string>;
  /** How many bots serve requests (restarts pick one). */
  bots: number;
  maxCommands: number;
  /** fast-check's `replayPath` of the commands of a failing history (printed with it), to replay its shrinking. */
  replayPath?: string;
  /** The pipeline has a freeze window the history may open and close (Policy.freezeMidMs). */
  runtimeFreeze?: boolean;
}

/** Faults injected through the stand-ins' knobs; the others are commands of their own. */
const INJECTABLE: FaultKind[] = FAULT_KINDS.filter(
  (k) =>
    k !== "restart" &&
    k !== "expire" &&
    k !== "gitlab-redelivery" &&
    k !== "production-hotfix" &&
    k !== "clock-jump" &&
    k !== "freeze-window-opens",
);

/**
 * How every history begins: a new staging release, half the time a fault already in force (so that
 * faults meet the request's own messages too), and someone asks for it (an approver or not).
 */
export function openingArbitrary(options: CommandOptions): fc.Arbitrary<Cmd[]> {
  // A Slack failure on the request's own message, left out as a known defect (see KNOWN_DEFECT_KINDS).
  const slackAtRequest = !options.exclude?.has("slack-fails-on-request-message");
  const faults = INJECTABLE.filter((k) => !options.exclude?.has(k) && (slackAtRequest || !k.startsWith("slack-")));
  const fault =
    faults.length > 0
      ? fc.option(
          fc.tuple(fc.constantFrom(...faults), fc.integer({ min: 1, max: 3 })).map(([k, t]) => new InjectFault(k, t)),
          { freq: 2 },
        )
      : fc.constant(null);
  return fc
    .tuple(fc.constantFrom(...PEOPLE_IDS), fc.boolean(), fc.boolean(), fc.nat({ max: options.bots - 1 }), fault)
    .map(([who, viaButton, override, b, early]) => [
      new Ship(0, b),
      ...(early ? [early] : []),
      viaButton ? new ClickPromote(who) : new RequestPromotion(who, override, b),
    ]);
}

export function historyArbitrary(options: CommandOptions): fc.Arbitrary<Iterable<Cmd>> {
  const person = fc.constantFrom(...PEOPLE_IDS);
  // Clicks on Approve come mostly from approvers (some from the requester and the bystander, refused).
  const clicker = fc.oneof(
    { weight: 9, arbitrary: fc.constantFrom(APPROVER_A, APPROVER_B, GROUP_APPROVER) },
    { weight: 2, arbitrary: fc.constantFrom(REQUESTER, BYSTANDER) },
  );
  const bot = fc.nat({ max: options.bots - 1 });
  const allowed = (k: string) => !options.exclude?.has(k);
  const faults = INJECTABLE.filter(allowed);
  // fc.commands picks uniformly among its arbitraries: one weighted choice makes the mix. Approvals come
  // most often so that histories get requests through the policy (and faults meet the promotion),
  // rather than only being refused; locks, expiry and endings are rarer, as they close the way.
  const weighted: Array<{ weight: number; arbitrary: fc.Arbitrary<Cmd> }> = [
    {
      weight: 2,
      arbitrary: fc
        .tuple(allowed("gitlab-redelivery") ? fc.nat({ max: 2 }) : fc.constant(0), bot)
        .map(([n, b]) => new Ship(n, b)),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(person, fc.boolean(), bot).map(([w, o, b]) => new RequestPromotion(w, o, b)),
    },
    { weight: 1, arbitrary: person.map((w) => new ClickPromote(w)) },
    {
      weight: 10,
      arbitrary: fc.tuple(clicker, fc.nat(7), bot).map(([w, s, b]) => new Decide(w, "approve", s, b)),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(person, fc.constantFrom("reject" as const, "cancel" as const), fc.nat(7), bot)
        .map(([w, a, s, b]) => new Decide(w, a, s, b)),
    },
    { weight: 2, arbitrary: fc.tuple(person, fc.boolean(), bot).map(([w, u, b]) => new Lock(w, u, b)) },
  ];
  if (faults.length > 0) {
    weighted.push({
      weight: 6,
      arbitrary: fc
        .tuple(fc.constantFrom(...faults), fc.integer({ min: 1, max: 3 }))
        .map(([k, t]) => new InjectFault(k, t)),
    });
  }
  if (allowed("expire")) weighted.push({ weight: 1, arbitrary: fc.nat(7).map((s) => new Expire(s)) });
  if (allowed("restart")) weighted.push({ weight: 2, arbitrary: bot.map((b) => new Restart(b)) });
  if (allowed("production-hotfix")) weighted.push({ weight: 1, arbitrary: fc.constant(new Hotfix()) });
  if (options.runtimeFreeze && allowed("freeze-window-opens")) {
    weighted.push({ weight: 2, arbitrary: fc.boolean().map((open) => new FreezeWindowStep(open)) });
  }
  if (allowed("clock-jump")) {
    weighted.push({
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: -120_000, max: 120_000 }), bot)
        .map(([offset, b]) => new ClockJump(offset, b)),
    });
  }
  return fc.commands([fc.oneof(...weighted)], {
    maxCommands: options.maxCommands,
    ...(options.replayPath ? { replayPath: options.replayPath } : {}),
  });
}
