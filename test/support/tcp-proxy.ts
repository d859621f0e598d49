/** A loopback TCP proxy that a test can cut and restore, to make a server (PostgreSQL) briefly unavailable. */

import type { AddressInfo } from "node:net";
import { createConnection, createServer, type Server, type Socket } from "node:net";

export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private down = false;
  private drops: Array<{ match: (text: string) => boolean; remaining: number }> = [];
  port = 0;
  /** How many connections the drop rules dropped. */
  dropped = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<number> {
    this.server = createServer((client) => {
      if (this.down) {
        client.destroy();
        return;
      }
      const upstream = createConnection(this.targetPort, this.targetHost);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => s.destroy());
      }
      // Client to server through the drop rules (PostgreSQL's protocol carries SQL and bound values as
      // text, so a rule can pick one statement); server to client as is.
      client.on("data", (chunk: Buffer) => {
        const text = chunk.toString("latin1");
        const rule = this.drops.find((d) => d.remaining > 0 && d.match(text));
        if (rule) {
          rule.remaining -= 1;
          this.dropped += 1;
          client.destroy();
          upstream.destroy();
          return;
        }
        upstream.write(chunk);
      });
      upstream.pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    const server = this.server;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  /**
   * Drops the connection that sends a chunk matching `match`, before the chunk reaches the server: in
   * the middle of a transaction, the statements already sent are rolled back by the server.
   */
  dropWhen(match: (text: string) => boolean, times = 1): void {
    this.drops.push({ match, remaining: times });
  }

  /** Drops every open connection and refuses new ones. */
  cut(): void {
    this.down = true;
    for (const s of this.sockets) s.destroy();
  }

  restore(): void {
    this.down = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
