/** ChatPort over Slack's WebClient (Bolt's `app.client`). */
import type { Block, KnownBlock } from "@slack/types";
import type { WebClient } from "@slack/web-api";
import type { ChatMessage, ChatPort } from "../../domain/ports.js";

// Block Kit arrays are built by views/ and checked against Slack's limits there.
type Blocks = (KnownBlock | Block)[];

export class SlackChat implements ChatPort {
  calls = 0;

  constructor(private readonly client: WebClient) {}

  async post(channel: string, message: ChatMessage, threadTs?: string): Promise<{ ts: string }> {
    this.calls += 1;
    const result = await this.client.chat.postMessage({
      channel,
      text: message.text,
      blocks: message.blocks as Blocks,
      unfurl_links: false,
      unfurl_media: false,
      ...(threadTs ? { thread_ts: threadTs } : {}),
    });
    if (!result.ts) throw new Error("Slack accepted the message but returned no ts");
    return { ts: result.ts };
  }

  async update(channel: string, ts: string, message: ChatMessage): Promise<void> {
    this.calls += 1;
    await this.client.chat.update({ channel, ts, text: message.text, blocks: message.blocks as Blocks });
  }

  async publishHome(user: string, blocks: unknown[]): Promise<void> {
    this.calls += 1;
    await this.client.views.publish({ user_id: user, view: { type: "home", blocks: blocks as Blocks } });
  }

  async userGroupMembers(groupId: string): Promise<string[]> {
    this.calls += 1;
    const result = await this.client.usergroups.users.list({ usergroup: groupId });
    return result.users ?? [];
  }
}
