/** Who may approve: listed users, or members of listed Slack user groups (cached for a few minutes). */
import type { PipelineConfig } from "../config.js";
import { DomainError } from "../domain/errors.js";
import type { AppContext } from "./context.js";

export class ApproverDirectory {
  private readonly cache = new Map<string, { at: number; members: Set<string> }>();

  constructor(private readonly ctx: Pick<AppContext, "chat" | "clock" | "tuning" | "log">) {}

  async isApprover(pipeline: PipelineConfig, userId: string): Promise<boolean> {
    if (pipeline.approverUsers.includes(userId)) return true;
    for (const group of pipeline.approverGroups) {
      if ((await this.members(group)).has(userId)) return true;
    }
    return false;
  }

  private async members(groupId: string): Promise<Set<string>> {
    const now = this.ctx.clock.now().getTime();
    const cached = this.cache.get(groupId);
    if (cached && now - cached.at < this.ctx.tuning.userGroupCacheMs) return cached.members;
    try {
      const members = new Set(await this.ctx.chat.userGroupMembers(groupId));
      this.cache.set(groupId, { at: now, members });
      return members;
    } catch (error) {
      this.ctx.log.error({ err: error, groupId }, "could not read user group members");
      throw new DomainError(
        "SLACK_FAILED",
        "I could not check the approvers' user group with Slack just now; please try again in a minute.",
      );
    }
  }
}
