/** `/promote` command text -> a command. Pure; unknown forms become a help answer with a hint. */
export type PromoteCommand = { kind: "help"; hint?: string } | { kind: "request"; pipeline: string };

export function parsePromoteCommand(text: string): PromoteCommand {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const [first, ...rest] = words;
  if (!first || first.toLowerCase() === "help") return { kind: "help" };
  if (rest.length > 0) {
    return { kind: "help", hint: `I did not understand \`${first} ${rest.join(" ")}\`.` };
  }
  if (first.length > 100 || !/^[A-Za-z0-9_-]+$/.test(first)) {
    return { kind: "help", hint: "A pipeline name has only letters, digits, - and _." };
  }
  return { kind: "request", pipeline: first.toLowerCase() };
}
