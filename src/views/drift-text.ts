/** How drift reads, on a request's message, in `/promote status` and in a refusal (issue 16). */
import type { DriftFinding, DriftMode, DriftReport } from "../domain/drift.js";
import { uncovered } from "../domain/drift.js";
import { code, esc, user } from "./mrkdwn.js";

const list = (items: readonly string[]) => items.map(esc).join(" + ") || "none";

/** One app's differences, short: "whitewave-prod lacks `A`, `B`; buildpacks heroku/nodejs vs heroku/nodejs + heroku/ruby". */
function appLine(app: string, findings: DriftFinding[]): string {
  const parts: string[] = [];
  const keys = findings.flatMap((f) => (f.kind === "config" ? [f.key] : []));
  if (keys.length > 0) {
    const shown = keys.slice(0, 12).map(code).join(", ");
    parts.push(`lacks ${shown}${keys.length > 12 ? ` and ${keys.length - 12} more` : ""}`);
  }
  for (const f of findings) {
    if (f.kind === "buildpacks") parts.push(`buildpacks ${list(f.source)} vs ${list(f.target)}`);
    if (f.kind === "stack") parts.push(`stack ${esc(f.source ?? "?")} vs ${esc(f.target ?? "?")}`);
    if (f.kind === "generation") parts.push(`generation ${esc(f.source ?? "?")} vs ${esc(f.target ?? "?")}`);
    if (f.kind === "addon-missing") parts.push(`no ${esc(f.service)} add-on (${esc(f.plan)} on the source)`);
    if (f.kind === "addon-plan") parts.push(`${esc(f.service)} plan ${esc(f.source)} vs ${esc(f.target)}`);
  }
  return `${esc(app)} ${parts.join("; ")}`;
}

/** The differences, one line per target app; empty when there are none. */
export function driftSummary(findings: DriftFinding[]): string[] {
  const apps = [...new Set(findings.map((f) => f.app))];
  return apps.map((app) =>
    appLine(
      app,
      findings.filter((f) => f.app === app),
    ),
  );
}

/** The lines a request's message (or the status) shows about drift; empty when there is nothing to say. */
export function driftLines(report: DriftReport | null, mode: DriftMode, pipeline: string): string[] {
  if (!report) return [];
  const lines: string[] = [];
  const open = uncovered(report);
  if (report.findings.length > 0) {
    const icon = mode === "block" && open.length > 0 ? ":no_entry:" : ":warning:";
    lines.push(`${icon} *Drift between the source and production:* ${driftSummary(report.findings).join(" · ")}`);
    if (mode === "block" && open.length > 0) {
      lines.push(
        `Approvals are refused while this drift stands (\`drift: block\`): fix it, or an approver asks again with \`/promote ${esc(pipeline)} --override "reason"\`.`,
      );
    }
  }
  if (report.override) {
    lines.push(`Drift overridden by ${user(report.override.by)}: “${esc(report.override.reason)}”`);
  }
  for (const skipped of report.skipped) lines.push(`Drift check skipped: ${esc(skipped)}.`);
  return lines;
}

/** Why an approval or the promotion was refused for drift. */
export function driftRefusal(report: DriftReport, pipeline: string, when: "approve" | "promote"): string {
  const what = driftSummary(uncovered(report)).join("; ");
  const lead =
    when === "approve"
      ? `Not approved: *${esc(pipeline)}* has \`drift: block\` and its apps differ: ${what}.`
      : `Not promoted: drift appeared since this request was approved, and *${esc(pipeline)}* has \`drift: block\`: ${what}. Nothing was changed.`;
  return `${lead} Fix it (the config var names, buildpacks, stack or add-ons of production), or an approver asks again with \`/promote ${esc(pipeline)} --override "reason"\`.`;
}
