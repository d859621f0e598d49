/**
 * Issue 15, scale: `/promote history` and one sweep pass on a store holding N pipelines' worth of
 * history (1,000 pipelines and 1,000,000 audit rows at the target size), on SQLite and PostgreSQL.
 *
 * The store is the product's: a fresh database brought up to date by its migrations (KyselyStore.open),
 * filled in bulk through the store's own Kysely handle with rows shaped as the repositories write
 * them (requests.ts, audit-log.ts, candidates.ts, deliveries.ts): requests in every state (mostly
 * finished, a few pending, promoting or unknown), their approvals and audit rows, the candidates
 * announced before them and the GitLab deliveries that announced those. Rows are generated in time
 * order across pipelines, so a pipeline's audit rows are scattered through the table as in production.
 *
 * Measured in this process, on that store, without a server: `/promote history <pipeline>` as its
 * listener runs it after the ack (PromoteBot.history, the pipelineHistory use case, then the
 * historyMessage view), many times over random pipelines; and one pass of the worker's sweep
 * (Worker.sweep, what the worker runs every sweepIntervalMs), timed until it is done, several times.
 * The store is at rest: nothing is due (no expiry, no orphaned promotion, every delivery done, every
 * message posted and settled), as between events in production, so a pass costs its queries alone.
 * Heroku, GitLab and Slack are ports that refuse and count calls: a pass that needed one would show.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { type Insertable, type Kysely, sql } from "kysely";
import { KyselyStore } from "../src/adapters/store/kysely-store.js";
import type { Database } from "../src/adapters/store/schema.js";
import { PromoteBot } from "../src/app/bot.js";
import { type AppContext, DEFAULT_TUNING } from "../src/app/context.js";
import { Worker } from "../src/app/worker.js";
import type { PipelineConfig } from "../src/config.js";
import type { ChatPort, GitLabPort, HerokuPort } from "../src/domain/ports.js";
import { createLogger } from "../src/infra/logger.js";
import { TtlCache } from "../src/infra/ttl-cache.js";
import { historyMessage } from "../src/views/status.js";
import type { TestDatabase } from "../test/support/databases.js";

export interface ScaleSize {
  pipelines: number;
  /** Audit rows a pipeline has on average (1,000 at the target size: 1,000 pipelines, 1,000,000 rows). */
  auditPerPipeline: number;
}

export interface Percentiles {
  calls: number;
  p50: number;
  p99: number;
  max: number;
}

export interface StoreMeasures {
  /** `/promote history <pipeline>` with the default 10 requests, and with the maximum, 50. */
  history: Percentiles;
  history50: Percentiles;
  sweep: { passes: number; medianMs: number; maxMs: number; steps: Array<{ method: string; meanMs: number }> };
  /** Calls to Heroku, GitLab or Slack and warnings or errors logged during the measures (0 expected). */
  externalCalls: number;
  problemsLogged: number;
}

export interface ScaleRun extends StoreMeasures {
  backend: "sqlite" | "postgres";
  size: ScaleSize;
  rows: { requests: number; approvals: number; audit: number; candidates: number; deliveries: number };
  /** Active requests among them (the rest are finished). */
  active: { pending: number; promoting: number; unknown: number };
  /** Wall time to generate and insert every row (migrations included), and of the statistics pass. */
  buildS: number;
  analyzeS: number;
  databaseMb: number;
}

const HISTORY_CALLS = 400;
const HISTORY50_CALLS = 200;
const WARMUP_CALLS = 20;
const SWEEP_PASSES = 7;
const HISTORY_YEARS = 2;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
/** A pending request's time to live in the generated config. */
const TTL_MS = 4 * HOUR_MS;

type FinalState = "succeeded" | "failed" | "dry_run" | "rejected" | "cancelled" | "expired";
type PlanState = FinalState | "pending" | "promoting" | "unknown";
type Table = "candidates" | "requests" | "approvals" | "audit" | "deliveries";

/** One request to generate, with what happened to it. */
interface Plan {
  pipeline: number;
  createdAt: number;
  state: PlanState;
  kind: "promotion" | "gitlab-job" | "rollback";
  required: number;
  approvals: number;
  denials: number;
  /** A staging release announced and superseded before the one this request promotes. */
  extraCandidate: boolean;
}

