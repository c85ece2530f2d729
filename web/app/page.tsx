"use client";

import Link from "next/link";
import { useEffect, useState } from "react";
import { Card, CardTitle, EmptyState, PageHeader, Spinner, StatusBadge } from "@/components/ui/card";
import { FormError } from "@/components/ui/form";
import { api, errorMessage } from "@/lib/api";
import type { Agent, Execution, Page, UsageReport, Workflow } from "@/lib/types";
import { formatDuration, formatTime, shortId } from "@/lib/utils";

type Stats = {
  agents: string;
  workflows: string;
  runsToday: number;
  successRate: number | null;
  medianMs: number | null;
  perHour: number[];
  recent: Execution[];
  names: Map<string, string>;
  /** waiting: runs waiting for a decision or a time ("100+" past a page). */
  waiting: string;
  usage: UsageReport;
};

const usd = (n: number) => `$${n < 0.01 && n > 0 ? n.toFixed(4) : n.toFixed(2)}`;

const count = (p: Page<unknown>) => (p.nextCursor ? `${p.items.length}+` : String(p.items.length));

/** since fetches executions since t, a few pages at most. */
async function executionsSince(t: Date): Promise<Execution[]> {
  const out: Execution[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 10; i++) {
    const p: Page<Execution> = await api(
      `/api/v1/executions?limit=100&since=${encodeURIComponent(t.toISOString())}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
    );
    out.push(...p.items);
    cursor = p.nextCursor;
    if (!cursor) break;
  }
  return out;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : Math.round((s[m - 1] + s[m]) / 2);
}

export default function Dashboard() {
  const [stats, setStats] = useState<Stats | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    (async () => {
      const now = new Date();
      const dayAgo = new Date(now.getTime() - 24 * 3600_000);
      const midnight = new Date(now);
      midnight.setHours(0, 0, 0, 0);
      const [agents, workflows, last24, waiting, usage] = await Promise.all([
        api<Page<Agent>>("/api/v1/agents?limit=100"),
        api<Page<Workflow>>("/api/v1/workflows?limit=100"),
        executionsSince(dayAgo < midnight ? dayAgo : midnight),
        api<Page<Execution>>("/api/v1/executions?status=waiting&limit=100"),
        api<UsageReport>("/api/v1/usage?days=7"),
      ]);
      const recent = (await api<Page<Execution>>("/api/v1/executions?limit=8")).items;
      const in24 = last24.filter((e) => new Date(e.createdAt) >= dayAgo);
      const finished = in24.filter((e) => ["completed", "failed", "cancelled", "timed_out"].includes(e.status));
      const perHour = new Array(24).fill(0);
      for (const e of in24) {
        const h = Math.floor((now.getTime() - new Date(e.createdAt).getTime()) / 3600_000);
        if (h >= 0 && h < 24) perHour[23 - h]++;
      }
      setStats({
        agents: count(agents),
        workflows: count(workflows),
        runsToday: last24.filter((e) => new Date(e.createdAt) >= midnight).length,
        successRate: finished.length ? finished.filter((e) => e.status === "completed").length / finished.length : null,
        medianMs: median(finished.map((e) => e.durationMs).filter((d): d is number => typeof d === "number")),
        perHour,
        recent,
        names: new Map(workflows.items.map((w) => [w.id, w.name])),
        waiting: count(waiting),
        usage,
      });
    })().catch((e) => setError(errorMessage(e)));
  }, []);

  if (error) return <FormError message={error} />;
  if (!stats) return <Spinner label="Loading the dashboard" />;

  const tiles = [
    { label: "Agents", value: stats.agents, href: "/agents" },
    { label: "Workflows", value: stats.workflows, href: "/workflows" },
    { label: "Runs today", value: String(stats.runsToday), href: "/executions" },
    { label: "Success rate (24 h)", value: stats.successRate === null ? "—" : `${Math.round(stats.successRate * 100)}%` },
    { label: "Median duration (24 h)", value: formatDuration(stats.medianMs) },
  ];
  const max = Math.max(1, ...stats.perHour);
  const isNew = stats.agents === "0";

  return (
    <>
      <PageHeader title="Dashboard" description="What ran, how it went, and what to do next." />
      {isNew ? (
        <Card className="mb-6 border-indigo-200 bg-indigo-50">
          <CardTitle>Get started</CardTitle>
          <ol className="list-decimal space-y-1 pl-5 text-sm">
            <li>
              <Link className="text-primary underline" href="/agents/edit">Create an agent</Link> — a few lines of
              JavaScript is enough — or instantiate one from the <Link className="text-primary underline" href="/templates">templates</Link>.
            </li>
            <li>
              <Link className="text-primary underline" href="/workflows/edit">Create a workflow</Link> whose steps run your agents.
            </li>
            <li>Press Run on the workflow and watch its steps and logs live.</li>
          </ol>
        </Card>
      ) : null}
      {stats.waiting !== "0" ? (
        <Card className="mb-6 border-violet-200 bg-violet-50" data-testid="waiting-runs">
          <p className="text-sm">
            <Link className="font-medium text-primary underline" href="/executions?status=waiting">
              {stats.waiting === "1" ? "1 run is waiting" : `${stats.waiting} runs are waiting`}
            </Link>{" "}
            for an approval or a time.
          </p>
        </Card>
      ) : null}
      <div className="mb-6 grid grid-cols-2 gap-3 md:grid-cols-5">
        {tiles.map((t) => (
          <Card key={t.label}>
            <p className="text-xs text-muted-foreground">{t.label}</p>
            <p className="mt-1 text-2xl font-semibold">
              {t.href ? (
                <Link href={t.href} className="hover:underline">
                  {t.value}
                </Link>
              ) : (
                t.value
              )}
            </p>
          </Card>
        ))}
      </div>
      <div className="grid gap-6 lg:grid-cols-2">
        <Card>
          <CardTitle>Runs per hour, last 24 hours</CardTitle>
          <svg
            viewBox="0 0 240 80"
            className="h-32 w-full"
            role="img"
            aria-label={`Runs per hour over the last 24 hours, oldest first: ${stats.perHour.join(", ")}`}
            preserveAspectRatio="none"
          >
            {stats.perHour.map((n, i) => {
              const h = (n / max) * 72;
              return <rect key={i} x={i * 10 + 1} y={78 - h} width={8} height={Math.max(h, n ? 1 : 0)} fill="#4338ca" rx={1} />;
            })}
            <line x1="0" y1="79" x2="240" y2="79" stroke="#cbd5e1" />
          </svg>
          <div className="flex justify-between text-xs text-muted-foreground">
            <span>24 h ago</span>
            <span>now</span>
          </div>
        </Card>
        <Card data-testid="model-spend">
          <CardTitle>Model spend</CardTitle>
          <p className="text-sm">
            This month: <span className="font-semibold">{usd(stats.usage.monthToDate.costUsd)}</span>
            {stats.usage.monthlyBudgetUsd !== null ? ` of a ${usd(stats.usage.monthlyBudgetUsd)} monthly budget` : ""} ·{" "}
            {stats.usage.monthToDate.inputTokens + stats.usage.monthToDate.outputTokens} tokens in {stats.usage.monthToDate.runs} run
            {stats.usage.monthToDate.runs === 1 ? "" : "s"}
          </p>
          {stats.usage.byWorkflow.every((w) => w.costUsd === 0 && w.inputTokens + w.outputTokens === 0) ? (
            <p className="mt-2 text-sm text-muted-foreground">No model calls in the last 7 days.</p>
          ) : (
            <table className="mt-2 w-full text-sm">
              <caption className="sr-only">Model spend by workflow and by day, last 7 days</caption>
              <thead>
                <tr className="text-left text-xs text-muted-foreground">
                  <th className="py-1 font-normal">Last 7 days</th>
                  <th className="py-1 text-right font-normal">Runs</th>
                  <th className="py-1 text-right font-normal">Cost</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-border">
                {stats.usage.byWorkflow.slice(0, 5).map((w) => (
                  <tr key={w.workflowId}>
                    <td className="truncate py-1">
                      <Link href={`/workflows/edit?id=${w.workflowId}`} className="text-primary hover:underline">{w.name}</Link>
                    </td>
                    <td className="py-1 text-right">{w.runs}</td>
                    <td className="py-1 text-right">{usd(w.costUsd)}</td>
                  </tr>
                ))}
                {stats.usage.byDay.map((d) => (
                  <tr key={d.day} className="text-muted-foreground">
                    <td className="py-1">{d.day}</td>
                    <td className="py-1 text-right">{d.runs}</td>
                    <td className="py-1 text-right">{usd(d.costUsd)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Card>
        <Card>
          <CardTitle>Recent executions</CardTitle>
          {stats.recent.length === 0 ? (
            <EmptyState title="No runs yet">Run a workflow to see it here.</EmptyState>
          ) : (
            <ul className="divide-y divide-border text-sm">
              {stats.recent.map((x) => (
                <li key={x.id} className="flex items-center justify-between gap-2 py-2">
                  <Link href={`/executions/view?id=${x.id}`} className="truncate text-primary hover:underline">
                    {stats.names.get(x.workflowId) ?? "workflow"} · {shortId(x.id)}
                  </Link>
                  <span className="flex shrink-0 items-center gap-2">
                    <span className="hidden text-xs text-muted-foreground sm:inline">{formatTime(x.createdAt)}</span>
                    <StatusBadge status={x.status} />
                  </span>
                </li>
              ))}
            </ul>
          )}
        </Card>
      </div>
    </>
  );
}
