/**
 * The Store over Kysely, for SQLite (embedded default, WAL) and PostgreSQL (Heroku, several dynos): one
 * database handle (database.ts) shared by one repository a aggregate, each in its own file
 * (deliveries, candidates, requests and approvals, the message ledger, promotion leases, locks, the
 * audit log), with row mapping in rows.ts. Every state change is a conditional UPDATE … RETURNING, so
 * it happens exactly once across processes. This class only opens the database and hands each call to
 * its repository; code that needs one aggregate can take that repository (or its port) alone.
 */
import type { Kysely } from "kysely";
import type { DatabaseConfig } from "../../config.js";
import type { Store } from "../../domain/ports.js";
import { AuditLog } from "./audit-log.js";
import { CandidateRepository } from "./candidates.js";
import { StoreDatabase } from "./database.js";
import { DeliveryRepository } from "./deliveries.js";
import { LockRepository } from "./locks.js";
import { MessageLedger } from "./message-ledger.js";
import type { Dialect } from "./migrations.js";
import { PromotionLeases } from "./promotion-leases.js";
import { ReleaseViewRepository } from "./release-view.js";
import { RequestRepository } from "./requests.js";
import type { Database } from "./schema.js";

export class KyselyStore implements Store {
  readonly deliveries: DeliveryRepository;
  readonly candidates: CandidateRepository;
  readonly requests: RequestRepository;
  readonly messages: MessageLedger;
  readonly leases: PromotionLeases;
  readonly locks: LockRepository;
  readonly auditLog: AuditLog;
  readonly releaseView: ReleaseViewRepository;

  private constructor(private readonly database: StoreDatabase) {
    this.deliveries = new DeliveryRepository(database);
    this.candidates = new CandidateRepository(database);
    this.requests = new RequestRepository(database);
    this.messages = new MessageLedger(database);
    this.leases = new PromotionLeases(database);
    this.locks = new LockRepository(database);
    this.auditLog = new AuditLog(database);
    this.releaseView = new ReleaseViewRepository(database);
  }

  /** Opens the database and brings its schema up to date. */
  static async open(config: DatabaseConfig, options: { migrate?: boolean } = {}): Promise<KyselyStore> {
    const store = KyselyStore.connect(config);
    if (options.migrate !== false) {
      try {
        await store.migrate();
      } catch (error) {
        await store.close();
        throw error;
      }
    }
    return store;
  }

  static connect(config: DatabaseConfig): KyselyStore {
    return new KyselyStore(StoreDatabase.connect(config));
  }

  get db(): Kysely<Database> {
    return this.database.db;
  }

  get dialect(): Dialect {
    return this.database.dialect;
  }

  migrate(): Promise<string[]> {
    return this.database.migrate();
  }

  ping(): Promise<void> {
    return this.database.ping();
  }

  /** Writes the audit rows still queued (denials are written a tick later), then closes. */
  async close(): Promise<void> {
    await this.auditLog.flush();
    await this.database.close();
  }

