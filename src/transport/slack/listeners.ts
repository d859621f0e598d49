/**
 * Bolt listeners: acknowledge first (Slack allows 3 s), parse, call one use case, render the answer.
 * Refusals (DomainError) go back to the person as ephemeral messages; anything unexpected is logged
 * with context by one handler and answered with a short apology.
 */
import { randomUUID } from "node:crypto";
import type { App, RespondFn } from "@slack/bolt";
import type { PromoteBot } from "../../app/bot.js";
import { DomainError } from "../../domain/errors.js";
import type { ChatMessage } from "../../domain/ports.js";
import type { Logger } from "../../infra/logger.js";
import { isStopping } from "../../infra/stopping.js";
import { ACTIONS } from "../../views/action-ids.js";
import { helpMessage, notice, refusal, requestCreatedReply, rollbackCreatedReply } from "../../views/messages.js";
import { esc } from "../../views/mrkdwn.js";
import { historyMessage, listMessage, statusMessage } from "../../views/status.js";
import { parsePromoteCommand } from "./parse-command.js";

async function reply(respond: RespondFn, message: ChatMessage): Promise<void> {
  await respond({
    response_type: "ephemeral",
    replace_original: false,
    text: message.text,
    blocks: message.blocks as never,
  });
}

/** The one edge handler: refusals become ephemeral replies, the unexpected is logged and apologised for. */
/** How an answer reaches the person: the response_url in channels, their App Home in the Home tab. */
type Answer = (message: ChatMessage) => Promise<void>;

async function guarded(log: Logger, answer: Answer, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (isStopping(error)) {
      // Shutting down (a deploy or a restart) in the middle of a wait: say so rather than apologise.
      log.info("interrupted by shutdown");
      await answer(refusal("I am restarting and could not finish this. Please try again in a minute.")).catch(
        (e: unknown) => log.error({ err: e }, "could not send a restart notice to Slack"),
      );
      return;
    }
    if (error instanceof DomainError) {
      log.info({ code: error.code }, "refused");
      await answer(refusal(error.message)).catch((e: unknown) =>
        log.error({ err: e }, "could not send a refusal to Slack"),
      );
      return;
    }
    const ref = randomUUID().slice(0, 8);
    log.error({ err: error, ref }, "unexpected error while handling a Slack request");
    await answer(
      refusal(`Something went wrong on my side (reference \`${ref}\`); it is logged. Please try again in a minute.`),
    ).catch((e: unknown) => log.error({ err: e }, "could not send an error reply to Slack"));
  }
}

/** The mrkdwn of a one-section message, for a notice at the top of the Home tab. */
function firstText(message: ChatMessage): string {
  const block = message.blocks[0] as { text?: { text?: string } } | undefined;
  return block?.text?.text ?? message.text;
}

const KNOWN_ACTIONS = new Set<string>(Object.values(ACTIONS));

/** Button values are the bot's own UUIDs; anything else is refused before it reaches the store. */
function isOpaqueId(value: unknown): value is string {
  return typeof value === "string" && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(value);
}