/** Mulberry32: a small seeded generator, so that every run builds the same shapes. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function scalePipelineName(i: number): string {
  return `scale-${String(i).padStart(4, "0")}`;
}

function pipelineConfigs(count: number): PipelineConfig[] {
  return Array.from({ length: count }, (_, i) => ({
    name: scalePipelineName(i),
    herokuPipeline: scalePipelineName(i),
    gitlabProject: `acme/${scalePipelineName(i)}`,
    branch: undefined,
    channel: `C${String(i).padStart(8, "0")}`,
    from: "staging",
    to: "production",
    strategy: i % 10 === 9 ? "gitlab-job" : "heroku",
    productionJob: i % 10 === 9 ? "deploy-production" : undefined,
    approverUsers: ["U0APPROVERA", "U0APPROVERB", "U0APPROVERC"],
    approverGroups: [],
    requiredApprovals: i % 3 === 0 ? 1 : 2,
    allowSelfApproval: false,
    requestTtl: { ms: TTL_MS, text: "4h" },
    freeze: [],
    drift: "warn",
    driftIgnore: [],
  }));
}

/** The pipeline's newest request is active in a few pipelines: about 3% pending, 0.5% promoting, 0.5% unknown. */
function activeState(pipeline: number): PlanState | undefined {
  if (pipeline % 33 === 0) return "pending";
  if (pipeline % 200 === 7) return "promoting";
  if (pipeline % 200 === 17) return "unknown";
  return undefined;
}

const FINAL_WEIGHTS: Array<[FinalState, number]> = [
  ["succeeded", 0.72],
  ["failed", 0.04],
  ["dry_run", 0.01],
  ["rejected", 0.03],
  ["cancelled", 0.08],
  ["expired", 0.12],
];

function finalState(random: () => number): FinalState {
  let x = random();
  for (const [state, weight] of FINAL_WEIGHTS) {
    x -= weight;
    if (x < 0) return state;
  }
  return "succeeded";
}

const EXECUTED: PlanState[] = ["succeeded", "failed", "dry_run", "unknown", "promoting"];

/** The audit rows a plan writes (as fill writes them): used to size each pipeline's history. */
function auditCount(plan: Plan): number {
  const candidates = (plan.kind === "rollback" ? 0 : 1) + (plan.extraCandidate ? 1 : 0);
  let n = candidates + 1 + plan.denials + plan.approvals;
  if (["rejected", "cancelled", "expired", "unknown"].includes(plan.state)) n += 1;
  if (EXECUTED.includes(plan.state)) n += 1; // promoting
  if (["succeeded", "failed", "unknown", "promoting"].includes(plan.state)) n += 1; // promotion/job/rollback created
  if (["succeeded", "failed", "dry_run"].includes(plan.state)) n += 1; // the outcome
  return n;
}

/** Every pipeline's requests, in time order across pipelines. */
function plans(size: ScaleSize, pipelines: PipelineConfig[], now: number, random: () => number): Plan[] {
  const all: Plan[] = [];
  const start = now - HISTORY_YEARS * 365 * DAY_MS;
  for (let p = 0; p < size.pipelines; p++) {
    const pipelineConfig = pipelines[p] as PipelineConfig;
    const mine: Plan[] = [];
    let audit = 0;
    // Pipelines differ in how busy they are (half to one and a half times the average).
    const target = size.auditPerPipeline * (0.5 + random());
    while (audit < target) {
      const state = finalState(random);
      const required = pipelineConfig.requiredApprovals;
      const plan: Plan = {
        pipeline: p,
        createdAt: 0,
        state,
        kind: random() < 0.03 ? "rollback" : pipelineConfig.strategy === "gitlab-job" ? "gitlab-job" : "promotion",
        required,
        approvals: EXECUTED.includes(state) ? required : Math.floor(random() * required),
        denials: random() < 0.2 ? (random() < 0.25 ? 2 : 1) : 0,
        extraCandidate: random() < 0.3,
      };
      mine.push(plan);
      audit += auditCount(plan);
    }
    const times = mine.map(() => start + random() * (now - DAY_MS - start)).sort((a, b) => a - b);
    mine.forEach((plan, i) => {
      plan.createdAt = times[i] as number;
    });
    const last = mine.at(-1) as Plan;
    const active = activeState(p);
    if (active) {
      last.state = active;
      last.approvals = active === "pending" ? Math.floor(random() * last.required) : last.required;
      // Pending: asked within the last hours, not yet expired; an unknown outcome waits for an approver.
      last.createdAt = now - (active === "unknown" ? 20 : active === "promoting" ? 3 : 1.5 + random()) * HOUR_MS;
    }
    all.push(...mine);
  }
  return all.sort((a, b) => a.createdAt - b.createdAt);
}

