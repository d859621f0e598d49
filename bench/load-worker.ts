/**
 * The load generator: a child process that runs autocannon (as a library), one load at a time, on
 * its own CPU so it does not share an event loop with the server it measures.
 *
 * Slack requests are signed as they are sent (fresh timestamp, HMAC-SHA256 of `v0:{ts}:{body}`), each
 * with the next response_url of a pool, as Slack gives every command and click its own response_url.
 * GitLab deliveries get a distinct Idempotency-Key, event UUID and pipeline id each; Heroku deliveries a
 * distinct event id and attempt id each, signed as Heroku signs them.
 */
import { createHmac, randomUUID } from "node:crypto";
import autocannon from "autocannon";
import type {
  FromLoadWorker,
  GitLabLoad,
  HerokuLoad,
  LoadResult,
  LoadSpec,
  SlackLoad,
  ToLoadWorker,
} from "./protocol.js";

const pools = new Map<string, { values: string[]; cursor: number }>();

function send(message: FromLoadWorker): void {
  process.send?.(message);
}

function sign(secret: string, body: string): Record<string, string> {
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = createHmac("sha256", secret).update(`v0:${timestamp}:${body}`).digest("hex");
  return {
    "content-type": "application/x-www-form-urlencoded",
    "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    "x-slack-request-timestamp": String(timestamp),
    "x-slack-signature": `v0=${signature}`,
  };
}

function slackOptions(spec: SlackLoad): autocannon.Options {
  const pool = pools.get(spec.pool);
  if (!pool || pool.values.length === 0) throw new Error(`no pool ${spec.pool}`);
  return {
    url: spec.url,
    connections: spec.connections,
    duration: spec.durationS,
    method: "POST",
    requests: [
      {
        method: "POST",
        setupRequest: (request) => {
          const slot = pool.values[pool.cursor % pool.values.length] as string;
          pool.cursor += 1;
          const body = spec.body.prefix + slot + spec.body.suffix;
          return { ...request, body, headers: sign(spec.signingSecret, body) };
        },
      },
    ],
  };
}

interface GitLabTally {
  ackedKeys: string[];
  duplicatesSent: number;
  acceptedAnswers: number;
  duplicateAnswers: number;
}

/** Per connection (pipelining 1): the delivery in flight, so its answer can be matched to its key. */
interface GitLabContext {
  key?: string;
}

function gitlabOptions(spec: GitLabLoad, tally: GitLabTally): autocannon.Options {
  const issued: Array<{ key: string; body: string }> = [];
  let n = 0;
  return {
    url: spec.url,
    connections: spec.connections,
    ...(spec.amount !== undefined ? { amount: spec.amount } : { duration: spec.durationS ?? 5 }),
    method: "POST",
    requests: [
      {
        method: "POST",
        setupRequest: (request, context) => {
          n += 1;
          let key: string;
          let body: string;
          const earlier = issued[issued.length - 5];
          if (spec.duplicateEvery > 0 && n % spec.duplicateEvery === 0 && earlier) {
            // A redelivery: GitLab resends the same body under the same Idempotency-Key.
            key = earlier.key;
            body = earlier.body;
            tally.duplicatesSent += 1;
          } else {
            key = `${spec.keyPrefix}${n}`;
            body = spec.body.prefix + String(1_000_000 + n) + spec.body.suffix;
            issued.push({ key, body });
          }
          (context as GitLabContext).key = key;
          return {
            ...request,
            body,
            headers: { ...spec.headers, "Idempotency-Key": key, "X-Gitlab-Event-UUID": randomUUID() },
          };
        },
        onResponse: (status, body, context) => {
          if (status < 200 || status >= 300) return;
          const key = (context as GitLabContext).key;
          if (key !== undefined) tally.ackedKeys.push(key);
          if (body.includes('"duplicate"')) tally.duplicateAnswers += 1;
          else tally.acceptedAnswers += 1;
        },
      },
    ],
  };
}

/** Heroku deliveries: each a new event, or (every `duplicateEvery`-th) a new attempt of an earlier one. */
function herokuOptions(spec: HerokuLoad, tally: GitLabTally): autocannon.Options {
  const issued: string[] = [];
  let n = 0;
  return {
    url: spec.url,
    connections: spec.connections,
    ...(spec.amount !== undefined ? { amount: spec.amount } : { duration: spec.durationS ?? 5 }),
    method: "POST",
    requests: [
      {
        method: "POST",
        setupRequest: (request, context) => {
          n += 1;
          let eventId: string;
          const earlier = issued[issued.length - 5];
          if (spec.duplicateEvery > 0 && n % spec.duplicateEvery === 0 && earlier) {
            eventId = earlier;
            tally.duplicatesSent += 1;
          } else {
            eventId = `${spec.eventPrefix}${n}`;
            issued.push(eventId);
          }
          // A new attempt id on every request, redeliveries included: a new body, so a new signature.
          const body = spec.template.replaceAll("__EVENT_ID__", eventId).replaceAll("__ATTEMPT_ID__", randomUUID());
          (context as GitLabContext).key = eventId;
          return {
            ...request,
            body,
            headers: {
              "Content-Type": "application/json",
              "User-Agent": "heroku-webhooks-bench",
              "Heroku-Webhook-Hmac-SHA256": createHmac("sha256", spec.secret).update(body, "utf8").digest("base64"),
            },
          };
        },
        onResponse: (status, body, context) => {
          if (status < 200 || status >= 300) return;
          const key = (context as GitLabContext).key;
          if (key !== undefined) tally.ackedKeys.push(key);
          if (body.includes('"duplicate"')) tally.duplicateAnswers += 1;
          else tally.acceptedAnswers += 1;
        },
      },
    ],
  };
}

async function run(spec: LoadSpec): Promise<LoadResult> {
  const tally: GitLabTally = { ackedKeys: [], duplicatesSent: 0, acceptedAnswers: 0, duplicateAnswers: 0 };
  const options =
    spec.kind === "slack"
      ? slackOptions(spec)
      : spec.kind === "gitlab"
        ? gitlabOptions(spec, tally)
        : herokuOptions(spec, tally);
  const started = performance.now();
  const result = await autocannon(options);
  const elapsedS = (performance.now() - started) / 1000;
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = Number(stat?.count ?? 0);
  const requests = result["1xx"] + result["2xx"] + result["3xx"] + result["4xx"] + result["5xx"];
  return {
    requests,
    elapsedS,
    rps: requests / elapsedS,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    mean: result.latency.mean,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    ...(spec.kind === "gitlab" ? { gitlab: tally } : {}),
    ...(spec.kind === "heroku" ? { heroku: tally } : {}),
  };
}

process.on("message", (message: ToLoadWorker) => {
  if (message.type === "pool") {
    pools.set(message.name, { values: message.values, cursor: 0 });
    return;
  }
  if (message.type === "exit") {
    process.exit(0);
  }
  run(message.spec).then(
    (result) => send({ type: "result", id: message.id, result }),
    (error: unknown) => send({ type: "error", id: message.id, message: String(error) }),
  );
});
