/**
 * Freeze windows: recurring periods, in a named time zone, during which a pipeline behaves as locked
 * (e.g. Friday 16:00 to Monday 08:00 Paris time). Wall-clock times are read through Intl, so windows
 * follow daylight-saving changes: 16:00 in Paris is 16:00 in Paris in winter and in summer.
 */
export const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface FreezeWindow {
  /** Days the window covers: an overnight window starts at `from` on the first of consecutive days. */
  days: Weekday[];
  /** "HH:MM" local time the window starts. */
  from: string;
  /** "HH:MM" local time it ends; earlier than `from` means the next day. */
  to: string;
  timezone: string;
  reason: string;
}

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(":").map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

/** One formatter per zone: building an Intl.DateTimeFormat costs far more than using one. */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      weekday: "short",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The local weekday and minute of the day of `at` in `zone`. */
export function localTime(at: Date, zone: string): { day: Weekday; minute: number } {
  const parts = formatter(zone).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  const day = get("weekday").toLowerCase().slice(0, 3) as Weekday;
  return { day, minute: Number(get("hour")) * 60 + Number(get("minute")) };
}

function previous(day: Weekday): Weekday {
  return WEEKDAYS[(WEEKDAYS.indexOf(day) + 6) % 7] as Weekday;
}

export function inWindow(window: FreezeWindow, at: Date): boolean {
  const { day, minute } = localTime(at, window.timezone);
  const from = minutesOf(window.from);
  const to = minutesOf(window.to);
  if (from === to) return window.days.includes(day); // the whole day
  if (from < to) return window.days.includes(day) && minute >= from && minute < to;
  // Overnight: consecutive listed days make one window, from `from` on the first of them until `to`
  // the morning after the last (fri, sat, sun 16:00-08:00 is Friday 16:00 to Monday 08:00).
  const listed = window.days.includes(day);
  const afterListed = window.days.includes(previous(day));
  return (listed && (minute >= from || afterListed)) || (afterListed && minute < to);
}

const MINUTE_MS = 60_000;
const STEP_MS = 15 * MINUTE_MS;
const SCAN_LIMIT_MS = 8 * 24 * 60 * MINUTE_MS;

/**
 * When the occurrence of `window` that `at` falls in began, to the minute (window edges are whole
 * minutes): this Friday's 16:00, not last Friday's. Undefined when the window has been in force for
 * over a week (a window that never ends). Found by stepping back 15 minutes at a time, then halving:
 * two occurrences less than 15 minutes apart count as one.
 */
export function occurrenceStart(window: FreezeWindow, at: Date): Date | undefined {
  const now = Math.floor(at.getTime() / MINUTE_MS) * MINUTE_MS;
  let inside = now;
  let outside = now - STEP_MS;
  while (inWindow(window, new Date(outside))) {
    inside = outside;
    outside -= STEP_MS;
    if (now - outside > SCAN_LIMIT_MS) return undefined;
  }
  while (inside - outside > MINUTE_MS) {
    const middle = outside + Math.floor((inside - outside) / MINUTE_MS / 2) * MINUTE_MS;
    if (inWindow(window, new Date(middle))) inside = middle;
    else outside = middle;
  }
  return new Date(inside);
}
