/**
 * The release view: what the bot knows of each app's releases, kept from Heroku's webhook events, its
 * own actions and its reads (issue 15), with the slug commits and pipeline topologies it has read.
 *
 * Reports of a release may arrive out of order (a retried delivery, an event older than a read): the
 * row keeps the report Heroku changed last (its `updated_at`), so the view never moves back.
 */
import { sql } from "kysely";
import type { AppRelease, AppView, PipelineTopology, Release } from "../../domain/ports.js";
import type { AppRef } from "../../domain/request.js";
import type { StoreDatabase } from "./database.js";
import { date, dateOrNull, iso } from "./rows.js";
import type { AppReleasesTable } from "./schema.js";

/** Releases kept per app: enough for a rollback's choice and a follower's look back. */
const KEEP_PER_APP = 50;

function toRelease(row: AppReleasesTable): Release {
  return {
    id: row.release_id,
    version: Number(row.version),
    status: row.status as Release["status"],
    slugId: row.slug_id,
    current: Number(row.current) === 1,
    createdAt: row.heroku_created_at,
    updatedAt: row.heroku_updated_at,
    description: row.description,
    outputStreamUrl: row.output_stream_url,
    eligibleForRollback: Number(row.eligible_for_rollback) === 1,
    madeBy: row.made_by,
  };
}

/** Heroku's times come as `2016-05-10T07:30:32Z`, the stand-in's with milliseconds: compare them as one form. */
const normalTime = (value: string | undefined, fallback: string): string => {
  const ms = Date.parse(value ?? "");
  return Number.isFinite(ms) ? new Date(ms).toISOString() : fallback;
};

export class ReleaseViewRepository {
  constructor(private readonly database: StoreDatabase) {}

  private async currentOf(appId: string): Promise<Release | undefined> {
    const row = await this.database.db
      .selectFrom("app_releases")
      .selectAll()
      .where("app_id", "=", appId)
      .where("status", "=", "succeeded")
      .orderBy("version", "desc")
      .limit(1)
      .executeTakeFirst();
    return row ? toRelease(row) : undefined;
  }

  async recordRelease(
    release: AppRelease,
    source: "event" | "read" | "action",
    at: Date,
  ): Promise<{ applied: boolean; moved: { from: Release | undefined; to: Release } | null }> {
    const db = this.database.db;
    // Only a release that succeeded can become the current one: only then is what ran before read.
    const before = release.status === "succeeded" ? await this.currentOf(release.app.id) : undefined;
    const createdAt = normalTime(release.createdAt, iso(at));
    const updatedAt = normalTime(release.updatedAt, createdAt);
    const row: AppReleasesTable = {
      app_id: release.app.id,
      version: release.version,
      release_id: release.id,
      status: release.status,
      current: release.current ? 1 : 0,
      slug_id: release.slugId,
      description: release.description,
      made_by: release.madeBy ?? null,
      eligible_for_rollback: release.eligibleForRollback ? 1 : 0,
      output_stream_url: release.outputStreamUrl,
      heroku_created_at: createdAt,
      heroku_updated_at: updatedAt,
      source,
      seen_at: iso(at),
    };
    const result = await db
      .insertInto("app_releases")
      .values(row)
      .onConflict((oc) =>
        oc
          .columns(["app_id", "version"])
          .doUpdateSet({
            release_id: (eb) => eb.ref("excluded.release_id"),
            status: (eb) => eb.ref("excluded.status"),
            current: (eb) => eb.ref("excluded.current"),
            slug_id: (eb) => eb.ref("excluded.slug_id"),
            description: (eb) => eb.ref("excluded.description"),
            made_by: sql<string | null>`coalesce(excluded.made_by, app_releases.made_by)`,
            eligible_for_rollback: (eb) => eb.ref("excluded.eligible_for_rollback"),
            output_stream_url: sql<string | null>`coalesce(excluded.output_stream_url, app_releases.output_stream_url)`,
            heroku_updated_at: (eb) => eb.ref("excluded.heroku_updated_at"),
            source: (eb) => eb.ref("excluded.source"),
            seen_at: (eb) => eb.ref("excluded.seen_at"),
          })
          // Newer by Heroku's clock, or as new and not a step back from a final status to pending.
          .where(
            sql<boolean>`excluded.heroku_updated_at > app_releases.heroku_updated_at
              OR (excluded.heroku_updated_at = app_releases.heroku_updated_at
                  AND NOT (excluded.status = 'pending' AND app_releases.status <> 'pending'))`,
          ),
      )
      .executeTakeFirst();
    const applied = Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
    await this.touchApp(release.app, source, at);
    // Old rows go now and then (every 25th version), not with every report.
    if (applied && release.version % 25 === 0) {
      await db
        .deleteFrom("app_releases")
        .where("app_id", "=", release.app.id)
        .where("version", "<=", release.version - KEEP_PER_APP)
        .execute();
    }
    const moved =
      applied &&
      release.status === "succeeded" &&
      release.version > (before?.version ?? -1) &&
      before?.id !== release.id
        ? { from: before, to: toRelease({ ...row }) }
        : null;
    return { applied, moved };
  }

