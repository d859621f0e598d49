/** The App Home tab: each pipeline's releases, its lock, and pending requests (with buttons for approvers). */
import type { PipelineConfig } from "../config.js";
import { mapLimit } from "../infra/map-limit.js";
import { homeView } from "../views/home.js";
import type { HomeEntry } from "../views/models.js";
import type { ApproverDirectory } from "./approvers.js";
import type { AppContext } from "./context.js";
import { snapshot } from "./pipeline-status.js";

export async function publishHome(
  ctx: AppContext,
  approvers: ApproverDirectory,
  user: string,
  notice?: string,
): Promise<void> {
  const entries = await mapLimit(ctx.pipelines, 10, async (pipelineConfig: PipelineConfig): Promise<HomeEntry> => {
    const [snap, lock, canDecide] = await Promise.all([
      snapshot(ctx, pipelineConfig),
      ctx.store.getLock(pipelineConfig.name),
      approvers.isApprover(pipelineConfig, user).catch(() => false),
    ]);
    const pending = snap.active?.state === "pending" ? snap.active : undefined;
    const unknown = snap.active?.state === "unknown" ? snap.active : undefined;
    return { snapshot: snap, lock, pending, unknown, canDecide };
  });
  await ctx.chat.publishHome(user, homeView({ entries, notice, now: ctx.clock.now() }));
}
