/**
 * Versioned schema migrations, run at start-up and by the Procfile's release phase.
 * Each migration is written once for both backends; the few differences are switched on the dialect.
 */
import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from "kysely";

export type Dialect = "sqlite" | "postgres";

function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    "0001_initial": {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable("deliveries")
          .addColumn("id", "text", (c) => c.primaryKey())
          .addColumn("event", "text", (c) => c.notNull())
          .addColumn("body", "text", (c) => c.notNull())
          .addColumn("received_at", "text", (c) => c.notNull())
          .addColumn("state", "text", (c) => c.notNull())
          .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
          .addColumn("lease_owner", "text")
          .addColumn("lease_until", "text")
          .addColumn("last_error", "text")
          .addColumn("finished_at", "text")
          .execute();
        await db.schema
          .createIndex("deliveries_unfinished")
          .on("deliveries")
          .columns(["state", "received_at"])
          .execute();

        await db.schema
          .createTable("candidates")
          .addColumn("id", "text", (c) => c.primaryKey())
          .addColumn("pipeline", "text", (c) => c.notNull())
          .addColumn("heroku_pipeline_id", "text", (c) => c.notNull())
          .addColumn("source_app_id", "text", (c) => c.notNull())
          .addColumn("source_app_name", "text", (c) => c.notNull())
          .addColumn("release_id", "text", (c) => c.notNull())
          .addColumn("release_version", "integer", (c) => c.notNull())
          .addColumn("slug_id", "text")
          .addColumn("commit_sha", "text", (c) => c.notNull())
          .addColumn("commit_title", "text")
          .addColumn("commit_author", "text")
          .addColumn("ci_pipeline_id", "bigint", (c) => c.notNull())
          .addColumn("ci_pipeline_url", "text", (c) => c.notNull())
          .addColumn("channel", "text", (c) => c.notNull())
          .addColumn("message_ts", "text", (c) => c.notNull())
          .addColumn("state", "text", (c) => c.notNull())
          .addColumn("superseded_by", "integer")
          .addColumn("created_at", "text", (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex("candidates_pipeline_state")
          .on("candidates")
          .columns(["pipeline", "state"])
          .execute();

        await db.schema
          .createTable("requests")
          .addColumn("id", "text", (c) => c.primaryKey())
          .addColumn("pipeline", "text", (c) => c.notNull())
          .addColumn("heroku_pipeline_id", "text", (c) => c.notNull())
          .addColumn("source_app_id", "text", (c) => c.notNull())
          .addColumn("source_app_name", "text", (c) => c.notNull())
          .addColumn("source_release_id", "text", (c) => c.notNull())
          .addColumn("source_release_version", "integer", (c) => c.notNull())
          .addColumn("slug_id", "text")
          .addColumn("commit_sha", "text", (c) => c.notNull())
          .addColumn("commit_title", "text")
          .addColumn("commits_behind", "integer")
          .addColumn("target_apps", "text", (c) => c.notNull())
          .addColumn("requester", "text", (c) => c.notNull())
          .addColumn("required_approvals", "integer", (c) => c.notNull())
          .addColumn("created_at", "text", (c) => c.notNull())
          .addColumn("expires_at", "text", (c) => c.notNull())
          .addColumn("state", "text", (c) => c.notNull())
          .addColumn("channel", "text", (c) => c.notNull())
          .addColumn("message_ts", "text")
          .addColumn("candidate_id", "text")
          .addColumn("promotion_id", "text")
          .addColumn("promotion_started_at", "text")
          .addColumn("finished_at", "text")
          .addColumn("decided_by", "text")
          .addColumn("reason", "text")
          .addColumn("outcome", "text")
          .addColumn("lease_owner", "text")
          .addColumn("lease_until", "text")
          .addColumn("updated_at", "text", (c) => c.notNull())
          .execute();
        // At most one active request per pipeline, enforced by the database so that two
        // simultaneous `/promote` commands (even on two dynos) cannot both create one.
        await sql`CREATE UNIQUE INDEX requests_one_active_per_pipeline ON requests (pipeline) WHERE state IN ('pending', 'promoting')`.execute(
          db,
        );
        await db.schema.createIndex("requests_state_expires").on("requests").columns(["state", "expires_at"]).execute();
        await db.schema
          .createIndex("requests_pipeline_created")
          .on("requests")
          .columns(["pipeline", "created_at"])
          .execute();

        await db.schema
          .createTable("approvals")
          .addColumn("request_id", "text", (c) => c.notNull().references("requests.id").onDelete("cascade"))
          .addColumn("approver", "text", (c) => c.notNull())
          .addColumn("at", "text", (c) => c.notNull())
          .addPrimaryKeyConstraint("approvals_pk", ["request_id", "approver"])
          .execute();

        await db.schema
          .createTable("audit")
          .addColumn("id", dialect === "postgres" ? "bigserial" : "integer", (c) =>
            dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement(),
          )
          .addColumn("request_id", "text")
          .addColumn("pipeline", "text", (c) => c.notNull())
          .addColumn("event", "text", (c) => c.notNull())
          .addColumn("actor", "text")
          .addColumn("at", "text", (c) => c.notNull())
          .addColumn("detail", "text", (c) => c.notNull())
          .execute();
        await db.schema.createIndex("audit_request").on("audit").columns(["request_id", "id"]).execute();
        await db.schema.createIndex("audit_pipeline").on("audit").columns(["pipeline", "id"]).execute();
      },
    },
    "0002_locks_and_overrides": {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable("locks")
          .addColumn("pipeline", "text", (c) => c.primaryKey())
          .addColumn("reason", "text", (c) => c.notNull())
          .addColumn("locked_by", "text", (c) => c.notNull())
          .addColumn("locked_at", "text", (c) => c.notNull())
          .execute();
        await db.schema.alterTable("requests").addColumn("override_reason", "text").execute();
      },
    },
    "0003_rollbacks": {
      async up(db: Kysely<unknown>) {
        await db.schema
          .alterTable("requests")
          .addColumn("kind", "text", (c) => c.notNull().defaultTo("promotion"))
          .execute();
        // For rollbacks: JSON array of the release each target app goes back to.
        await db.schema.alterTable("requests").addColumn("rollback_to", "text").execute();
      },
    },
    "0004_baselines_and_unique_candidates": {
      async up(db: Kysely<unknown>) {
        // JSON {appId: version}: each target's newest release version just before the POST, so that a
        // process recovering from a crash recognises only releases made after it.
        await db.schema.alterTable("requests").addColumn("baseline", "text").execute();
        // One announcement per release, even when two deliveries for it are processed at once.
        await db.schema
          .createIndex("candidates_one_per_release")
          .on("candidates")
          .columns(["pipeline", "release_id"])
          .unique()
          .execute();
      },
    },
    "0005_gitlab_jobs": {
      async up(db: Kysely<unknown>) {
        // For strategy gitlab-job: the manual production job (JSON {id, name, pipelineId}) a candidate
        // announces and a request plays.
        await db.schema.alterTable("requests").addColumn("gitlab_job", "text").execute();
        await db.schema.alterTable("candidates").addColumn("gitlab_job", "text").execute();
      },
    },
    "0006_override_gates": {
      async up(db: Kysely<unknown>) {
        // Which lock or freeze window an override was given for (gateKey), so it covers no later one.
        await db.schema.alterTable("requests").addColumn("override_gate", "text").execute();
      },
    },
    "0007_settled_messages": {
      async up(db: Kysely<unknown>) {
        // When a finished request's message was last brought up to date by the sweep (null: not yet).
        await db.schema.alterTable("requests").addColumn("message_settled_at", "text").execute();
        // Requests finished before this version are taken as settled: no burst of updates on deploy.
        await sql`UPDATE requests SET message_settled_at = updated_at WHERE finished_at IS NOT NULL`.execute(db);
      },
    },
    "0008_unknown_outcomes": {
      async up(db: Kysely<unknown>) {
        // A request whose outcome is unknown holds its pipeline like a pending or promoting one: until an
        // approver records what happened or tries again, no other request may change production.
        await sql`DROP INDEX requests_one_active_per_pipeline`.execute(db);
        await sql`CREATE UNIQUE INDEX requests_one_active_per_pipeline ON requests (pipeline) WHERE state IN ('pending', 'promoting', 'unknown')`.execute(
          db,
        );
      },
    },
    "0009_message_claims": {
      async up(db: Kysely<unknown>) {
        // When the post of a request's message was claimed, by the database's clock: a claim goes stale
        // by it, as a lease does, so that a process whose clock runs ahead does not take over a post
        // still in flight. (updated_at is any process's clock and moves with every change.)
        await db.schema.alterTable("requests").addColumn("message_claimed_at", "text").execute();
      },
    },
    "0010_state_changes": {
      async up(db: Kysely<unknown>) {
        // When a request last changed state, by the database's clock: the sweep brings its message up
        // to date once more a while after every change that shows an outcome (unknown included), not
        // only after it finished. Rows from before count from finished_at.
        await db.schema.alterTable("requests").addColumn("state_changed_at", "text").execute();
      },
    },
    "0011_release_view": {
      async up(db: Kysely<unknown>) {
        // What the bot knows of each app's releases (issue 15): kept from Heroku's webhook events, the
        // bot's own actions and its reads, so that read-only views need not ask Heroku every time.
        // One row per release; a report older than the row (by Heroku's updated_at) is ignored.
        await db.schema
          .createTable("app_releases")
          .addColumn("app_id", "text", (c) => c.notNull())
          .addColumn("version", "integer", (c) => c.notNull())
          .addColumn("release_id", "text", (c) => c.notNull())
          .addColumn("status", "text", (c) => c.notNull())
          .addColumn("current", "integer", (c) => c.notNull())
          .addColumn("slug_id", "text")
          .addColumn("description", "text", (c) => c.notNull())
          .addColumn("made_by", "text")
          .addColumn("eligible_for_rollback", "integer", (c) => c.notNull())
          .addColumn("output_stream_url", "text")
          .addColumn("heroku_created_at", "text", (c) => c.notNull())
          .addColumn("heroku_updated_at", "text", (c) => c.notNull())
          .addColumn("source", "text", (c) => c.notNull())
          .addColumn("seen_at", "text", (c) => c.notNull())
          .addPrimaryKeyConstraint("app_releases_pk", ["app_id", "version"])
          .execute();
        // Per app: when events and reads last came, how many release events were applied (a follower
        // compares the count), and the newest release made outside the bot that was announced.
        await db.schema
          .createTable("heroku_apps")
          .addColumn("app_id", "text", (c) => c.primaryKey())
          .addColumn("app_name", "text", (c) => c.notNull())
          .addColumn("last_event_at", "text")
          .addColumn("last_read_at", "text")
          .addColumn("release_events", "integer", (c) => c.notNull().defaultTo(0))
          .addColumn("outside_announced_version", "integer")
          .execute();
        await db.schema
          .createTable("slug_commits")
          .addColumn("slug_id", "text", (c) => c.primaryKey())
          .addColumn("commit_sha", "text")
          .execute();
        await db.schema
          .createTable("heroku_pipelines")
          .addColumn("name", "text", (c) => c.primaryKey())
          .addColumn("pipeline_id", "text", (c) => c.notNull())
          .addColumn("source", "text", (c) => c.notNull())
          .addColumn("targets", "text", (c) => c.notNull())
          .addColumn("read_at", "text", (c) => c.notNull())
          .execute();
      },
    },
    "0012_scale_indexes": {
      async up(db: Kysely<unknown>) {
        // Every sweep pass (every 10 s) looks for requests whose message needs work. Without these two
        // indexes both lookups read the whole requests table, so a pass grew with the history kept
        // (issue 15, bench/measure-scale.ts: with 1,000 pipelines' history, 160,000 requests, a pass took
        // 0.2 to 0.3 s, up to 0.8 s, on SQLite and PostgreSQL, about 20 times its time at 100 pipelines;
        // with these indexes, 1 to 2 ms).
        // unsettledMessages: `message_settled_at IS NULL` is an equality on the first column (the few
        // unsettled requests), ordered by finished_at as the query is. Not partial: SQLite's planner
        // prefers the state index over a partial one here.
        await db.schema
          .createIndex("requests_unsettled")
          .on("requests")
          .columns(["message_settled_at", "finished_at"])
          .execute();
        // requestsWithoutMessage: the handful of requests whose message is unposted or being posted
        // ('posting', rows.ts POSTING). Partial, because the query's time bounds are the database's
        // clock (clock_timestamp() on PostgreSQL, volatile), which no index range can use there; both
        // planners see that each arm of the query's OR implies the index's condition.
        await sql`CREATE INDEX requests_unposted ON requests (created_at) WHERE message_ts IS NULL OR message_ts = 'posting'`.execute(
          db,
        );
      },
    },
    "0013_request_drift": {
      async up(db: Kysely<unknown>) {
        // The last drift check of a request (issue 16): what differs between the source and the targets,
        // what could not be checked, and an approver's override of it.
        await db.schema.alterTable("requests").addColumn("drift", "text").execute();
      },
    },
  };
}

class InCodeMigrations implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations(this.dialect);
  }
}

/** Brings the schema up to date; throws with the failing migration's name. */
export async function migrateToLatest(db: Kysely<unknown>, dialect: Dialect): Promise<string[]> {
  // Kysely looks for its bookkeeping tables in every schema it can see; pin them to the schema the
  // connection writes to, or a table of the same name in another schema hides a missing one.
  const schema =
    dialect === "postgres"
      ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema
      : undefined;
  const migrator = new Migrator({
    db,
    provider: new InCodeMigrations(dialect),
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === "Error");
  if (error) {
    const cause = error instanceof Error ? error.message : String(error);
    throw new Error(`database migration ${failed?.migrationName ?? ""} failed: ${cause}`);
  }
  return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}
