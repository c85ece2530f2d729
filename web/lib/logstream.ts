// Following an execution's log: the SSE stream of GET .../logs?follow=true read
// with fetch (EventSource cannot send the Authorization header), resumed after
// the last sequence when it drops, and polling GET .../logs?cursor= as the
// fallback when streaming does not work.

import { api, raw } from "./api";
import { parseSSE } from "./sse";
import type { ExecutionLog, ExecutionStatus, LiveText, Page } from "./types";

export type LogHandlers = {
  onLog: (l: ExecutionLog) => void;
  onStatus: (s: ExecutionStatus) => void;
  onEnd: (s: ExecutionStatus | null) => void;
  /** onText receives the text a model generates while its step runs (streaming only). */
  onText?: (t: LiveText) => void;
  onMode?: (m: "stream" | "poll") => void;
};

const FINISHED = new Set(["completed", "failed", "cancelled", "timed_out"]);

/** isFinished reports whether an execution status is final. */
export function isFinished(s: string): boolean {
  return FINISHED.has(s);
}

/** followLogs follows execution id's log until it ends or signal aborts. */
export async function followLogs(id: string, h: LogHandlers, signal: AbortSignal): Promise<void> {
  let cursor = 0;
  const seen = (l: ExecutionLog) => {
    if (l.sequence <= cursor) return;
    cursor = l.sequence;
    h.onLog(l);
  };
  let failures = 0;
  // Stream; on a dropped connection resume after the last line.
  while (!signal.aborted && failures < 3) {
    let ended = false;
    try {
      const res = await raw(`/api/v1/executions/${id}/logs?follow=true${cursor ? `&cursor=${cursor}` : ""}`, {
        signal,
        headers: { Accept: "text/event-stream", ...(cursor ? { "Last-Event-ID": String(cursor) } : {}) },
      });
      if (!res.ok || !res.body || !(res.headers.get("Content-Type") ?? "").includes("text/event-stream")) {
        failures = 3;
        break;
      }
      h.onMode?.("stream");
      failures = 0;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        const { events, rest } = parseSSE(buffer);
        buffer = rest;
        for (const ev of events) {
          if (ev.event === "log") seen(JSON.parse(ev.data) as ExecutionLog);
          else if (ev.event === "text") h.onText?.(JSON.parse(ev.data) as LiveText);
          else if (ev.event === "status") h.onStatus((JSON.parse(ev.data) as { status: ExecutionStatus }).status);
          else if (ev.event === "end") {
            ended = true;
            h.onEnd((JSON.parse(ev.data || "{}") as { status?: ExecutionStatus }).status ?? null);
          }
        }
        if (ended) break;
      }
      if (ended) {
        await reader.cancel().catch(() => undefined);
        return;
      }
    } catch {
      if (signal.aborted) return;
      failures++;
      await sleep(500 * failures, signal);
    }
  }
  if (signal.aborted) return;
  // Polling fallback.
  h.onMode?.("poll");
  while (!signal.aborted) {
    try {
      const page = await api<Page<ExecutionLog>>(`/api/v1/executions/${id}/logs?limit=100${cursor ? `&cursor=${cursor}` : ""}`, { signal });
      page.items.forEach(seen);
      if (page.nextCursor) continue;
      const ex = await api<{ status: ExecutionStatus }>(`/api/v1/executions/${id}`, { signal });
      h.onStatus(ex.status);
      if (isFinished(ex.status)) {
        h.onEnd(ex.status);
        return;
      }
    } catch {
      if (signal.aborted) return;
    }
    await sleep(1000, signal);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });
}