const iso = (ms: number): string => new Date(ms).toISOString();
const sha = (): string => randomBytes(20).toString("hex");

/** Rows written between two commits of the build. */
const ROWS_PER_TRANSACTION = 250_000;

/**
 * Multi-row INSERTs of one table, flushed in batches that stay under the backends' parameter limits,
 * on one connection, committed every ROWS_PER_TRANSACTION rows.
 */
class BulkLoader {
  private readonly pending = new Map<Table, unknown[]>();
  private uncommitted = 0;
  readonly counts: Record<Table, number> = { candidates: 0, requests: 0, approvals: 0, audit: 0, deliveries: 0 };

  constructor(private readonly db: Kysely<Database>) {}

  async add<T extends Table>(table: T, row: Insertable<Database[T]>): Promise<void> {
    let rows = this.pending.get(table);
    if (!rows) {
      rows = [];
      this.pending.set(table, rows);
    }
    rows.push(row);
    // SQLite takes at most 32,766 parameters a statement, PostgreSQL 65,535.
    if (rows.length * Object.keys(row).length >= 30_000) await this.flush(table);
  }

  async flush(table: Table): Promise<void> {
    // Approvals refer to their request (a foreign key): the requests go first.
    if (table === "approvals") await this.flush("requests");
    const rows = this.pending.get(table);
    if (!rows || rows.length === 0) return;
    this.pending.set(table, []);
    // One statement for the batch; the table's row type was checked in add().
    await this.db
      .insertInto(table as "audit")
      .values(rows as Insertable<Database["audit"]>[])
      .execute();
    this.counts[table] += rows.length;
    this.uncommitted += rows.length;
    if (this.uncommitted >= ROWS_PER_TRANSACTION) {
      await sql`COMMIT`.execute(this.db);
      await sql`BEGIN`.execute(this.db);
      this.uncommitted = 0;
    }
  }

  async flushAll(): Promise<void> {
    for (const table of ["candidates", "requests", "approvals", "audit", "deliveries"] as const)
      await this.flush(table);
  }
}

interface PipelineState {
  version: number;
  ciPipeline: number;
  heroku: string;
  source: { id: string; name: string };
  target: { id: string; name: string };
}