  /**
   * The app's marks: a release event counts, and moves `last_event_at`; another event (a dyno's) only
   * moves `last_event_at`; a read moves `last_read_at`.
   */
  private async touchApp(app: AppRef, source: "event" | "dyno" | "read" | "action", at: Date): Promise<void> {
    const when = iso(at);
    const event = source === "event" || source === "dyno";
    const releaseEvent = source === "event";
    await this.database.db
      .insertInto("heroku_apps")
      .values({
        app_id: app.id,
        app_name: app.name,
        last_event_at: event ? when : null,
        last_read_at: source === "read" ? when : null,
        release_events: releaseEvent ? 1 : 0,
        outside_announced_version: null,
      })
      .onConflict((oc) =>
        oc.column("app_id").doUpdateSet({
          app_name: app.name,
          ...(event
            ? {
                last_event_at: sql<string>`CASE WHEN heroku_apps.last_event_at IS NULL OR heroku_apps.last_event_at < ${when} THEN ${when} ELSE heroku_apps.last_event_at END`,
              }
            : {}),
          ...(releaseEvent ? { release_events: sql<number>`heroku_apps.release_events + 1` } : {}),
          ...(source === "read" ? { last_read_at: when } : {}),
        }),
      )
      .execute();
  }

  async markAppEvent(app: AppRef, at: Date): Promise<void> {
    await this.touchApp(app, "dyno", at);
  }

  async appViews(appIds: string[]): Promise<Map<string, AppView>> {
    const views = new Map<string, AppView>();
    if (appIds.length === 0) return views;
    const db = this.database.db;
    const [apps, releases] = await Promise.all([
      db.selectFrom("heroku_apps").selectAll().where("app_id", "in", appIds).execute(),
      // The newest few of each app are enough: the current one is the newest that succeeded, and a
      // release phase rarely leaves more than a couple of pending or failed ones above it.
      db
        .selectFrom("app_releases")
        .selectAll()
        .where("app_id", "in", appIds)
        .orderBy("app_id")
        .orderBy("version", "desc")
        .execute(),
    ]);
    const slugIds = new Set<string>();
    const byApp = new Map<string, AppReleasesTable[]>();
    for (const row of releases) {
      const list = byApp.get(row.app_id) ?? [];
      list.push(row);
      byApp.set(row.app_id, list);
    }
    const partial = new Map<string, Omit<AppView, "commit"> & { slugId: string | null }>();
    for (const app of apps) {
      const rows = byApp.get(app.app_id) ?? [];
      const held = rows.map(toRelease);
      const newest = held[0];
      const current = held.find((r) => r.status === "succeeded");
      if (current?.slugId) slugIds.add(current.slugId);
      partial.set(app.app_id, {
        app: { id: app.app_id, name: app.app_name },
        current,
        newest,
        releases: held,
        lastEventAt: dateOrNull(app.last_event_at),
        lastReadAt: dateOrNull(app.last_read_at),
        releaseEvents: Number(app.release_events),
        slugId: current?.slugId ?? null,
      });
    }
    const commits = await this.slugCommits([...slugIds]);
    for (const [appId, { slugId, ...view }] of partial) {
      views.set(appId, { ...view, commit: slugId ? (commits.get(slugId) ?? null) : null });
    }
    return views;
  }

  async eventMarks(appIds: string[]): Promise<Map<string, { lastEventAt: Date | null; releaseEvents: number }>> {
    const marks = new Map<string, { lastEventAt: Date | null; releaseEvents: number }>();
    if (appIds.length === 0) return marks;
    const rows = await this.database.db
      .selectFrom("heroku_apps")
      .select(["app_id", "last_event_at", "release_events"])
      .where("app_id", "in", appIds)
      .execute();
    for (const row of rows) {
      marks.set(row.app_id, { lastEventAt: dateOrNull(row.last_event_at), releaseEvents: Number(row.release_events) });
    }
    return marks;
  }

  async slugCommits(slugIds: string[]): Promise<Map<string, string | null>> {
    const found = new Map<string, string | null>();
    if (slugIds.length === 0) return found;
    const rows = await this.database.db
      .selectFrom("slug_commits")
      .selectAll()
      .where("slug_id", "in", slugIds)
      .execute();
    for (const row of rows) found.set(row.slug_id, row.commit_sha);
    return found;
  }

  async recordSlugCommit(slugId: string, commit: string | null): Promise<void> {
    await this.database.db
      .insertInto("slug_commits")
      .values({ slug_id: slugId, commit_sha: commit })
      .onConflict((oc) => oc.column("slug_id").doNothing())
      .execute();
  }

  async claimOutsideRelease(appId: string, version: number): Promise<boolean> {
    const result = await this.database.db
      .updateTable("heroku_apps")
      .set({ outside_announced_version: version })
      .where("app_id", "=", appId)
      .where((eb) =>
        eb.or([eb("outside_announced_version", "is", null), eb("outside_announced_version", "<", version)]),
      )
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async releaseOutsideClaim(appId: string, version: number): Promise<void> {
    // Back to "none announced" only if nothing newer was claimed meanwhile.
    await this.database.db
      .updateTable("heroku_apps")
      .set({ outside_announced_version: version - 1 })
      .where("app_id", "=", appId)
      .where("outside_announced_version", "=", version)
      .execute();
  }

  async pipelineTopology(name: string): Promise<{ side: PipelineTopology; readAt: Date } | undefined> {
    const row = await this.database.db
      .selectFrom("heroku_pipelines")
      .selectAll()
      .where("name", "=", name)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      side: {
        pipelineId: row.pipeline_id,
        source: JSON.parse(row.source) as AppRef,
        targets: JSON.parse(row.targets) as AppRef[],
      },
      readAt: date(row.read_at),
    };
  }

  async recordPipelineTopology(name: string, side: PipelineTopology, at: Date): Promise<void> {
    const values = {
      name,
      pipeline_id: side.pipelineId,
      source: JSON.stringify(side.source),
      targets: JSON.stringify(side.targets),
      read_at: iso(at),
    };
    await this.database.db
      .insertInto("heroku_pipelines")
      .values(values)
      .onConflict((oc) =>
        oc.column("name").doUpdateSet({
          pipeline_id: values.pipeline_id,
          source: values.source,
          targets: values.targets,
          read_at: values.read_at,
        }),
      )
      .execute();
  }
}
