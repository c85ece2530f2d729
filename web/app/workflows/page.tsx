"use client";

import Link from "next/link";
import { useMemo, useState } from "react";
import { Button } from "@/components/ui/button";
import { Card, EmptyState, PageHeader, Spinner, StatusBadge } from "@/components/ui/card";
import { FormError, Input, Label } from "@/components/ui/form";
import { qs } from "@/lib/api";
import { useApi } from "@/lib/hooks";
import type { Execution, Page, Workflow } from "@/lib/types";
import { formatDuration, formatTime } from "@/lib/utils";

export default function WorkflowsPage() {
  const [search, setSearch] = useState("");
  const { data, error, loading } = useApi<Page<Workflow>>(`/api/v1/workflows${qs({ search, limit: 100 })}`);
  // The latest runs, newest first: each card shows its workflow's last one.
  const recent = useApi<Page<Execution>>("/api/v1/executions?limit=100");
  const lastRun = useMemo(() => {
    const m = new Map<string, Execution>();
    for (const e of recent.data?.items ?? []) if (!m.has(e.workflowId)) m.set(e.workflowId, e);
    return m;
  }, [recent.data]);
  return (
    <>
      <PageHeader
        title="Workflows"
        description="DAGs of agent steps. Independent steps run in parallel."
        actions={
          <Button asChild>
            <Link href="/workflows/edit">New workflow</Link>
          </Button>
        }
      />
      <div className="mb-4 max-w-md">
        <Label htmlFor="workflow-search" className="sr-only">
          Search workflows
        </Label>
        <Input
          id="workflow-search"
          type="search"
          placeholder="Search by name or description"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
      </div>
      <FormError message={error} />
      {loading && !data ? <Spinner label="Loading workflows" /> : null}
      {data && data.items.length === 0 ? (
        search ? (
          <EmptyState title="No workflow matches">Clear the search.</EmptyState>
        ) : (
          <EmptyState title="No workflows yet">
            A workflow runs agents as steps. Create <Link className="text-primary underline" href="/agents/edit">an agent</Link>{" "}
            first, then a <Link className="text-primary underline" href="/workflows/edit">new workflow</Link> — or
            instantiate a workflow <Link className="text-primary underline" href="/templates">template</Link>.
          </EmptyState>
        )
      ) : null}
      <ul className="grid gap-3 md:grid-cols-2 xl:grid-cols-3">
        {data?.items.map((w) => (
          <li key={w.id}>
            <Card className="h-full">
              <Link href={`/workflows/edit?id=${w.id}`} className="font-medium text-primary hover:underline">
                {w.name}
              </Link>
              <p className="mt-1 line-clamp-2 text-sm text-muted-foreground">{w.description || "No description."}</p>
              <p className="mt-2 text-xs text-muted-foreground">
                {w.steps.length} step{w.steps.length === 1 ? "" : "s"} · version {w.version}
                {w.schedule ? ` · ${w.schedule}` : ""} · updated {formatTime(w.updatedAt)}
              </p>
              {recent.data ? <LastRun workflowId={w.id} known={lastRun.get(w.id)} complete={!recent.data.nextCursor} /> : null}
            </Card>
          </li>
        ))}
      </ul>
    </>
  );
}

/** LastRun shows a workflow's latest run: from the recent runs, else asked for. */
function LastRun({ workflowId, known, complete }: { workflowId: string; known?: Execution; complete: boolean }) {
  const own = useApi<Page<Execution>>(known || complete ? null : `/api/v1/executions?workflowId=${workflowId}&limit=1`);
  const e = known ?? own.data?.items[0];
  if (!e) {
    return (known || complete || own.data) ? (
      <p className="mt-2 text-xs text-muted-foreground" data-testid="last-run">
        Never run.
      </p>
    ) : null;
  }
  return (
    <p className="mt-2 flex flex-wrap items-center gap-2 text-xs" data-testid="last-run" data-status={e.status}>
      <span className="text-muted-foreground">Last run:</span>
      <Link href={`/executions/view?id=${e.id}`} className="text-primary hover:underline">
        <StatusBadge status={e.status} />
      </Link>
      <span className="text-muted-foreground">
        {formatTime(e.createdAt)}
        {e.durationMs !== null ? ` · ${formatDuration(e.durationMs)}` : ""}
      </span>
    </p>
  );
}
