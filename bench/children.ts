/**
 * The bench's child processes, seen from the parent: the load generator and the servers under test
 * (the product through `startBot`, and the two baselines). Each runs in its own process so that the
 * server, the load generator and the stand-ins (which stay in the parent) never share an event loop.
 */
import { type ChildProcess, fork } from "node:child_process";
import { join } from "node:path";
import type {
  FromLoadWorker,
  FromServer,
  LoadResult,
  LoadSpec,
  ServerMode,
  ServerStats,
  ToLoadWorker,
  ToServer,
} from "./protocol.js";

const HERE = import.meta.dirname;

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

export class LoadGenerator {
  private readonly child: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: LoadResult) => void; reject: (e: Error) => void }>();
  /** Loads run one at a time: never two at once against the machine. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor() {
    this.child = fork(join(HERE, "load-worker.js"), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    this.child.on("message", (message: FromLoadWorker) => {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.type === "result") waiter.resolve(message.result);
      else waiter.reject(new Error(`load failed: ${message.message}`));
    });
    this.child.on("exit", (code) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`load generator exited (${code})`));
      this.pending.clear();
    });
  }

  /** Registers response_urls (already form-encoded) that Slack loads take one by one. */
  pool(name: string, values: string[]): void {
    this.child.send({ type: "pool", name, values } satisfies ToLoadWorker);
  }

  run(spec: LoadSpec): Promise<LoadResult> {
    const next = this.queue.then(
      () =>
        new Promise<LoadResult>((resolve, reject) => {
          const id = this.nextId++;
          this.pending.set(id, { resolve, reject });
          this.child.send({ type: "run", id, spec } satisfies ToLoadWorker);
        }),
    );
    this.queue = next.catch(() => {});
    return next;
  }

  async close(): Promise<void> {
    if (this.child.connected) this.child.send({ type: "exit" } satisfies ToLoadWorker);
    await exited(this.child);
  }
}

export class ServerChild {
  private nextId = 1;
  private readonly waiters = new Map<number, (message: FromServer) => void>();

  private constructor(
    readonly mode: ServerMode,
    readonly child: ChildProcess,
    readonly url: string,
    /** Measured inside the child: from calling startBot (or listen) to the first healthy answer. */
    readonly startupMs: number,
  ) {
    child.on("message", (message: FromServer) => {
      if (!("id" in message)) return;
      const waiter = this.waiters.get(message.id);
      this.waiters.delete(message.id);
      waiter?.(message);
    });
  }

  /** Starts a server child; `env` is the whole environment the product reads its configuration from. */
  static async start(mode: ServerMode, env: Record<string, string>): Promise<ServerChild> {
    // BENCH_CPU_PROF=<dir> profiles the product's process (node --cpu-prof), to find where a missed target's time goes.
    const profileDir = mode === "product" ? process.env.BENCH_CPU_PROF : undefined;
    const child = fork(join(HERE, "server-process.js"), [mode], {
      env: { PATH: process.env.PATH ?? "", ...env },
      // BENCH_NODE_FLAGS: extra V8/Node flags for every server child alike (product and baselines), to
      // try runtime settings under the same conditions.
      execArgv: [
        ...(process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(" ").filter(Boolean) : []),
        ...(profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : []),
      ],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const ready = await new Promise<FromServer>((resolve, reject) => {
      child.once("message", (message: FromServer) => resolve(message));
      child.once("exit", (code) => reject(new Error(`${mode} server exited at start (${code})`)));
    });
    if (ready.type !== "ready") {
      child.kill("SIGKILL");
      throw new Error(`${mode} server did not start: ${ready.type === "failed" ? ready.message : ready.type}`);
    }
    return new ServerChild(mode, child, ready.url, ready.startupMs);
  }

  private ask(message: ToServer & { id: number }): Promise<FromServer> {
    return new Promise((resolve) => {
      this.waiters.set(message.id, resolve);
      this.child.send(message);
    });
  }

  /** Resolves when the bot has no background work in flight. */
  async idle(): Promise<void> {
    await this.ask({ type: "idle", id: this.nextId++ });
  }

  /** Memory, event-loop delay, GC and CPU of the server's process since the previous call. */
  async stats(): Promise<ServerStats> {
    const answer = await this.ask({ type: "stats", id: this.nextId++ });
    if (answer.type !== "stats") throw new Error("unexpected answer to stats");
    return answer.stats;
  }

  async stop(): Promise<void> {
    if (this.child.connected) this.child.send({ type: "stop" } satisfies ToServer);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await exited(this.child);
    clearTimeout(timer);
  }
}
