/** Webhook deliveries: recorded once, claimed with a lease, retried with backoff, finished once. */
import { sql } from "kysely";
import type { Delivery } from "../../domain/records.js";
import type { StoreDatabase } from "./database.js";
import { date, iso } from "./rows.js";

export class DeliveryRepository {
  constructor(private readonly database: StoreDatabase) {}

  async recordDelivery(d: {
    id: string;
    event: string;
    body: string;
    receivedAt: Date;
    state?: "received" | "done";
  }): Promise<boolean> {
    const result = await this.database.db
      .insertInto("deliveries")
      .values({
        id: d.id,
        event: d.event,
        body: d.body,
        received_at: iso(d.receivedAt),
        state: d.state ?? "received",
        attempts: 0,
        lease_owner: null,
        lease_until: null,
        last_error: null,
        finished_at: d.state === "done" ? iso(d.receivedAt) : null,
      })
      // A delivery that failed for good and is sent again (an operator's "Resend request" in GitLab) gets
      // a fresh series of attempts; any other redelivery is a duplicate.
      .onConflict((oc) =>
        oc
          .column("id")
          .doUpdateSet({
            state: "received",
            attempts: 0,
            body: (eb) => eb.ref("excluded.body"),
            lease_owner: null,
            lease_until: null,
            finished_at: null,
          })
          .where("deliveries.state", "=", "failed"),
      )
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async claimDelivery(id: string, owner: string, now: Date, leaseMs: number): Promise<Delivery | undefined> {
    const row = await this.database.db
      .updateTable("deliveries")
      .set((eb) => ({
        state: "processing",
        lease_owner: owner,
        lease_until: iso(new Date(now.getTime() + leaseMs)),
        attempts: eb("attempts", "+", 1),
      }))
      .where("id", "=", id)
      .where((eb) =>
        eb.or([
          eb("state", "=", "received"),
          eb.and([eb("state", "=", "processing"), eb("lease_until", "<", iso(now))]),
        ]),
      )
      .returningAll()
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      id: row.id,
      event: row.event,
      body: row.body,
      receivedAt: date(row.received_at),
      state: row.state as Delivery["state"],
      attempts: Number(row.attempts),
      lastError: row.last_error,
    };
  }

  async finishDelivery(id: string, state: "done" | "failed", error?: string): Promise<void> {
    await this.database.db
      .updateTable("deliveries")
      .set({
        state,
        lease_owner: null,
        lease_until: null,
        last_error: error ?? null,
        finished_at: iso(new Date()),
        // The body is only needed until the delivery is processed.
        body: state === "done" ? "" : sql<string>`body`,
      })
      .where("id", "=", id)
      .execute();
  }

  async retryDeliveryLater(id: string, owner: string, at: Date, error: string): Promise<void> {
    // A lease nobody holds that runs out at `at`: the sweep and claimDelivery take it up from then.
    await this.database.db
      .updateTable("deliveries")
      .set({ state: "processing", lease_owner: null, lease_until: iso(at), last_error: error.slice(0, 500) })
      .where("id", "=", id)
      .where("state", "=", "processing")
      .where("lease_owner", "=", owner)
      .execute();
  }

  async releaseDelivery(id: string, owner: string): Promise<void> {
    await this.database.db
      .updateTable("deliveries")
      .set({ state: "received", lease_owner: null, lease_until: null })
      .where("id", "=", id)
      .where("state", "=", "processing")
      .where("lease_owner", "=", owner)
      .execute();
  }

  async unfinishedDeliveries(now: Date, limit: number): Promise<string[]> {
    const rows = await this.database.db
      .selectFrom("deliveries")
      .select("id")
      .where((eb) =>
        eb.or([
          eb("state", "=", "received"),
          eb.and([eb("state", "=", "processing"), eb("lease_until", "<", iso(now))]),
        ]),
      )
      .orderBy("received_at")
      .limit(limit)
      .execute();
    return rows.map((r) => r.id);
  }
}
