/**
 * Messages between the bench (parent) and its two kinds of child processes: the load generator
 * (autocannon, `load-worker.ts`) and the server under test (`server-process.ts`). Only plain data
 * crosses the IPC channel: the functions autocannon needs are built inside the load worker.
 */

/** A fixed request body with one slot, filled per request (a response_url, a pipeline id). */
export interface BodyTemplate {
  prefix: string;
  suffix: string;
}

/** Signed Slack requests: the slot takes the next value of a pool of response_urls; each request is signed when sent. */
export interface SlackLoad {
  kind: "slack";
  url: string;
  connections: number;
  durationS: number;
  signingSecret: string;
  body: BodyTemplate;
  /** Name of a pool registered with `pool` (pre-encoded response_urls); its cursor carries over between loads. */
  pool: string;
}

/**
 * GitLab pipeline deliveries, each with its own Idempotency-Key and X-Gitlab-Event-UUID and a distinct
 * pipeline id in the body; every `duplicateEvery`-th request resends an earlier delivery (same key, same body).
 */
export interface GitLabLoad {
  kind: "gitlab";
  url: string;
  connections: number;
  /** A fixed number of requests (every one is answered before the run ends), or a duration. */
  amount?: number;
  durationS?: number;
  headers: Record<string, string>;
  body: BodyTemplate;
  keyPrefix: string;
  /** 0: no duplicates. */
  duplicateEvery: number;
}

/**
 * Heroku app webhook deliveries (issue 15): `template` holds `__EVENT_ID__` (the event's id, wherever
 * it appears) and `__ATTEMPT_ID__`; each request is a new event `${eventPrefix}${n}` with a new attempt
 * id, signed when sent (`Heroku-Webhook-Hmac-SHA256`: base64 HMAC-SHA256 of the body with `secret`).
 * Every `duplicateEvery`-th request is a new attempt of an earlier event: same event id, new attempt
 * id, so a new body and signature, as Heroku retries.
 */
export interface HerokuLoad {
  kind: "heroku";
  url: string;
  connections: number;
  amount?: number;
  durationS?: number;
  secret: string;
  template: string;
  eventPrefix: string;
  duplicateEvery: number;
}

export type LoadSpec = SlackLoad | GitLabLoad | HerokuLoad;

export interface LoadResult {
  requests: number;
  elapsedS: number;
  rps: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  gitlab?: {
    /** Keys of the deliveries that got a 2xx answer (originals and duplicates alike). */
    ackedKeys: string[];
    duplicatesSent: number;
    acceptedAnswers: number;
    duplicateAnswers: number;
  };
  /** The same tally for Heroku loads, by event id. */
  heroku?: {
    ackedKeys: string[];
    duplicatesSent: number;
    acceptedAnswers: number;
    duplicateAnswers: number;
  };
}

export type ToLoadWorker =
  | { type: "pool"; name: string; values: string[] }
  | { type: "run"; id: number; spec: LoadSpec }
  | { type: "exit" };

export type FromLoadWorker =
  | { type: "result"; id: number; result: LoadResult }
  | { type: "error"; id: number; message: string };

export type ServerMode = "product" | "bolt" | "http";

/** What the server's process went through since the previous `stats` request (the counters are reset). */
export interface ServerStats {
  rssBytes: number;
  heapUsedBytes: number;
  /** Event-loop delay (how late timers ran): a blocked loop delays every request it holds. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  gcCount: number;
  gcTotalMs: number;
  gcMaxMs: number;
  cpuUserMs: number;
  cpuSystemMs: number;
}

export type ToServer = { type: "idle"; id: number } | { type: "stats"; id: number } | { type: "stop" };

export type FromServer =
  | { type: "ready"; url: string; startupMs: number }
  | { type: "idle"; id: number }
  | { type: "stats"; id: number; stats: ServerStats }
  | { type: "failed"; message: string };
