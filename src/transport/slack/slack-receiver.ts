/**
 * Bolt's receiver for POST /slack/events, fed by the intake (slack-intake.ts) with a body it has
 * already read, verified and parsed. Bolt's HTTPReceiver would read, parse and route the request a
 * second time (7–8% of a denied click's CPU, bench/PROFILING.md); this one does what HTTPReceiver does
 * from the parsed body on, with Bolt's own pieces: the SSL check and URL verification answers, the
 * HTTPResponseAck (an empty 200 on `ack()`, the 3 s warning and 404 for a request never acknowledged),
 * the retry headers, then `app.processEvent`.
 * https://docs.slack.dev/tools/bolt-js/concepts/receiver (a custom receiver implements init/start/stop)
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type App, HTTPModuleFunctions, HTTPResponseAck, type Logger, type Receiver } from "@slack/bolt";

export class SlackEventsReceiver implements Receiver {
  private app: App | undefined;

  constructor(private readonly logger: Logger) {}

  init(app: App): void {
    this.app = app;
  }

  // The HTTP server is src/server.ts's: there is nothing to start or stop here.
  start(): Promise<void> {
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }

  /** Hands a verified, parsed Slack request to Bolt, as HTTPReceiver's handleIncomingEvent does after its parse. */
  async handle(body: Record<string, unknown>, req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Slack's SSL check and the Events API's URL verification, answered as HTTPReceiver answers them.
    if (body.ssl_check === "1") return HTTPModuleFunctions.buildSSLCheckResponse(res);
    if (body.type === "url_verification") return HTTPModuleFunctions.buildUrlVerificationResponse(res, body);
    const ack = new HTTPResponseAck({
      logger: this.logger,
      processBeforeResponse: false,
      httpRequest: req,
      httpRequestBody: body,
      httpResponse: res,
    });
    try {
      await this.app?.processEvent({
        body,
        ack: ack.bind(),
        retryNum: HTTPModuleFunctions.extractRetryNumFromHTTPRequest(req),
        retryReason: HTTPModuleFunctions.extractRetryReasonFromHTTPRequest(req),
        customProperties: {},
      });
    } catch (error) {
      // A verified request Bolt cannot process (a payload missing fields it needs) is the sender's
      // fault: 400, not Bolt's default 500.
      if (res.headersSent) {
        this.logger.error(`error after the request was acknowledged: ${String(error)}`);
        return;
      }
      this.logger.warn(`Slack request could not be processed: ${String(error).slice(0, 200)}`);
      res.writeHead(400);
      res.end();
    }
  }
}
