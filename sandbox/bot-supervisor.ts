/**
 * Runs the real bot (`node dist/main.js`, exactly what `npm start` runs) as a child process on the
 * sandbox's world, and restarts it on the same store on demand, to watch it recover.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";

export type BotStatus = "starting" | "running" | "restarting" | "stopped";

export interface BotSupervisorOptions {
  /** The repository root (holds dist/main.js). */
  root: string;
  /** The operator's environment for the bot: tokens, API URLs, DATABASE_URL, PIPELINES_YAML. */
  env: Record<string, string>;
  /** Called with every line the bot writes (pino JSON) and on every status change. */
  onLine?: (line: string) => void;
  onStatus?: (status: BotStatus) => void;
  /** Called when the bot exits on its own (not stopped or restarted by the supervisor), with its last output. */
  onUnexpectedExit?: (how: string, lastOutput: string) => void;
}

/** A free loopback port, so the bot can be given `PORT` like on Heroku. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== "object" || address === null) throw new Error("could not find a free port");
  return address.port;
}

export class BotSupervisor {
  status: BotStatus = "stopped";
  restarts = 0;
  url = "";
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private output = "";
  /** A restart in progress: a second click (another tab) joins it instead of starting a second bot. */
  private restarting: Promise<void> | undefined;

  constructor(private readonly options: BotSupervisorOptions) {}

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Starts the bot and resolves once its /healthz answers 200. */
  async start(): Promise<void> {
    this.setStatus(this.status === "restarting" ? "restarting" : "starting");
    const port = await freePort();
    const child = spawn(process.execPath, [join(this.options.root, "dist", "main.js")], {
      cwd: this.options.root,
      env: { PATH: process.env.PATH ?? "", ...this.options.env, PORT: String(port) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    this.output = "";
    let pending = "";
    const onData = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-20_000);
      pending += chunk.toString();
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) if (line.trim()) this.options.onLine?.(line);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    this.exited = new Promise((resolve) =>
      child.once("exit", (code, signal) => {
        if (this.child === child) {
          this.child = undefined;
          if (this.status === "running") {
            this.setStatus("stopped");
            this.options.onUnexpectedExit?.(signal ? `killed by ${signal}` : `exit code ${code}`, this.output);
          }
        }
        resolve();
      }),
    );
    this.url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        this.setStatus("stopped");
        throw new Error(`the bot exited while starting:\n${this.output}`);
      }
      try {
        const response = await fetch(`${this.url}/healthz`);
        if (response.ok) {
          this.setStatus("running");
          return;
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGKILL");
    this.setStatus("stopped");
    throw new Error(`the bot did not become healthy within 30 s:\n${this.output}`);
  }

  /** Kills the bot without warning (SIGKILL, as a crashed dyno) and starts it again on the same store. */
  async restart(): Promise<void> {
    this.restarting ??= (async () => {
      this.setStatus("restarting");
      const child = this.child;
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await this.exited;
      }
      this.restarts += 1;
      await this.start();
    })().finally(() => {
      this.restarting = undefined;
    });
    return this.restarting;
  }

  /** Stops the bot the way Heroku does (SIGTERM, then SIGKILL after a grace period). */
  async stop(graceMs = 5_000): Promise<void> {
    // A restart in progress finishes first, so that the bot it starts is the one stopped here.
    await this.restarting?.catch(() => {});
    const child = this.child;
    this.setStatus("stopped");
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  private setStatus(status: BotStatus): void {
    this.status = status;
    this.options.onStatus?.(status);
  }
}
