/** Small Block Kit builders that keep within Slack's limits (3,000 chars a section, 75 a button label). */
import { truncate } from "./mrkdwn.js";

export const MAX_SECTION = 3_000;
export const MAX_BLOCKS = 50;
export const MAX_FALLBACK = 3_000;

export type Block = Record<string, unknown>;

export function section(text: string, accessory?: Block): Block {
  return {
    type: "section",
    text: { type: "mrkdwn", text: truncate(text, MAX_SECTION) },
    ...(accessory ? { accessory } : {}),
  };
}

export function fields(items: string[]): Block {
  return {
    type: "section",
    fields: items.slice(0, 10).map((text) => ({ type: "mrkdwn", text: truncate(text, 2_000) })),
  };
}

export function context(...texts: string[]): Block {
  return {
    type: "context",
    elements: texts.slice(0, 10).map((text) => ({ type: "mrkdwn", text: truncate(text, MAX_SECTION) })),
  };
}

export function divider(): Block {
  return { type: "divider" };
}

export function button(args: {
  text: string;
  actionId: string;
  value: string;
  style?: "primary" | "danger";
  confirm?: { title: string; text: string; confirm: string; deny: string };
}): Block {
  return {
    type: "button",
    text: { type: "plain_text", text: truncate(args.text, 75, "…"), emoji: true },
    action_id: args.actionId,
    value: args.value.slice(0, 2_000),
    ...(args.style ? { style: args.style } : {}),
    ...(args.confirm
      ? {
          confirm: {
            title: { type: "plain_text", text: truncate(args.confirm.title, 100, "…") },
            text: { type: "mrkdwn", text: truncate(args.confirm.text, 300, "…") },
            confirm: { type: "plain_text", text: truncate(args.confirm.confirm, 30, "…") },
            deny: { type: "plain_text", text: truncate(args.confirm.deny, 30, "…") },
          },
        }
      : {}),
  };
}

export function actions(blockId: string, elements: Block[]): Block {
  return { type: "actions", block_id: blockId, elements };
}

/** Keeps a message within 50 blocks, replacing the overflow with a note. */
export function limitBlocks(blocks: Block[]): Block[] {
  if (blocks.length <= MAX_BLOCKS) return blocks;
  return [...blocks.slice(0, MAX_BLOCKS - 1), context(`… ${blocks.length - MAX_BLOCKS + 1} more blocks not shown`)];
}

export function fallback(text: string): string {
  return truncate(text, MAX_FALLBACK);
}