/** Fills the store through `db` (one connection, in a transaction); returns the counts. */
async function fill(
  db: Kysely<Database>,
  size: ScaleSize,
  pipelines: PipelineConfig[],
  now: number,
): Promise<{ loader: BulkLoader; active: ScaleRun["active"] }> {
  const random = seeded(15_000 + size.pipelines);
  const loader = new BulkLoader(db);
  const states: PipelineState[] = pipelines.map((pipelineConfig) => ({
    version: 100,
    ciPipeline: 1_000_000,
    heroku: randomUUID(),
    source: { id: randomUUID(), name: `${pipelineConfig.name}-staging` },
    target: { id: randomUUID(), name: `${pipelineConfig.name}-production` },
  }));
  const active = { pending: 0, promoting: 0, unknown: 0 };
  // Audit rows are written in the order of their time (their ids grow with it, as in production): a
  // request's rows come minutes to hours after it was asked, among other pipelines' rows.
  let audit: Array<{ at: number; row: Insertable<Database["audit"]> }> = [];
  const flushAuditBefore = async (before: number) => {
    audit.sort((a, b) => a.at - b.at);
    const cut = audit.findIndex((a) => a.at >= before);
    const ready = cut === -1 ? audit : audit.slice(0, cut);
    audit = cut === -1 ? [] : audit.slice(cut);
    for (const { row } of ready) await loader.add("audit", row);
  };
  const addAudit = (
    at: number,
    pipeline: string,
    requestId: string | null,
    event: string,
    actor: string | null,
    detail: Record<string, unknown>,
  ) => {
    audit.push({
      at,
      row: { request_id: requestId, pipeline, event, actor, at: iso(at), detail: JSON.stringify(detail) },
    });
  };
  let messageSeq = 0;
  const messageTs = (at: number) => `${Math.floor(at / 1000)}.${String(messageSeq++ % 1_000_000).padStart(6, "0")}`;

  for (const plan of plans(size, pipelines, now, random)) {
    const pipelineConfig = pipelines[plan.pipeline] as PipelineConfig;
    const name = pipelineConfig.name;
    const state = states[plan.pipeline] as PipelineState;
    const t = plan.createdAt;
    if (audit.length > 20_000) await flushAuditBefore(t - 3 * DAY_MS);

    // The staging releases announced before the request: each from a GitLab pipeline whose deliveries
    // (two pipeline events and a job event) were processed and emptied of their bodies.
    const announce = async (at: number, candidateState: "requested" | "superseded") => {
      state.version += 1;
      state.ciPipeline += 1 + Math.floor(random() * 5);
      const id = randomUUID();
      const commit = sha();
      await loader.add("candidates", {
        id,
        pipeline: name,
        heroku_pipeline_id: state.heroku,
        source_app_id: state.source.id,
        source_app_name: state.source.name,
        release_id: randomUUID(),
        release_version: state.version,
        slug_id: randomUUID(),
        commit_sha: commit,
        commit_title: `Change ${state.ciPipeline}: update the ${name} service`,
        commit_author: "Dana Developer",
        ci_pipeline_id: state.ciPipeline,
        ci_pipeline_url: `https://gitlab.example.com/acme/${name}/-/pipelines/${state.ciPipeline}`,
        channel: pipelineConfig.channel,
        message_ts: messageTs(at),
        state: candidateState,
        superseded_by: candidateState === "superseded" ? state.version + 1 : null,
        created_at: iso(at),
        gitlab_job:
          plan.kind === "gitlab-job"
            ? JSON.stringify({ id: state.ciPipeline * 10, name: "deploy-production", pipelineId: state.ciPipeline })
            : null,
      });
      addAudit(at, name, null, "staging_ready", null, { release: state.version, commit, ciPipeline: state.ciPipeline });
      for (const [event, lead] of [
        ["Pipeline Hook", 6 * MINUTE_MS],
        ["Job Hook", 2 * MINUTE_MS],
        ["Pipeline Hook", 30_000],
      ] as const) {
        // One in a thousand failed for good and keeps its body (an operator may resend it).
        const failed = random() < 0.001;
        await loader.add("deliveries", {
          id: randomUUID(),
          event,
          body: failed ? JSON.stringify({ object_kind: "pipeline", padding: "x".repeat(2_000) }) : "",
          received_at: iso(at - lead),
          state: failed ? "failed" : "done",
          attempts: failed ? DEFAULT_TUNING.deliveryAttempts : 1,
          lease_owner: null,
          lease_until: null,
          last_error: failed ? "GitLab answered 502" : null,
          finished_at: iso(at - lead + 200),
        });
      }
      return { id, commit };
    };
    if (plan.extraCandidate) await announce(t - (6 + random() * 42) * HOUR_MS, "superseded");
    const candidate =
      plan.kind === "rollback" ? undefined : await announce(t - (5 + random() * 355) * MINUTE_MS, "requested");

    const id = randomUUID();
    const requester = `U0DEV${String(Math.floor(random() * 40)).padStart(3, "0")}`;
    const approvers = ["U0APPROVERA", "U0APPROVERB", "U0APPROVERC"].slice(0, plan.approvals);
    const approvalTimes = approvers.map((_, i) => t + (i + 1) * (1 + random() * 60) * MINUTE_MS);
    const decidedAt = approvalTimes.at(-1) ?? t + (1 + random() * 120) * MINUTE_MS;
    const startedAt = decidedAt + 500;
    const finishedAt =
      plan.state === "expired"
        ? t + TTL_MS
        : plan.state === "rejected" || plan.state === "cancelled"
          ? decidedAt
          : ["succeeded", "failed", "dry_run"].includes(plan.state)
            ? startedAt + (30 + random() * 600) * 1000
            : null;
    const commit = candidate?.commit ?? sha();
    const targets = [state.target];
    const targetResult = (status: string) => ({
      app: state.target,
      status,
      releaseId: status === "pending" ? null : randomUUID(),
      releaseVersion: status === "pending" ? null : state.version + 1000,
      errorMessage: status === "failed" ? "release phase failed: exit status 1" : null,
      outputTail: status === "failed" ? "Running migrations...\nError: relation already exists" : null,
    });
    const outcome =
      plan.state === "succeeded" || plan.state === "failed"
        ? { targets: [targetResult(plan.state)], error: null }
        : plan.state === "dry_run"
          ? { targets: [], error: null, dryRun: `would promote v${state.version} to ${state.target.name}` }
          : plan.state === "unknown"
            ? {
                targets: [targetResult("pending")],
                error: null,
                unknown: { why: "Heroku could not be read for 75 minutes", link: "https://dashboard.heroku.com/" },
              }
            : null;
    if (plan.state === "pending" || plan.state === "promoting" || plan.state === "unknown") active[plan.state] += 1;
    const changedAt =
      finishedAt ??
      (plan.state === "pending" ? t : plan.state === "promoting" ? startedAt : startedAt + 75 * MINUTE_MS);
    const rollbackTo =
      plan.kind === "rollback"
        ? JSON.stringify([
            {
              app: state.target,
              releaseId: randomUUID(),
              version: state.version + 998,
              slugId: randomUUID(),
              fromVersion: state.version + 999,
            },
          ])
        : null;
    await loader.add("requests", {
      id,
      pipeline: name,
      heroku_pipeline_id: state.heroku,
      source_app_id: state.source.id,
      source_app_name: state.source.name,
      source_release_id: randomUUID(),
      source_release_version: state.version,
      slug_id: randomUUID(),
      commit_sha: commit,
      commit_title: `Change ${state.ciPipeline}: update the ${name} service`,
      commits_behind: 1 + Math.floor(random() * 8),
      target_apps: JSON.stringify(targets),
      requester,
      required_approvals: plan.required,
      created_at: iso(t),
      expires_at: iso(t + TTL_MS),
      state: plan.state,
      channel: pipelineConfig.channel,
      message_ts: messageTs(t),
      candidate_id: candidate?.id ?? null,
      promotion_id: EXECUTED.includes(plan.state) && plan.state !== "dry_run" ? randomUUID() : null,
      promotion_started_at: EXECUTED.includes(plan.state) ? iso(startedAt) : null,
      finished_at: finishedAt === null ? null : iso(finishedAt),
      decided_by: plan.state === "rejected" || plan.state === "cancelled" ? "U0APPROVERA" : null,
      reason: plan.state === "rejected" ? "not during the incident" : null,
      outcome: outcome ? JSON.stringify(outcome) : null,
      // Promoting: followed by another process, whose lease runs for the whole bench.
      lease_owner: plan.state === "promoting" ? "web.2:41:5f3a9c1e" : null,
      lease_until: plan.state === "promoting" ? iso(now + DAY_MS) : null,
      updated_at: iso(changedAt),
      override_reason: random() < 0.01 ? "hotfix for the outage" : null,
      override_gate: null,
      // Settled by the sweep a minute after its last change (pending: nothing to settle yet).
      message_settled_at: plan.state === "pending" || plan.state === "promoting" ? null : iso(changedAt + MINUTE_MS),
      message_claimed_at: iso(t),
      state_changed_at: plan.state === "pending" ? null : iso(changedAt),
      kind: plan.kind === "rollback" ? "rollback" : "promotion",
      gitlab_job:
        plan.kind === "gitlab-job"
          ? JSON.stringify({ id: state.ciPipeline * 10, name: "deploy-production", pipelineId: state.ciPipeline })
          : null,
      baseline: EXECUTED.includes(plan.state) ? JSON.stringify({ [state.target.id]: state.version + 999 }) : null,
      rollback_to: rollbackTo,
    });
    approvers.forEach((approver, i) => {
      const at = approvalTimes[i] as number;
      addAudit(at, name, id, "approved", approver, {});
    });
    for (const [i, approver] of approvers.entries()) {
      await loader.add("approvals", { request_id: id, approver, at: iso(approvalTimes[i] as number) });
    }
    addAudit(t, name, id, "requested", requester, {
      release: state.version,
      releaseId: randomUUID(),
      commit,
      via: random() < 0.7 ? "button" : "command",
    });
    for (let i = 0; i < plan.denials; i++) {
      addAudit(t + (1 + random() * 30) * MINUTE_MS, name, id, "denied", `U0BYSTANDER${i}`, { code: "NOT_APPROVER" });
    }
    if (plan.state === "expired") addAudit(t + TTL_MS, name, id, "expired", null, { expiresAt: iso(t + TTL_MS) });
    if (plan.state === "rejected" || plan.state === "cancelled") {
      addAudit(
        decidedAt,
        name,
        id,
        plan.state,
        "U0APPROVERA",
        plan.state === "rejected" ? { reason: "not during the incident" } : {},
      );
    }
    if (EXECUTED.includes(plan.state))
      addAudit(startedAt - 100, name, id, "promoting", null, { approvals: plan.approvals });
    if (["succeeded", "failed", "unknown", "promoting"].includes(plan.state)) {
      const event =
        plan.kind === "rollback" ? "rollback_created" : plan.kind === "gitlab-job" ? "job_played" : "promotion_created";
      addAudit(
        startedAt + 800,
        name,
        id,
        event,
        null,
        plan.kind === "gitlab-job" ? { job: state.ciPipeline * 10 } : { promotionId: randomUUID() },
      );
    }
    if (plan.state === "unknown") {
      addAudit(changedAt, name, id, "outcome_unknown", null, {
        why: "Heroku could not be read for 75 minutes",
        link: "https://dashboard.heroku.com/",
      });
    }
    if (finishedAt !== null && ["succeeded", "failed", "dry_run"].includes(plan.state)) {
      addAudit(finishedAt, name, id, plan.state, null, {
        targets:
          plan.state === "dry_run"
            ? []
            : [{ app: state.target.name, status: plan.state, version: state.version + 1000, error: null }],
      });
    }
  }
  await flushAuditBefore(Number.POSITIVE_INFINITY);
  await loader.flushAll();
  return { loader, active };
}

