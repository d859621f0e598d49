/**
 * A tiny loopback HTTP server that the provider stand-ins (Slack, Heroku, GitLab) are built on.
 * It records every call, can inject faults (status codes, Retry-After, dropped connections,
 * delays) and adds optional latency, so tests can drive the bot's real clients against it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedCall {
  method: string;
  /** Path without the query string, e.g. `/pipeline-promotions`. */
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage["headers"];
  /** Raw body text. */
  rawBody: string;
  /** Parsed body: JSON when the content type is JSON, form fields for urlencoded, else undefined. */
  body: unknown;
  at: number;
}

export interface StandInRequest extends RecordedCall {
  params: Record<string, string>;
}

export interface StandInResponse {
  status: number;
  headers?: Record<string, string>;
  /** Objects and arrays are sent as JSON; strings as text/plain. */
  body?: unknown;
}

export type RouteHandler = (req: StandInRequest) => StandInResponse | Promise<StandInResponse>;

export interface Fault {
  method?: string;
  /** Matches the request path (string: exact match; RegExp: test). */
  path: string | RegExp;
  /** How many matching calls get this fault (default 1). */
  times?: number;
  /** Answer with this response instead of the real one. */
  response?: StandInResponse;
  /** Destroy the socket without answering (a connection reset). */
  drop?: boolean;
  /**
   * Let the call take effect, then destroy the socket instead of answering: the service acted but its
   * answer was lost (the case where a client must find out before trying again).
   */
  dropAfterHandling?: boolean;
  /**
   * Let the call take effect, then send this answer instead of the real one: the service acted but
   * said otherwise (a 5xx from a proxy after the work was done) or answered 2xx with a body the client
   * cannot read.
   */
  answerAfterHandling?: StandInResponse;
  /** Wait this long before answering (or dropping). */
  delayMs?: number;
  /** Applies only to calls made while this holds (e.g. "after the job was played"); others pass. */
  when?: () => boolean;
}

interface Route {
  method: string;
  pattern: RegExp;
  keys: string[];
  handler: RouteHandler;
}

function compile(path: string): { pattern: RegExp; keys: string[] } {
  const keys: string[] = [];
  const source = path
    .split("/")
    .map((part) => {
      if (part.startsWith(":")) {
        keys.push(part.slice(1));
        return "([^/]+)";
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  return { pattern: new RegExp(`^${source}$`), keys };
}

function parseBody(contentType: string | undefined, raw: string): unknown {
  if (!raw) return undefined;
  if (contentType?.includes("application/json")) {
    try {
      return JSON.parse(raw);
    } catch {
      return undefined;
    }
  }
  if (contentType?.includes("application/x-www-form-urlencoded")) {
    return Object.fromEntries(new URLSearchParams(raw));
  }
  return undefined;
}

export class HttpStandIn {
  readonly calls: RecordedCall[] = [];
  /** Added before every answer, to simulate a remote service. */
  latencyMs = 0;
  private readonly routes: Route[] = [];
  private readonly listeners: Array<(call: RecordedCall, status: number) => void> = [];
  private readonly faults: Array<Fault & { remaining: number }> = [];
  private server: Server | undefined;
  private baseUrl = "";

  constructor(private readonly name: string) {}

  get url(): string {
    if (!this.baseUrl) throw new Error(`${this.name} stand-in is not started`);
    return this.baseUrl;
  }

  route(method: string, path: string, handler: RouteHandler): void {
    const { pattern, keys } = compile(path);
    this.routes.push({ method: method.toUpperCase(), pattern, keys, handler });
  }

  /** Calls `listener` after every answered call, with the status sent (the sandbox watches the world with it). */
  onCall(listener: (call: RecordedCall, status: number) => void): void {
    this.listeners.push(listener);
  }

  /** Injects a fault for the next `times` matching calls. */
  fault(fault: Fault): void {
    this.faults.push({ ...fault, remaining: fault.times ?? 1 });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  /** Calls matching a method and path (string: exact; RegExp: test). */
  callsTo(method: string, path: string | RegExp): RecordedCall[] {
    return this.calls.filter(
      (c) => c.method === method.toUpperCase() && (typeof path === "string" ? c.path === path : path.test(c.path)),
    );
  }

  async start(port = 0): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { "content-type": "application/json" });
          res.end(JSON.stringify({ message: `stand-in error: ${String(error)}` }));
        }
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(port, "127.0.0.1", resolve));
    const address = this.server.address() as AddressInfo;
    this.baseUrl = `http://127.0.0.1:${address.port}`;
    return this.baseUrl;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://stand-in");
    const call: RecordedCall = {
      method: (req.method ?? "GET").toUpperCase(),
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      rawBody,
      body: parseBody(req.headers["content-type"], rawBody),
      at: Date.now(),
    };
    this.calls.push(call);
    if (this.listeners.length > 0) {
      res.once("close", () => {
        for (const listener of this.listeners) listener(call, res.statusCode);
      });
    }
    if (this.latencyMs > 0) await sleep(this.latencyMs);

    const fault = this.faults.find(
      (f) =>
        f.remaining > 0 &&
        (!f.method || f.method.toUpperCase() === call.method) &&
        (typeof f.path === "string" ? f.path === call.path : f.path.test(call.path)) &&
        (!f.when || f.when()),
    );
    if (fault) {
      fault.remaining -= 1;
      if (fault.delayMs) await sleep(fault.delayMs);
      if (fault.drop) {
        req.socket.destroy();
        return;
      }
      if (fault.response) {
        send(res, fault.response);
        return;
      }
    }

    for (const route of this.routes) {
      if (route.method !== call.method) continue;
      const match = route.pattern.exec(call.path);
      if (!match) continue;
      const params: Record<string, string> = {};
      route.keys.forEach((key, i) => {
        params[key] = decodeURIComponent(match[i + 1] ?? "");
      });
      const response = await route.handler({ ...call, params });
      if (fault?.dropAfterHandling) {
        req.socket.destroy();
        return;
      }
      if (fault?.answerAfterHandling) {
        send(res, fault.answerAfterHandling);
        return;
      }
      send(res, response);
      return;
    }
    send(res, { status: 404, body: { message: `${this.name} stand-in: no route for ${call.method} ${call.path}` } });
  }
}

export function send(res: ServerResponse, response: StandInResponse): void {
  const headers: Record<string, string> = { ...response.headers };
  let payload = "";
  if (response.body !== undefined) {
    if (typeof response.body === "string") {
      payload = response.body;
      headers["content-type"] ??= "text/plain; charset=utf-8";
    } else {
      payload = JSON.stringify(response.body);
      headers["content-type"] ??= "application/json; charset=utf-8";
    }
  }
  res.writeHead(response.status, headers);
  res.end(payload);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
