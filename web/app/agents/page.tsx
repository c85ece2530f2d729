"use client";

import Link from "next/link";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { Badge, Card, EmptyState, PageHeader, Spinner, StatusBadge } from "@/components/ui/card";
import { FormError, Input, Label, Select } from "@/components/ui/form";
import { qs } from "@/lib/api";
import { useApi } from "@/lib/hooks";
import type { Agent, Page } from "@/lib/types";
import { formatTime } from "@/lib/utils";

export default function AgentsPage() {
  const [search, setSearch] = useState("");
  const [type, setType] = useState("");
  const { data, error, loading } = useApi<Page<Agent>>(`/api/v1/agents${qs({ search, type, limit: 100 })}`);
  const filtered = Boolean(search || type);

  return (
    <>
      <PageHeader
        title="Agents"
        description="The units of work a workflow step runs: JavaScript code, an HTTP call or a model call."
        actions={
          <Button asChild>
            <Link href="/agents/edit">New agent</Link>
          </Button>
        }
      />
      <div className="mb-4 flex flex-col gap-3 sm:flex-row">
        <div className="flex-1">
          <Label htmlFor="agent-search" className="sr-only">
            Search agents
          </Label>
          <Input
            id="agent-search"
            type="search"
            placeholder="Search by name or description"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
        </div>
        <div className="sm:w-48">
          <Label htmlFor="agent-type" className="sr-only">
            Agent type
          </Label>
          <Select id="agent-type" value={type} onChange={(e) => setType(e.target.value)}>
            <option value="">All types</option>
            <option value="code">Code</option>
            <option value="api">API</option>
            <option value="llm">LLM</option>
          </Select>
        </div>
      </div>
      <FormError message={error} />
      {loading && !data ? <Spinner label="Loading agents" /> : null}
      {data && data.items.length === 0 ? (
        filtered ? (
          <EmptyState title="No agent matches">Clear the search or the type filter.</EmptyState>
        ) : (
          <EmptyState title="No agents yet">
            Create one with <Link className="text-primary underline" href="/agents/edit">New agent</Link>, or start
            from a <Link className="text-primary underline" href="/templates">template</Link>.
          </EmptyState>
        )
      ) : null}
      <ul className="grid gap-3 md:grid-cols-2 xl:grid-cols-3">
        {data?.items.map((a) => (
          <li key={a.id}>
            <Card className="h-full">
              <div className="flex items-start justify-between gap-2">
                <Link href={`/agents/edit?id=${a.id}`} className="font-medium text-primary hover:underline">
                  {a.name}
                </Link>
                <div className="flex gap-1">
                  <Badge className="border-indigo-200 bg-indigo-50 text-indigo-900">{a.type}</Badge>
                  {a.status !== "active" ? <StatusBadge status={a.status} /> : null}
                </div>
              </div>
              <p className="mt-1 line-clamp-2 text-sm text-muted-foreground">{a.description || "No description."}</p>
              <p className="mt-2 text-xs text-muted-foreground">Updated {formatTime(a.updatedAt)}</p>
            </Card>
          </li>
        ))}
      </ul>
      {data?.nextCursor ? <p className="mt-3 text-sm text-muted-foreground">Showing the first 100; narrow the search.</p> : null}
    </>
  );
}