/** A port that answers nothing: counts each call and fails it (no measure here should call out). */
function refusingPort<T extends object>(name: string, calls: string[]): T {
  return new Proxy({} as T, {
    get(_target, prop) {
      if (prop === "then") return undefined;
      return async () => {
        calls.push(`${name}.${String(prop)}`);
        throw new Error(`${name} is not reachable in the scale bench`);
      };
    },
  });
}

/** The store, with the time spent in each method recorded (the sweep's breakdown by query). */
function timedStore(store: KyselyStore, spent: Map<string, number>): KyselyStore {
  return new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const started = performance.now();
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        const record = () => spent.set(String(prop), (spent.get(String(prop)) ?? 0) + performance.now() - started);
        if (result instanceof Promise) return result.finally(record);
        record();
        return result;
      };
    },
  });
}

function percentiles(samples: number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
  return { calls: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? 0 };
}

async function databaseMb(store: KyselyStore): Promise<number> {
  if (store.dialect === "sqlite") {
    const { rows } = await sql<{
      bytes: number;
    }>`select page_count * page_size as bytes from pragma_page_count(), pragma_page_size()`.execute(store.db);
    return Number(rows[0]?.bytes ?? 0) / 1024 ** 2;
  }
  const { rows } = await sql<{ bytes: string }>`select sum(pg_total_relation_size(c.oid))::text as bytes
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = current_schema() and c.relkind = 'r'`.execute(store.db);
  return Number(rows[0]?.bytes ?? 0) / 1024 ** 2;
}