  // DeliveryRepository
  recordDelivery(
    ...args: Parameters<DeliveryRepository["recordDelivery"]>
  ): ReturnType<DeliveryRepository["recordDelivery"]> {
    return this.deliveries.recordDelivery(...args);
  }
  claimDelivery(
    ...args: Parameters<DeliveryRepository["claimDelivery"]>
  ): ReturnType<DeliveryRepository["claimDelivery"]> {
    return this.deliveries.claimDelivery(...args);
  }
  finishDelivery(
    ...args: Parameters<DeliveryRepository["finishDelivery"]>
  ): ReturnType<DeliveryRepository["finishDelivery"]> {
    return this.deliveries.finishDelivery(...args);
  }
  retryDeliveryLater(
    ...args: Parameters<DeliveryRepository["retryDeliveryLater"]>
  ): ReturnType<DeliveryRepository["retryDeliveryLater"]> {
    return this.deliveries.retryDeliveryLater(...args);
  }
  releaseDelivery(
    ...args: Parameters<DeliveryRepository["releaseDelivery"]>
  ): ReturnType<DeliveryRepository["releaseDelivery"]> {
    return this.deliveries.releaseDelivery(...args);
  }
  unfinishedDeliveries(
    ...args: Parameters<DeliveryRepository["unfinishedDeliveries"]>
  ): ReturnType<DeliveryRepository["unfinishedDeliveries"]> {
    return this.deliveries.unfinishedDeliveries(...args);
  }
  // CandidateRepository
  insertCandidate(
    ...args: Parameters<CandidateRepository["insertCandidate"]>
  ): ReturnType<CandidateRepository["insertCandidate"]> {
    return this.candidates.insertCandidate(...args);
  }
  getCandidate(
    ...args: Parameters<CandidateRepository["getCandidate"]>
  ): ReturnType<CandidateRepository["getCandidate"]> {
    return this.candidates.getCandidate(...args);
  }
  liveCandidates(
    ...args: Parameters<CandidateRepository["liveCandidates"]>
  ): ReturnType<CandidateRepository["liveCandidates"]> {
    return this.candidates.liveCandidates(...args);
  }
  setCandidateMessage(
    ...args: Parameters<CandidateRepository["setCandidateMessage"]>
  ): ReturnType<CandidateRepository["setCandidateMessage"]> {
    return this.candidates.setCandidateMessage(...args);
  }
  transitionCandidate(
    ...args: Parameters<CandidateRepository["transitionCandidate"]>
  ): ReturnType<CandidateRepository["transitionCandidate"]> {
    return this.candidates.transitionCandidate(...args);
  }
  // RequestRepository
  createRequest(
    ...args: Parameters<RequestRepository["createRequest"]>
  ): ReturnType<RequestRepository["createRequest"]> {
    return this.requests.createRequest(...args);
  }
  getRequest(...args: Parameters<RequestRepository["getRequest"]>): ReturnType<RequestRepository["getRequest"]> {
    return this.requests.getRequest(...args);
  }
  activeRequest(
    ...args: Parameters<RequestRepository["activeRequest"]>
  ): ReturnType<RequestRepository["activeRequest"]> {
    return this.requests.activeRequest(...args);
  }
  transitionRequest(
    ...args: Parameters<RequestRepository["transitionRequest"]>
  ): ReturnType<RequestRepository["transitionRequest"]> {
    return this.requests.transitionRequest(...args);
  }
  updateRequest(
    ...args: Parameters<RequestRepository["updateRequest"]>
  ): ReturnType<RequestRepository["updateRequest"]> {
    return this.requests.updateRequest(...args);
  }
  addApproval(...args: Parameters<RequestRepository["addApproval"]>): ReturnType<RequestRepository["addApproval"]> {
    return this.requests.addApproval(...args);
  }
  approvals(...args: Parameters<RequestRepository["approvals"]>): ReturnType<RequestRepository["approvals"]> {
    return this.requests.approvals(...args);
  }
  fullyApprovedPending(
    ...args: Parameters<RequestRepository["fullyApprovedPending"]>
  ): ReturnType<RequestRepository["fullyApprovedPending"]> {
    return this.requests.fullyApprovedPending(...args);
  }
  expiredRequests(
    ...args: Parameters<RequestRepository["expiredRequests"]>
  ): ReturnType<RequestRepository["expiredRequests"]> {
    return this.requests.expiredRequests(...args);
  }
  recentRequests(
    ...args: Parameters<RequestRepository["recentRequests"]>
  ): ReturnType<RequestRepository["recentRequests"]> {
    return this.requests.recentRequests(...args);
  }
  lastFinishedPromotion(
    ...args: Parameters<RequestRepository["lastFinishedPromotion"]>
  ): ReturnType<RequestRepository["lastFinishedPromotion"]> {
    return this.requests.lastFinishedPromotion(...args);
  }
  // MessageLedger
  requestsWithoutMessage(
    ...args: Parameters<MessageLedger["requestsWithoutMessage"]>
  ): ReturnType<MessageLedger["requestsWithoutMessage"]> {
    return this.messages.requestsWithoutMessage(...args);
  }
  unsettledMessages(
    ...args: Parameters<MessageLedger["unsettledMessages"]>
  ): ReturnType<MessageLedger["unsettledMessages"]> {
    return this.messages.unsettledMessages(...args);
  }
  markMessageSettled(
    ...args: Parameters<MessageLedger["markMessageSettled"]>
  ): ReturnType<MessageLedger["markMessageSettled"]> {
    return this.messages.markMessageSettled(...args);
  }
  claimMessagePosting(
    ...args: Parameters<MessageLedger["claimMessagePosting"]>
  ): ReturnType<MessageLedger["claimMessagePosting"]> {
    return this.messages.claimMessagePosting(...args);
  }
  // PromotionLeases
  databaseNow(...args: Parameters<PromotionLeases["databaseNow"]>): ReturnType<PromotionLeases["databaseNow"]> {
    return this.leases.databaseNow(...args);
  }
  claimPromotion(
    ...args: Parameters<PromotionLeases["claimPromotion"]>
  ): ReturnType<PromotionLeases["claimPromotion"]> {
    return this.leases.claimPromotion(...args);
  }
  renewPromotionLease(
    ...args: Parameters<PromotionLeases["renewPromotionLease"]>
  ): ReturnType<PromotionLeases["renewPromotionLease"]> {
    return this.leases.renewPromotionLease(...args);
  }
  markPromotionStarted(
    ...args: Parameters<PromotionLeases["markPromotionStarted"]>
  ): ReturnType<PromotionLeases["markPromotionStarted"]> {
    return this.leases.markPromotionStarted(...args);
  }
  releasePromotionLease(
    ...args: Parameters<PromotionLeases["releasePromotionLease"]>
  ): ReturnType<PromotionLeases["releasePromotionLease"]> {
    return this.leases.releasePromotionLease(...args);
  }
  // LockRepository
  getLock(...args: Parameters<LockRepository["getLock"]>): ReturnType<LockRepository["getLock"]> {
    return this.locks.getLock(...args);
  }
  lock(...args: Parameters<LockRepository["lock"]>): ReturnType<LockRepository["lock"]> {
    return this.locks.lock(...args);
  }
  unlock(...args: Parameters<LockRepository["unlock"]>): ReturnType<LockRepository["unlock"]> {
    return this.locks.unlock(...args);
  }
  // AuditLog
  audit(...args: Parameters<AuditLog["audit"]>): ReturnType<AuditLog["audit"]> {
    return this.auditLog.audit(...args);
  }
  auditUnlessRecent(...args: Parameters<AuditLog["auditUnlessRecent"]>): ReturnType<AuditLog["auditUnlessRecent"]> {
    return this.auditLog.auditUnlessRecent(...args);
  }
  auditFor(...args: Parameters<AuditLog["auditFor"]>): ReturnType<AuditLog["auditFor"]> {
    return this.auditLog.auditFor(...args);
  }
  // ReleaseViewRepository
  eventMarks(
    ...args: Parameters<ReleaseViewRepository["eventMarks"]>
  ): ReturnType<ReleaseViewRepository["eventMarks"]> {
    return this.releaseView.eventMarks(...args);
  }
  recordRelease(
    ...args: Parameters<ReleaseViewRepository["recordRelease"]>
  ): ReturnType<ReleaseViewRepository["recordRelease"]> {
    return this.releaseView.recordRelease(...args);
  }
  markAppEvent(
    ...args: Parameters<ReleaseViewRepository["markAppEvent"]>
  ): ReturnType<ReleaseViewRepository["markAppEvent"]> {
    return this.releaseView.markAppEvent(...args);
  }
  appViews(...args: Parameters<ReleaseViewRepository["appViews"]>): ReturnType<ReleaseViewRepository["appViews"]> {
    return this.releaseView.appViews(...args);
  }
  slugCommits(
    ...args: Parameters<ReleaseViewRepository["slugCommits"]>
  ): ReturnType<ReleaseViewRepository["slugCommits"]> {
    return this.releaseView.slugCommits(...args);
  }
  recordSlugCommit(
    ...args: Parameters<ReleaseViewRepository["recordSlugCommit"]>
  ): ReturnType<ReleaseViewRepository["recordSlugCommit"]> {
    return this.releaseView.recordSlugCommit(...args);
  }
  claimOutsideRelease(
    ...args: Parameters<ReleaseViewRepository["claimOutsideRelease"]>
  ): ReturnType<ReleaseViewRepository["claimOutsideRelease"]> {
    return this.releaseView.claimOutsideRelease(...args);
  }
  releaseOutsideClaim(
    ...args: Parameters<ReleaseViewRepository["releaseOutsideClaim"]>
  ): ReturnType<ReleaseViewRepository["releaseOutsideClaim"]> {
    return this.releaseView.releaseOutsideClaim(...args);
  }
  pipelineTopology(
    ...args: Parameters<ReleaseViewRepository["pipelineTopology"]>
  ): ReturnType<ReleaseViewRepository["pipelineTopology"]> {
    return this.releaseView.pipelineTopology(...args);
  }
  recordPipelineTopology(
    ...args: Parameters<ReleaseViewRepository["recordPipelineTopology"]>
  ): ReturnType<ReleaseViewRepository["recordPipelineTopology"]> {
    return this.releaseView.recordPipelineTopology(...args);
  }
}
