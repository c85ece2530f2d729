"use client";

import Link from "next/link";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { Card, EmptyState, PageHeader, Spinner } from "@/components/ui/card";
import { FormError, Input, Label } from "@/components/ui/form";
import { qs } from "@/lib/api";
import { useApi } from "@/lib/hooks";
import type { Page, Workflow } from "@/lib/types";
import { formatTime } from "@/lib/utils";

export default function WorkflowsPage() {
  const [search, setSearch] = useState("");
  const { data, error, loading } = useApi<Page<Workflow>>(`/api/v1/workflows${qs({ search, limit: 100 })}`);
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
            </Card>
          </li>
        ))}
      </ul>
    </>
  );
}