/**
 * `/promote history` and sweep passes on `store` as it stands, for pipelines scalePipelineName(0 ..
 * pipelineCount - 1). Also usable on a store built earlier, before and after a migration.
 */
export async function measureStore(store: KyselyStore, pipelineCount: number): Promise<StoreMeasures> {
  const pipelines = pipelineConfigs(pipelineCount);
  const externalCalls: string[] = [];
  let problemsLogged = 0;
  const log = createLogger({
    level: "info",
    destination: {
      write(line: string) {
        if (/"level":(40|50|60)/.test(line)) problemsLogged += 1;
      },
    },
  });
  const ctx: AppContext = {
    pipelines,
    store,
    heroku: refusingPort<HerokuPort>("heroku", externalCalls),
    gitlab: refusingPort<GitLabPort>("gitlab", externalCalls),
    chat: refusingPort<ChatPort>("slack", externalCalls),
    clock: { now: () => new Date() },
    log,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    newId: randomUUID,
    tuning: DEFAULT_TUNING,
    instanceId: "bench-scale:1:00000000",
    herokuAppsCache: new TtlCache(60_000, 500),
    driftCache: new TtlCache(60 * 60_000, 500),
    dryRun: false,
  };

  // `/promote history <pipeline> [N]` as the listener runs it after the ack: the use case, then the view.
  const bot = new PromoteBot(ctx);
  const pick = seeded(pipelineCount);
  const historyOnce = async (limit: number) => {
    const name = scalePipelineName(Math.floor(pick() * pipelineCount));
    const started = performance.now();
    const { pipeline, requests } = await bot.history(name, limit);
    historyMessage(pipeline.name, requests);
    return performance.now() - started;
  };
  for (let i = 0; i < WARMUP_CALLS; i++) await historyOnce(10);
  const history: number[] = [];
  for (let i = 0; i < HISTORY_CALLS; i++) history.push(await historyOnce(10));
  const history50: number[] = [];
  for (let i = 0; i < HISTORY50_CALLS; i++) history50.push(await historyOnce(50));

  // One sweep pass: Worker.sweep() starts it as the interval does; idle() waits for it and anything it started.
  const spent = new Map<string, number>();
  const worker = new Worker({ ...ctx, store: timedStore(store, spent) });
  const passes: number[] = [];
  for (let i = 0; i < SWEEP_PASSES; i++) {
    const calls = spent.size;
    const started = performance.now();
    worker.sweep();
    await worker.idle();
    passes.push(performance.now() - started);
    // Let the pass clear its "sweeping" flag (set in a later callback) before the next starts.
    await new Promise((resolve) => setImmediate(resolve));
    if (i === 0 && spent.size === calls) throw new Error("the sweep pass ran no query");
  }
  await worker.stop();
  const sortedPasses = [...passes].sort((a, b) => a - b);
  return {
    history: percentiles(history),
    history50: percentiles(history50),
    sweep: {
      passes: passes.length,
      medianMs: sortedPasses[Math.floor(sortedPasses.length / 2)] ?? 0,
      maxMs: sortedPasses.at(-1) ?? 0,
      steps: [...spent.entries()]
        .map(([method, ms]) => ({ method, meanMs: ms / passes.length }))
        .sort((a, b) => b.meanMs - a.meanMs),
    },
    externalCalls: externalCalls.length,
    problemsLogged,
  };
}

