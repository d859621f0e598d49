/**
 * Drift between a pipeline's source app and its targets (issue 16). Heroku's promotion copies only the
 * build: a target keeps its own config vars, add-ons, buildpacks and stack, so code that needs a
 * config var production lacks fails there. The check compares what a promotion does not copy:
 *
 * - config var names in the source and missing in the target (names only, never values);
 * - buildpacks, in order (by name: official buildpacks read `urn:buildpack:heroku/nodejs`);
 * - the stack, and the app generation (Cedar or Fir);
 * - add-on services the target lacks, and plans that differ.
 *
 * `drift_ignore` names config vars, and add-on services, that differ on purpose.
 */

/**
 * What the drift check compares between a pipeline's apps (issue 16). Config vars are read as names
 * only: the adapter drops every value as soon as the answer is parsed, and nothing stores, logs or
 * shows one.
 */
export interface AppSettings {
  app: { id: string; name: string };
  /** Config var names, sorted; null when the token may not read the app's config vars. */
  configKeys: string[] | null;
  /** Buildpack names in order (`heroku/nodejs`; the URL when a buildpack has no name). */
  buildpacks: string[];
  /** The app's stack (`heroku-24`, `container`), null when Heroku does not say. */
  stack: string | null;
  /** Add-on services and plans, sorted (`heroku-postgresql:essential-0`); null when the token may not list them. */
  addons: Array<{ service: string; plan: string }> | null;
  /** The app's generation (`cedar`, `fir`), null when Heroku does not say. */
  generation: string | null;
}

export type DriftMode = "warn" | "block";

export type DriftFinding =
  | { kind: "config"; app: string; key: string }
  | { kind: "buildpacks"; app: string; source: string[]; target: string[] }
  | { kind: "stack"; app: string; source: string | null; target: string | null }
  | { kind: "generation"; app: string; source: string | null; target: string | null }
  | { kind: "addon-missing"; app: string; service: string; plan: string }
  | { kind: "addon-plan"; app: string; service: string; source: string; target: string };

/** What one check found, stored with the request and shown on its message. */
export interface DriftReport {
  checkedAt: string;
  findings: DriftFinding[];
  /** Parts that could not be checked, and why ("the token cannot read config vars of whitewave-prod"). */
  skipped: string[];
  /** An approver let the request through these findings (`findingKey`s), with a reason. */
  override: DriftOverride | null;
}

export interface DriftOverride {
  by: string;
  reason: string;
  at: string;
  findings: string[];
}

/** A finding's identity: an override covers the findings it was given for, not ones found later. */
export function findingKey(finding: DriftFinding): string {
  switch (finding.kind) {
    case "config":
      return `config:${finding.app}:${finding.key}`;
    case "buildpacks":
      return `buildpacks:${finding.app}:${finding.source.join(",")}|${finding.target.join(",")}`;
    case "stack":
    case "generation":
      return `${finding.kind}:${finding.app}:${finding.source ?? ""}|${finding.target ?? ""}`;
    case "addon-missing":
      return `addon-missing:${finding.app}:${finding.service}`;
    case "addon-plan":
      return `addon-plan:${finding.app}:${finding.service}:${finding.source}|${finding.target}`;
  }
}

/** What differs between the source and one target, leaving out what `ignore` names. */
export function compareApps(source: AppSettings, target: AppSettings, ignore: readonly string[]): DriftFinding[] {
  const ignored = new Set(ignore);
  const app = target.app.name;
  const findings: DriftFinding[] = [];
  if (source.configKeys && target.configKeys) {
    const has = new Set(target.configKeys);
    for (const key of source.configKeys) {
      if (!has.has(key) && !ignored.has(key)) findings.push({ kind: "config", app, key });
    }
  }
  if (source.buildpacks.join("\n") !== target.buildpacks.join("\n")) {
    findings.push({ kind: "buildpacks", app, source: source.buildpacks, target: target.buildpacks });
  }
  if (source.stack !== target.stack) findings.push({ kind: "stack", app, source: source.stack, target: target.stack });
  if (source.generation !== target.generation) {
    findings.push({ kind: "generation", app, source: source.generation, target: target.generation });
  }
  for (const addon of source.addons && target.addons ? source.addons : []) {
    if (ignored.has(addon.service)) continue;
    const theirs = target.addons?.find((a) => a.service === addon.service);
    if (!theirs) findings.push({ kind: "addon-missing", app, service: addon.service, plan: addon.plan });
    else if (theirs.plan !== addon.plan) {
      findings.push({ kind: "addon-plan", app, service: addon.service, source: addon.plan, target: theirs.plan });
    }
  }
  return findings;
}

/** Why parts of the comparison were skipped (a token that may not read config vars). */
export function skippedParts(source: AppSettings, targets: readonly AppSettings[]): string[] {
  return [source, ...targets].flatMap((s) => [
    ...(s.configKeys === null ? [`the token cannot read config vars of ${s.app.name}`] : []),
    ...(s.addons === null ? [`the token cannot list the add-ons of ${s.app.name}`] : []),
  ]);
}

/** The findings an override does not cover (all of them without one). */
export function uncovered(report: DriftReport): DriftFinding[] {
  const covered = new Set(report.override?.findings ?? []);
  return report.findings.filter((f) => !covered.has(findingKey(f)));
}

/** Whether the drift stops approvals and the promotion: `block`, with a finding no override covers. */
export function driftBlocks(mode: DriftMode, report: DriftReport | null): boolean {
  return mode === "block" && report !== null && uncovered(report).length > 0;
}
