import { describe, expect, it } from "vitest";
import {
  actions,
  type Block,
  button,
  context,
  fallback,
  fields,
  limitBlocks,
  MAX_BLOCKS,
  MAX_SECTION,
  section,
} from "../../../src/views/blocks.js";

type TextObject = { type: string; text: string };

describe("section", () => {
  it("keeps mrkdwn text within 3,000 characters", () => {
    const block = section("y".repeat(10_000));
    const text = (block.text as TextObject).text;
    expect(text.length).toBe(MAX_SECTION);
    expect(text.endsWith("… (truncated)")).toBe(true);
  });

  it("keeps text of exactly 3,000 characters whole", () => {
    expect((section("y".repeat(3_000)).text as TextObject).text).toBe("y".repeat(3_000));
  });

  it("adds an accessory only when given", () => {
    expect(section("a")).toEqual({ type: "section", text: { type: "mrkdwn", text: "a" } });
    expect(section("a", { type: "image" }).accessory).toEqual({ type: "image" });
  });
});

describe("fields and context", () => {
  it("keeps at most 10 fields of at most 2,000 characters", () => {
    const block = fields(Array.from({ length: 12 }, () => "f".repeat(2_500)));
    const items = block.fields as TextObject[];
    expect(items).toHaveLength(10);
    for (const item of items) expect(item.text.length).toBeLessThanOrEqual(2_000);
  });

  it("keeps at most 10 context elements within the section limit", () => {
    const block = context(...Array.from({ length: 11 }, () => "c".repeat(4_000)));
    const elements = block.elements as TextObject[];
    expect(elements).toHaveLength(10);
    for (const element of elements) expect(element.text.length).toBeLessThanOrEqual(MAX_SECTION);
  });
});

describe("button", () => {
  it("builds a plain-text button with its action id and value", () => {
    expect(button({ text: "Approve", actionId: "approve_request", value: "req_1", style: "primary" })).toEqual({
      type: "button",
      text: { type: "plain_text", text: "Approve", emoji: true },
      action_id: "approve_request",
      value: "req_1",
      style: "primary",
    });
  });

  it("has no style unless asked", () => {
    expect(button({ text: "Cancel", actionId: "c", value: "v" })).not.toHaveProperty("style");
  });

  it("keeps the label within 75 characters", () => {
    const b = button({ text: "L".repeat(200), actionId: "a", value: "v" });
    const label = (b.text as TextObject).text;
    expect(label).toHaveLength(75);
    expect(label.endsWith("…")).toBe(true);
  });

  it("keeps the value within 2,000 characters", () => {
    expect((button({ text: "x", actionId: "a", value: "v".repeat(5_000) }).value as string).length).toBe(2_000);
  });

  it("keeps a confirmation dialog within Slack's limits", () => {
    const b = button({
      text: "Promote",
      actionId: "a",
      value: "v",
      confirm: { title: "t".repeat(200), text: "x".repeat(500), confirm: "c".repeat(50), deny: "d".repeat(50) },
    });
    const confirm = b.confirm as Record<string, TextObject>;
    expect(confirm.title!.text.length).toBeLessThanOrEqual(100);
    expect(confirm.text!.text.length).toBeLessThanOrEqual(300);
    expect(confirm.text!.type).toBe("mrkdwn");
    expect(confirm.confirm!.text.length).toBeLessThanOrEqual(30);
    expect(confirm.deny!.text.length).toBeLessThanOrEqual(30);
  });
});

describe("actions", () => {
  it("groups elements under a block id", () => {
    const b = button({ text: "x", actionId: "a", value: "v" });
    expect(actions("request", [b])).toEqual({ type: "actions", block_id: "request", elements: [b] });
  });
});

describe("limitBlocks", () => {
  const blocks = (n: number): Block[] => Array.from({ length: n }, (_, i) => section(`block ${i}`));

  it("keeps a message of 50 blocks as it is", () => {
    const fifty = blocks(50);
    expect(limitBlocks(fifty)).toBe(fifty);
  });

  it("keeps 49 blocks and says how many more were left out", () => {
    const limited = limitBlocks(blocks(51));
    expect(limited).toHaveLength(MAX_BLOCKS);
    expect(limited[48]).toEqual(section("block 48"));
    expect(limited[49]).toEqual(context("… 2 more blocks not shown"));
  });

  it("counts every block that was left out", () => {
    const limited = limitBlocks(blocks(120));
    expect(limited).toHaveLength(MAX_BLOCKS);
    expect(limited[49]).toEqual(context("… 71 more blocks not shown"));
  });
});

describe("fallback", () => {
  it("keeps the notification text within 3,000 characters", () => {
    expect(fallback("n".repeat(4_000)).length).toBe(3_000);
  });
});
