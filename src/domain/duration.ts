/** Durations written in the pipelines config, such as `30m`, `2h`, `1d` or `1h30m`. */
export interface Duration {
  ms: number;
  text: string;
}

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `90s`, `30m`, `2h`, `1d`, `1h30m` or a number of seconds; at least one minute, at most 30 days. */
export function parseDuration(value: string | number): Duration | undefined {
  let ms: number;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return undefined;
    ms = value * 1_000;
  } else {
    const text = value.replaceAll(/\s+/g, "").toLowerCase();
    if (!/^(\d+[smhd])+$/.test(text)) return undefined;
    ms = 0;
    for (const [, amount, unit] of text.matchAll(/(\d+)([smhd])/g)) {
      ms += Number(amount) * (UNIT_MS[unit as string] ?? 0);
    }
  }
  if (ms < 60_000 || ms > 30 * 86_400_000) return undefined;
  return { ms, text: formatDuration(ms) };
}

/** Formats milliseconds as `2h`, `1h 30m`, `45s`. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))}ms`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1_000);
  for (const [unit, size] of [
    ["d", 86_400],
    ["h", 3_600],
    ["m", 60],
    ["s", 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      parts.push(`${n}${unit}`);
      rest -= n * size;
    }
  }
  return parts.join(" ");
}
