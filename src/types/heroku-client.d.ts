// heroku-client 3.x ships no type declarations; this covers the part promote-bot uses.
declare module "heroku-client" {
  import type { IncomingMessage } from "node:http";

  export interface HerokuRequestOptions {
    body?: unknown;
    headers?: Record<string, string>;
    /** Do not follow Next-Range: answer with the first page only. */
    partial?: boolean;
    timeout?: number;
    /** Called with every raw response before it is read; call `next` to continue. */
    middleware?: (response: IncomingMessage, next: () => void) => void;
  }

  export interface HerokuClientOptions extends HerokuRequestOptions {
    token: string;
    host?: string;
    userAgent?: string;
  }

  export interface HerokuError extends Error {
    statusCode?: number;
    body?: unknown;
    code?: string;
  }

  export default class Heroku {
    constructor(options: HerokuClientOptions);
    get<T = unknown>(path: string, options?: HerokuRequestOptions): Promise<T>;
    post<T = unknown>(path: string, options?: HerokuRequestOptions): Promise<T>;
    patch<T = unknown>(path: string, options?: HerokuRequestOptions): Promise<T>;
    put<T = unknown>(path: string, options?: HerokuRequestOptions): Promise<T>;
    delete<T = unknown>(path: string, options?: HerokuRequestOptions): Promise<T>;
  }
}
