/**
 * Which request messages are posted and settled: the claim on posting one (timed by the database's
 * clock), the requests left without one, and those whose message the sweep brings up to date once
 * more after a change to a final state or to an unknown outcome.
 */
import type { ExpressionBuilder } from "kysely";
import { FINAL_STATES, type PromotionRequest, type RequestState } from "../../domain/request.js";
import type { StoreDatabase } from "./database.js";
import { iso, POSTING, toRequest } from "./rows.js";
import type { Database } from "./schema.js";

export class MessageLedger {
  constructor(private readonly database: StoreDatabase) {}

  async requestsWithoutMessage(graceMs: number): Promise<PromotionRequest[]> {
    const rows = await this.database.db
      .selectFrom("requests")
      .selectAll()
      // Whatever its state: a request that ended before its message could be posted (Slack failed the
      // first post, then it was cancelled or promoted) still gets one showing how it ended. Only the
      // last day's, so that a deploy does not post old history. created_at is the creating process's
      // clock, so it only decides for a request nobody claimed (the creator claims at once, so one left
      // unclaimed past the grace was lost in a crash); a claim goes stale by the database's clock alone.
      .where("created_at", ">", this.database.dbTime(-24 * 3_600_000))
      .where((eb) =>
        eb.or([
          eb.and([eb("message_ts", "is", null), eb("created_at", "<", this.database.dbTime(-graceMs))]),
          this.staleClaim(eb, graceMs),
        ]),
      )
      .execute();
    return rows.map(toRequest);
  }

  /** A claim on posting a message that is older than `graceMs` by the database's clock (or predates the clock column). */
  private staleClaim(eb: ExpressionBuilder<Database, "requests">, graceMs: number) {
    return eb.and([
      eb("message_ts", "=", POSTING),
      eb.or([eb("message_claimed_at", "is", null), eb("message_claimed_at", "<", this.database.dbTime(-graceMs))]),
    ]);
  }

  async unsettledMessages(settleMs: number, limit: number): Promise<PromotionRequest[]> {
    const rows = await this.database.db
      .selectFrom("requests")
      .selectAll()
      // Every change of state clears message_settled_at (transitionRequest); a request whose outcome is
      // unknown is settled as a finished one is: it waits for an approver, showing what the bot knows.
      .where("state", "in", [...FINAL_STATES, "unknown"])
      .where((eb) => eb(eb.fn.coalesce("state_changed_at", "finished_at"), "<", this.database.dbTime(-settleMs)))
      .where("message_settled_at", "is", null)
      .where("message_ts", "is not", null)
      .where("message_ts", "!=", POSTING)
      .orderBy("finished_at")
      .limit(limit)
      .execute();
    return rows.map(toRequest);
  }

  /** Only while the request is still in `state`: a change since needs its own settling. */
  async markMessageSettled(id: string, state: RequestState, at: Date): Promise<void> {
    await this.database.db
      .updateTable("requests")
      .set({ message_settled_at: iso(at) })
      .where("id", "=", id)
      .where("state", "=", state)
      .execute();
  }

  async claimMessagePosting(id: string, graceMs: number): Promise<PromotionRequest | undefined> {
    const row = await this.database.db
      .updateTable("requests")
      .set({ message_ts: POSTING, message_claimed_at: this.database.dbTime(), updated_at: iso(new Date()) })
      .where("id", "=", id)
      .where((eb) => eb.or([eb("message_ts", "is", null), this.staleClaim(eb, graceMs)]))
      .returningAll()
      .executeTakeFirst();
    return row ? { ...toRequest(row), messageTs: null } : undefined;
  }
}
