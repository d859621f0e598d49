/** `/promote` command text -> a command. Pure; unknown forms become a help answer with a hint. */
export type PromoteCommand =
  | { kind: "help"; hint?: string }
  | { kind: "request"; pipeline: string; override?: string }
  | { kind: "list" }
  | { kind: "status"; pipeline: string }
  | { kind: "history"; pipeline: string; limit: number }
  | { kind: "cancel"; pipeline: string }
  | { kind: "lock"; pipeline: string; reason: string }
  | { kind: "unlock"; pipeline: string }
  | { kind: "rollback"; pipeline: string; override?: string };

const NAME = /^[A-Za-z0-9_-]{1,100}$/;
const NAME_HINT = "A pipeline name has only letters, digits, - and _.";

/** Strips one pair of surrounding quotes (straight or the curly ones Slack clients type). */
export function unquote(text: string): string {
  const trimmed = text.trim();
  const quoted = /^(["'\u201c\u2018])([\s\S]*)(["'\u201d\u2019])$/.exec(trimmed);
  return quoted ? (quoted[2] ?? "").trim() : trimmed;
}

function pipelineName(word: string | undefined, usage: string): string | { kind: "help"; hint: string } {
  if (!word) return { kind: "help", hint: `Usage: \`${usage}\`.` };
  if (!NAME.test(word)) return { kind: "help", hint: NAME_HINT };
  return word.toLowerCase();
}

/** The reason after `--override` (or `--override=`) when `flag` is that word; undefined when it is not. */
function overrideReason(trimmed: string, flag: string): string | undefined {
  if (flag !== "--override" && !flag.startsWith("--override=")) return undefined;
  return unquote(trimmed.slice(trimmed.indexOf(flag) + "--override".length).replace(/^=/, ""));
}

export function parsePromoteCommand(text: string): PromoteCommand {
  const trimmed = text.trim();
  const words = trimmed.split(/\s+/).filter(Boolean);
  const [first, second, third, ...rest] = words;
  if (!first || first.toLowerCase() === "help") return { kind: "help" };
  const verb = first.toLowerCase();
  if (verb === "list") return second ? { kind: "help", hint: "`/promote list` takes no arguments." } : { kind: "list" };
  if (verb === "status" || verb === "cancel" || verb === "history" || verb === "unlock") {
    const pipeline = pipelineName(second, `/promote ${verb} <pipeline>${verb === "history" ? " [N]" : ""}`);
    if (typeof pipeline !== "string") return pipeline;
    if (verb === "history") {
      if (rest.length > 0 || (third !== undefined && !/^\d{1,3}$/.test(third))) {
        return { kind: "help", hint: "Usage: `/promote history <pipeline> [N]` with N from 1 to 50." };
      }
      return { kind: "history", pipeline, limit: Math.min(50, Math.max(1, third ? Number(third) : 10)) };
    }
    if (third !== undefined) return { kind: "help", hint: `Usage: \`/promote ${verb} <pipeline>\`.` };
    return { kind: verb, pipeline };
  }
  if (verb === "lock") {
    const pipeline = pipelineName(second, "/promote lock <pipeline> <reason>");
    if (typeof pipeline !== "string") return pipeline;
    // The reason is what follows the first two words (which may themselves appear inside it).
    const reason = unquote(trimmed.replace(/^\S+\s+\S+/, ""));
    if (!reason) return { kind: "help", hint: "Usage: `/promote lock <pipeline> <reason>`: say why." };
    return { kind: "lock", pipeline, reason };
  }
  if (verb === "rollback") {
    const pipeline = pipelineName(second, "/promote rollback <pipeline>");
    if (typeof pipeline !== "string") return pipeline;
    if (third === undefined) return { kind: "rollback", pipeline };
    const override = overrideReason(trimmed, third);
    if (override === undefined) {
      return {
        kind: "help",
        hint: 'Usage: `/promote rollback <pipeline>` or `/promote rollback <pipeline> --override "reason"`.',
      };
    }
    if (!override) return { kind: "help", hint: 'Usage: `/promote rollback <pipeline> --override "reason"`: say why.' };
    return { kind: "rollback", pipeline, override };
  }
  if (!NAME.test(first)) return { kind: "help", hint: NAME_HINT };
  if (second === undefined) return { kind: "request", pipeline: verb };
  const override = overrideReason(trimmed, second);
  if (override !== undefined) {
    if (!override) return { kind: "help", hint: 'Usage: `/promote <pipeline> --override "reason"`: say why.' };
    return { kind: "request", pipeline: verb, override };
  }
  return { kind: "help", hint: `I did not understand \`${words.join(" ").slice(0, 100)}\`.` };
}
