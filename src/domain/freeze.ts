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

/** The local weekday and minute of the day of `at` in `zone`. */
export function localTime(at: Date, zone: string): { day: Weekday; minute: number } {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    weekday: "short",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(at);
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

/** The first window `at` falls in, if any. */
export function activeFreeze(windows: readonly FreezeWindow[], at: Date): FreezeWindow | undefined {
  return windows.find((w) => inWindow(w, at));
}
