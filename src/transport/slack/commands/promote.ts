/** `/promote …`: acknowledge (help goes back in the acknowledgement itself), parse, run one use case, reply. */
import type { App } from "@slack/bolt";
import type { PromoteBot } from "../../../app/bot.js";
import type { Logger } from "../../../infra/logger.js";
import {
  cancelledReply,
  helpMessage,
  lockedReply,
  requestCreatedReply,
  rollbackCreatedReply,
  unlockedReply,
} from "../../../views/replies.js";
import { historyMessage, listMessage, statusMessage } from "../../../views/status.js";
import { guarded, reply } from "../answer.js";
import { parsePromoteCommand } from "../parse-command.js";

export function promoteCommand(app: App, bot: PromoteBot, log: Logger): void {
  app.command("/promote", async ({ ack, command, respond }) => {
    const parsed = parsePromoteCommand(command.text ?? "");
    if (parsed.kind === "help") {
      // Help needs no outside call: it goes back in the acknowledgement, saving a response_url round trip.
      const help = helpMessage(bot.pipelineNames, parsed.hint);
      await ack({ response_type: "ephemeral", text: help.text, blocks: help.blocks as never });
      return;
    }
    await ack();
    const commandLog = log.child({ slackUser: command.user_id, command: "/promote", channel: command.channel_id });
    const answer = (message: Parameters<typeof reply>[1]) => reply(respond, message);
    await bot.worker.holdStopFor(() =>
      guarded(commandLog, answer, async () => {
        switch (parsed.kind) {
          case "list":
            return answer(listMessage(await bot.list()));
          case "status": {
            const { snapshot, last } = await bot.status(parsed.pipeline);
            return answer(statusMessage(snapshot, last));
          }
          case "history": {
            const { pipeline, requests } = await bot.history(parsed.pipeline, parsed.limit);
            return answer(historyMessage(pipeline.name, requests));
          }
          case "cancel":
            return answer(cancelledReply(await bot.cancelPending(parsed.pipeline, command.user_id)));
          case "lock":
            return answer(lockedReply(await bot.lock(parsed.pipeline, command.user_id, parsed.reason)));
          case "unlock":
            return answer(unlockedReply(await bot.unlock(parsed.pipeline, command.user_id)));
          case "rollback": {
            const created = await bot.requestRollback(
              parsed.pipeline,
              command.user_id,
              parsed.override !== undefined ? { override: parsed.override } : {},
            );
            return answer(rollbackCreatedReply(created.request, created.selfApprovalUnchecked));
          }
          case "request": {
            const { request, selfApprovalUnchecked } = await bot.requestPromotion(
              { kind: "command", pipeline: parsed.pipeline },
              command.user_id,
              parsed.override,
            );
            const pipeline = bot.pipeline(request.pipeline);
            if (pipeline) await answer(requestCreatedReply(request, pipeline, selfApprovalUnchecked));
            return;
          }
        }
      }),
    );
  });
}
