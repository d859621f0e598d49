/** `/promote` command text -> a command. Pure; unknown forms become a help answer with a hint. */
export type PromoteCommand =
  | { kind: "help"; hint?: string }
  | { kind: "request"; pipeline: string }
  | { kind: "list" }
  | { kind: "status"; pipeline: string }
  | { kind: "history"; pipeline: string; limit: number }
  | { kind: "cancel"; pipeline: string };

const NAME = /^[A-Za-z0-9_-]{1,100}$/;

function name(word: string | undefined, usage: string): string | { kind: "help"; hint: string } {
  if (!word) return { kind: "help", hint: `Usage: \`${usage}\`.` };
  if (!NAME.test(word)) return { kind: "help", hint: "A pipeline name has only letters, digits, - and _." };
  return word.toLowerCase();
}

export function parsePromoteCommand(text: string): PromoteCommand {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const [first, second, third, ...rest] = words;
  if (!first || first.toLowerCase() === "help") return { kind: "help" };
  const verb = first.toLowerCase();
  if (verb === "list") return second ? { kind: "help", hint: "`/promote list` takes no arguments." } : { kind: "list" };
  if (verb === "status" || verb === "cancel" || verb === "history") {
    const pipeline = name(second, `/promote ${verb} <pipeline>${verb === "history" ? " [N]" : ""}`);
    if (typeof pipeline !== "string") return pipeline;
    if (verb === "history") {
      if (rest.length > 0 || (third !== undefined && !/^\d{1,3}$/.test(third))) {
        return { kind: "help", hint: "Usage: `/promote history <pipeline> [N]` with N from 1 to 50." };
      }
      const limit = Math.min(50, Math.max(1, third ? Number(third) : 10));
      return { kind: "history", pipeline, limit };
    }
    if (third !== undefined) return { kind: "help", hint: `Usage: \`/promote ${verb} <pipeline>\`.` };
    return { kind: verb, pipeline };
  }
  if (second !== undefined) {
    return { kind: "help", hint: `I did not understand \`${words.join(" ").slice(0, 100)}\`.` };
  }
  if (!NAME.test(first)) {
    return { kind: "help", hint: "A pipeline name has only letters, digits, - and _." };
  }
  return { kind: "request", pipeline: first.toLowerCase() };
}
