import { clsx, type ClassValue } from "clsx";
import { twMerge } from "tailwind-merge";

/** cn merges class names, later Tailwind utilities winning. */
export function cn(...inputs: ClassValue[]) {
  return twMerge(clsx(inputs));
}

/** formatDuration renders milliseconds for people. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${m} min ${s} s`;
}

/** formatTime renders an RFC 3339 time in the reader's locale. */
export function formatTime(t: string | null | undefined): string {
  if (!t) return "—";
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? t : d.toLocaleString();
}

/** pretty renders a JSON value for a <pre>. */
export function pretty(v: unknown): string {
  if (v === undefined) return "";
  return JSON.stringify(v, null, 2);
}

/** parseJSON parses text as JSON, with a readable error. */
export function parseJSON(text: string, what: string): { ok: true; value: unknown } | { ok: false; error: string } {
  if (text.trim() === "") return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, error: `${what} is not valid JSON: ${(e as Error).message}` };
  }
}

/** shortId is the first block of a UUID. */
export function shortId(id: string): string {
  return id.split("-")[0] ?? id;
}