export function registerListeners(app: App, bot: PromoteBot, log: Logger): void {
  // A click on a button this version does not know (an old message, a forged payload) is acknowledged
  // at once and ignored, instead of Slack waiting 3 s for an answer that never comes.
  app.use(async ({ body, ack, next }) => {
    const b = body as { type?: string; actions?: Array<{ action_id?: unknown }> };
    if (b.type === "block_actions") {
      const ids = Array.isArray(b.actions) ? b.actions.map((a) => a?.action_id) : [];
      if (!ids.some((id) => typeof id === "string" && KNOWN_ACTIONS.has(id))) {
        log.info({ actions: ids.slice(0, 3).map(String) }, "unknown action ignored");
        if (ack) await ack();
        return;
      }
    }
    await next();
  });

  app.command("/promote", async ({ ack, command, respond }) => {
    const parsed = parsePromoteCommand(command.text ?? "");
    if (parsed.kind === "help") {
      // Help needs no outside call: it goes back in the acknowledgement itself, saving a response_url round trip.
      const help = helpMessage(bot.pipelineNames);
      if (parsed.hint) help.blocks.unshift(notice(`:grey_question: ${esc(parsed.hint)}`).blocks[0] as never);
      await ack({ response_type: "ephemeral", text: help.text, blocks: help.blocks as never });
      return;
    }
    await ack();
    const l = log.child({ slackUser: command.user_id, command: "/promote", channel: command.channel_id });
    await bot.worker.during(() =>
      guarded(
        l,
        (m) => reply(respond, m),
        async () => {
          switch (parsed.kind) {
            case "list":
              return reply(respond, listMessage(await bot.list()));
            case "status": {
              const { snapshot, last } = await bot.status(parsed.pipeline);
              return reply(respond, statusMessage(snapshot, last));
            }
            case "history": {
              const { pipeline, requests } = await bot.history(parsed.pipeline, parsed.limit);
              return reply(respond, historyMessage(pipeline.name, requests));
            }
            case "cancel": {
              const cancelled = await bot.cancelPending(parsed.pipeline, command.user_id);
              return reply(
                respond,
                notice(`Cancelled the request for *${esc(cancelled.pipeline)}* v${cancelled.sourceReleaseVersion}.`),
              );
            }
            case "lock": {
              const lock = await bot.lock(parsed.pipeline, command.user_id, parsed.reason);
              return reply(respond, notice(`Locked *${esc(lock.pipeline)}*.`));
            }
            case "unlock": {
              const lock = await bot.unlock(parsed.pipeline, command.user_id);
              return reply(respond, notice(`Unlocked *${esc(lock.pipeline)}*.`));
            }
            case "rollback": {
              const created = await bot.requestRollback(
                parsed.pipeline,
                command.user_id,
                parsed.override !== undefined ? { override: parsed.override } : {},
              );
              return reply(respond, rollbackCreatedReply(created.request, created.selfApprovalUnchecked));
            }
            case "request": {
              const { request, selfApprovalUnchecked } = await bot.requestPromotion(
                { kind: "command", pipeline: parsed.pipeline },
                command.user_id,
                parsed.override,
              );
              const pipeline = bot.pipeline(request.pipeline);
              if (pipeline) await reply(respond, requestCreatedReply(request, pipeline, selfApprovalUnchecked));
              return;
            }
          }
        },
      ),
    );
  });

  /**
   * Every button: acknowledge, check that the value is one of the bot's ids, then run the use case with
   * an answer that reaches the clicker (the response_url in channels, the refreshed tab in App Home,
   * where clicks carry no response_url).
   */
  const onButton = (
    actionId: string,
    run: (args: { value: string; user: string; answer: Answer; fromHome: boolean }) => Promise<void>,
  ) => {
    app.action(actionId, async ({ ack, body, action, respond }) => {
      await ack();
      const user = body.user.id;
      const value = action.type === "button" ? action.value : undefined;
      const l = log.child({ slackUser: user, action: actionId, id: isOpaqueId(value) ? value : undefined });
      const fromHome = (body as { container?: { type?: string } }).container?.type === "view";
      const answer: Answer = fromHome ? (m) => bot.publishHome(user, firstText(m)) : (m) => reply(respond, m);
      await bot.worker.during(() =>
        guarded(l, answer, async () => {
          if (!isOpaqueId(value)) {
            throw new DomainError(
              "BAD_INPUT",
              "This button is not one of mine, so I did nothing. Use the buttons on my messages, or `/promote help`.",
            );
          }
          await run({ value, user, answer, fromHome });
        }),
      );
    });
  };

  onButton(ACTIONS.promote, async ({ value, user, answer }) => {
    const { request, selfApprovalUnchecked } = await bot.requestPromotion({ kind: "button", candidateId: value }, user);
    const pipeline = bot.pipeline(request.pipeline);
    if (pipeline) await answer(requestCreatedReply(request, pipeline, selfApprovalUnchecked));
  });

  onButton(ACTIONS.rollback, async ({ value, user, answer }) => {
    const created = await bot.rollbackPromotion(value, user);
    await answer(rollbackCreatedReply(created.request, created.selfApprovalUnchecked));
  });

  const decisions = [
    { id: ACTIONS.approve, run: (requestId: string, user: string) => bot.approve(requestId, user) },
    { id: ACTIONS.reject, run: (requestId: string, user: string) => bot.end(requestId, user, "reject") },
    { id: ACTIONS.cancel, run: (requestId: string, user: string) => bot.end(requestId, user, "cancel") },
  ];
  for (const decision of decisions) {
    onButton(decision.id, async ({ value, user, answer, fromHome }) => {
      const result = await decision.run(value, user);
      if (result.kind === "approved" && !result.promoting) {
        await answer(notice(`Approved (${result.count} of ${result.required}).`));
      } else if (fromHome) {
        await bot.publishHome(
          user,
          result.kind === "approved" ? "Approved; promoting now." : `Request ${result.state}.`,
        );
      }
    });
  }

  const resolutions = [
    { id: ACTIONS.recordSucceeded, resolution: "succeeded" as const },
    { id: ACTIONS.recordFailed, resolution: "failed" as const },
    { id: ACTIONS.retryUnknown, resolution: "retry" as const },
  ];
  for (const r of resolutions) {
    onButton(r.id, async ({ value, user, answer }) => {
      const resolved = await bot.resolveUnknown(value, user, r.resolution);
      await answer(
        notice(
          r.resolution === "retry"
            ? `Trying *${esc(resolved.pipeline)}* v${resolved.sourceReleaseVersion} again: the bot first looks for what the earlier attempt did.`
            : `Recorded: the ${resolved.kind === "rollback" ? "rollback" : "promotion"} of v${resolved.sourceReleaseVersion} ${r.resolution === "succeeded" ? "went through" : "did not go through"}.`,
        ),
      );
    });
  }

  app.event("app_home_opened", async ({ event }) => {
    if (event.tab !== "home") return;
    try {
      await bot.worker.during(() => bot.publishHome(event.user));
    } catch (error) {
      log.error({ err: error, slackUser: event.user }, "could not publish the App Home tab");
    }
  });
}
