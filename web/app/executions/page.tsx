"use client";

import Link from "next/link";
import { useEffect, useMemo, useState } from "react";
import { Button } from "@/components/ui/button";
import { EmptyState, PageHeader, Spinner, StatusBadge } from "@/components/ui/card";
import { FormError, Label, Select } from "@/components/ui/form";
import { api, errorMessage, qs } from "@/lib/api";
import { useApi } from "@/lib/hooks";
import type { Execution, Page, Workflow } from "@/lib/types";
import { formatDuration, formatTime, shortId } from "@/lib/utils";

const statuses = ["queued", "pending", "running", "waiting", "completed", "failed", "cancelled", "timed_out"];

const periods: Record<string, number> = { "1h": 3600_000, "24h": 86_400_000, "7d": 7 * 86_400_000 };

/** sinceOf turns a period choice into the RFC 3339 time it starts at. */
function sinceOf(period: string): string | undefined {
  const ms = periods[period];
  return ms ? new Date(Date.now() - ms).toISOString() : undefined;
}

export default function ExecutionsPage() {
  const [status, setStatus] = useState("");
  const [period, setPeriod] = useState("");
  const [workflowId, setWorkflowId] = useState<string | null>(null);
  const [items, setItems] = useState<Execution[] | null>(null);
  const [cursor, setCursor] = useState<string | undefined>();
  const [error, setError] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const workflows = useApi<Page<Workflow>>("/api/v1/workflows?limit=100");
  const names = useMemo(() => new Map((workflows.data?.items ?? []).map((w) => [w.id, w.name])), [workflows.data]);

  useEffect(() => {
    // Filters from the address (a workflow's "runs" link, the dashboard's waiting runs).
    const q = new URLSearchParams(window.location.search);
    const st = q.get("status") ?? "";
    if (statuses.includes(st)) setStatus(st);
    setWorkflowId(q.get("workflowId") ?? "");
  }, []);

  useEffect(() => {
    if (workflowId === null) return;
    let live = true;
    setItems(null);
    api<Page<Execution>>(`/api/v1/executions${qs({ status, workflowId, since: sinceOf(period), limit: 25 })}`)
      .then((p) => {
        if (!live) return;
        setItems(p.items);
        setCursor(p.nextCursor);
        setError(null);
      })
      .catch((e) => live && setError(errorMessage(e)));
    return () => {
      live = false;
    };
  }, [status, workflowId, period]);

  async function more() {
    if (!cursor) return;
    setLoadingMore(true);
    try {
      const p = await api<Page<Execution>>(
        `/api/v1/executions${qs({ status, workflowId, since: sinceOf(period), limit: 25, cursor })}`,
      );
      setItems((xs) => [...(xs ?? []), ...p.items]);
      setCursor(p.nextCursor);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setLoadingMore(false);
    }
  }

  const filtered = Boolean(status || workflowId || period);
  return (
    <>
      <PageHeader title="Executions" description="Every run of every workflow, newest first." />
      <div className="mb-4 flex flex-col gap-3 sm:flex-row">
        <div className="sm:w-56">
          <Label htmlFor="filter-status">Status</Label>
          <Select id="filter-status" value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">Any status</option>
            {statuses.map((s) => (
              <option key={s} value={s}>
                {s.replace("_", " ")}
              </option>
            ))}
          </Select>
        </div>
        <div className="sm:w-48">
          <Label htmlFor="filter-period">Started</Label>
          <Select id="filter-period" value={period} onChange={(e) => setPeriod(e.target.value)}>
            <option value="">Any time</option>
            <option value="1h">Last hour</option>
            <option value="24h">Last 24 hours</option>
            <option value="7d">Last 7 days</option>
          </Select>
        </div>
        <div className="sm:w-72">
          <Label htmlFor="filter-workflow">Workflow</Label>
          <Select id="filter-workflow" value={workflowId ?? ""} onChange={(e) => setWorkflowId(e.target.value)}>
            <option value="">Any workflow</option>
            {workflows.data?.items.map((w) => (
              <option key={w.id} value={w.id}>
                {w.name}
              </option>
            ))}
          </Select>
        </div>
      </div>
      <FormError message={error} />
      {items === null && !error ? <Spinner label="Loading executions" /> : null}
      {items && items.length === 0 ? (
        filtered ? (
          <EmptyState title="No execution matches">Change the filters.</EmptyState>
        ) : (
          <EmptyState title="No runs yet">
            Open a <Link className="text-primary underline" href="/workflows">workflow</Link> and press Run; its
            execution shows up here.
          </EmptyState>
        )
      ) : null}
      {items && items.length > 0 ? (
        <div className="overflow-x-auto rounded-lg border border-border bg-white" tabIndex={0} role="region" aria-label="Table (scrolls sideways)">
          <table className="w-full text-left text-sm">
            <caption className="sr-only">Executions</caption>
            <thead className="bg-muted text-xs text-muted-foreground">
              <tr>
                <th scope="col" className="px-3 py-2">Run</th>
                <th scope="col" className="px-3 py-2">Workflow</th>
                <th scope="col" className="px-3 py-2">Status</th>
                <th scope="col" className="hidden px-3 py-2 sm:table-cell">Trigger</th>
                <th scope="col" className="hidden px-3 py-2 md:table-cell">Started</th>
                <th scope="col" className="px-3 py-2">Duration</th>
              </tr>
            </thead>
            <tbody>
              {items.map((x) => (
                <tr key={x.id} className="border-t border-border">
                  <td className="px-3 py-2 font-mono">
                    <Link href={`/executions/view?id=${x.id}`} className="text-primary underline">
                      {shortId(x.id)}
                    </Link>
                  </td>
                  <td className="px-3 py-2">{names.get(x.workflowId) ?? shortId(x.workflowId)} <span className="text-xs text-muted-foreground">v{x.workflowVersion}</span></td>
                  <td className="px-3 py-2">
                    <StatusBadge status={x.status} />
                  </td>
                  <td className="hidden px-3 py-2 sm:table-cell">
                    {x.trigger}
                    {x.parentExecutionId ? (
                      <>
                        {" "}
                        (child of{" "}
                        <Link href={`/executions/view?id=${x.parentExecutionId}`} className="text-primary underline">
                          {shortId(x.parentExecutionId)}
                        </Link>
                        )
                      </>
                    ) : null}
                  </td>
                  <td className="hidden px-3 py-2 md:table-cell">{formatTime(x.startedAt ?? x.createdAt)}</td>
                  <td className="px-3 py-2">{formatDuration(x.durationMs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {cursor ? (
        <div className="mt-4">
          <Button variant="outline" onClick={more} disabled={loadingMore}>
            {loadingMore ? "Loading…" : "Load more"}
          </Button>
        </div>
      ) : null}
    </>
  );
}