/** Builds one store of `size` on `database`, measures history and the sweep on it, and closes it. */
export async function measureScale(options: {
  backend: "sqlite" | "postgres";
  database: TestDatabase;
  size: ScaleSize;
  step?: (text: string) => void;
}): Promise<ScaleRun> {
  const { backend, database, size } = options;
  const step = options.step ?? (() => {});
  const pipelines = pipelineConfigs(size.pipelines);
  const now = Date.now();
  const buildStarted = performance.now();
  // Built through a store of its own (migrations included), on one connection in large transactions;
  // on SQLite with a page cache big enough for the random primary keys (the product's default is 2 MB,
  // and the build would spend a minute reading pages back). Measured through a fresh store opened as
  // the product opens it.
  const builder = await KyselyStore.open(database.config);
  let built: Awaited<ReturnType<typeof fill>>;
  try {
    built = await builder.db.connection().execute(async (db) => {
      if (backend === "sqlite") await sql`PRAGMA cache_size = -1048576`.execute(db);
      await sql`BEGIN`.execute(db);
      const result = await fill(db, size, pipelines, now);
      await sql`COMMIT`.execute(db);
      return result;
    });
  } finally {
    await builder.close();
  }
  const { loader, active } = built;
  const buildS = (performance.now() - buildStarted) / 1000;
  const store = KyselyStore.connect(database.config);
  try {
    // PostgreSQL's autovacuum analyses a table after that many new rows; run it now rather than in
    // the middle of the measures. SQLite keeps no statistics unless ANALYZE is run, which the product
    // never does: its planner works without them, as it does in production.
    const analyzeStarted = performance.now();
    if (backend === "postgres") await sql`VACUUM ANALYZE`.execute(store.db);
    const analyzeS = (performance.now() - analyzeStarted) / 1000;
    const mb = await databaseMb(store);
    step(
      `scale: ${backend}, ${size.pipelines} pipelines: ${loader.counts.audit.toLocaleString("en-US")} audit rows built in ${buildS.toFixed(1)} s (${mb.toFixed(0)} MB)`,
    );

    const measures = await measureStore(store, size.pipelines);
    return { backend, size, rows: { ...loader.counts }, active, buildS, analyzeS, databaseMb: mb, ...measures };
  } finally {
    await store.close();
  }
}
