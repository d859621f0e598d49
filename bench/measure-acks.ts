/**
 * Items 1 and 3: acknowledgement latency and throughput of signed `/promote help` commands and of
 * denied Approve clicks, at concurrency 20 and 50, against the product and, in the same run, against
 * the bare-Bolt and bare-node:http baselines. Loads run one at a time; each server is warmed up first.
 */
import type { World } from "../test/support/harness.js";
import { type LoadGenerator, ServerChild } from "./children.js";
import type { BodyTemplate, LoadResult, ServerStats } from "./protocol.js";
import { settle } from "./worlds.js";

export type AckKind = "help" | "click";

/** What the product must answer through the response_url: the help, and the refusal of a bystander's approval. */
const EXPECTED: Record<AckKind, RegExp> = {
  help: /promote-bot commands/,
  click: /Only the approvers/,
};

export interface AckRow {
  kind: AckKind;
  connections: number;
  product: LoadResult;
  bolt: LoadResult;
  http: LoadResult;
  /** The server processes during their measured runs. */
  stats: { product: ServerStats; bolt: ServerStats; http: ServerStats };
  /** Answers the product delivered through response_urls during and after its run (background work kept up?). */
  productAnswers: number;
  /** Of those, the ones that are the expected answer (the help; the refusal of a non-approver). */
  expectedAnswers: number;
}

export interface AckOptions {
  world: World;
  gen: LoadGenerator;
  product: ServerChild;
  signingSecret: string;
  templates: Record<AckKind, BodyTemplate>;
  durationS: number;
  warmupS: number;
  concurrencies: number[];
}

export async function measureAcks(options: AckOptions): Promise<AckRow[]> {
  const { world, gen, product, signingSecret, templates } = options;
  const env = { SLACK_SIGNING_SECRET: signingSecret };
  const bolt = await ServerChild.start("bolt", env);
  const http = await ServerChild.start("http", env);
  const servers = { product, bolt, http };
  const load = (server: ServerChild, kind: AckKind, connections: number, durationS: number) =>
    gen.run({
      kind: "slack",
      url: `${server.url}/slack/events`,
      connections,
      durationS,
      signingSecret,
      body: templates[kind],
      pool: kind,
    });
  const measured = async (
    server: ServerChild,
    kind: AckKind,
    connections: number,
  ): Promise<{ result: LoadResult; stats: ServerStats }> => {
    await server.stats();
    const result = await load(server, kind, connections, options.durationS);
    return { result, stats: await server.stats() };
  };
  /** After a product run: let its background replies finish, count them, and drop the stand-in's records of them. */
  const drain = async (kind: AckKind): Promise<{ productAnswers: number; expectedAnswers: number }> => {
    await product.idle();
    await settle(world);
    const answers = world.slack.ephemerals;
    const expected = EXPECTED[kind];
    const result = {
      productAnswers: answers.length,
      expectedAnswers: answers.filter((a) => expected.test(`${a.text} ${JSON.stringify(a.blocks ?? [])}`)).length,
    };
    world.slack.calls.length = 0;
    world.slack.ephemerals.length = 0;
    return result;
  };

  const rows: AckRow[] = [];
  try {
    for (const kind of ["help", "click"] as const) {
      for (const server of Object.values(servers)) {
        await load(server, kind, options.concurrencies[0] ?? 20, options.warmupS);
      }
      await drain(kind);
      for (const connections of options.concurrencies) {
        const onProduct = await measured(product, kind, connections);
        const answers = await drain(kind);
        const onBolt = await measured(bolt, kind, connections);
        const onHttp = await measured(http, kind, connections);
        rows.push({
          kind,
          connections,
          product: onProduct.result,
          bolt: onBolt.result,
          http: onHttp.result,
          stats: { product: onProduct.stats, bolt: onBolt.stats, http: onHttp.stats },
          ...answers,
        });
      }
    }
  } finally {
    await Promise.all([bolt.stop(), http.stop()]);
  }
  return rows;
}
