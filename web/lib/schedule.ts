// Next fire times of an EventBridge schedule expression, for display. rate()
// expressions are computed exactly from the activation time; cron() and at()
// expressions are shown as written.

const units: Record<string, number> = {
  minute: 60_000,
  minutes: 60_000,
  hour: 3_600_000,
  hours: 3_600_000,
  day: 86_400_000,
  days: 86_400_000,
};

/** nextFires returns the next n fire times of a rate() schedule anchored at start, or null. */
export function nextFires(schedule: string, start: Date, now: Date, n: number): Date[] | null {
  const m = /^rate\((\d+)\s+(minutes?|hours?|days?)\)$/.exec(schedule.trim());
  if (!m) return null;
  const every = Number(m[1]) * units[m[2]];
  if (!every) return null;
  const elapsed = Math.max(0, now.getTime() - start.getTime());
  let next = start.getTime() + Math.ceil(elapsed / every) * every;
  if (next <= now.getTime()) next += every;
  return Array.from({ length: n }, (_, i) => new Date(next + i * every));
}
