"use client";

import { useState } from "react";
import { Button } from "@/components/ui/button";
import { EmptyState, PageHeader, Spinner } from "@/components/ui/card";
import { FormError, Input, Label } from "@/components/ui/form";
import { api, errorMessage, qs } from "@/lib/api";
import { useApi } from "@/lib/hooks";
import type { AuditEntry, Page } from "@/lib/types";
import { formatTime, shortId } from "@/lib/utils";

/** The audit log: every change to your account, newest first, with who, from where and the request id. */
export default function AuditPage() {
  const [action, setAction] = useState("");
  const [resourceType, setResourceType] = useState("");
  const { data, error, loading } = useApi<Page<AuditEntry>>(`/api/v1/audit-logs${qs({ action, resourceType, limit: 50 })}`);
  const [more, setMore] = useState<AuditEntry[]>([]);
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  const [moreError, setMoreError] = useState<string | null>(null);
  const next = cursor === undefined ? data?.nextCursor : cursor;
  const items = [...(data?.items ?? []), ...more];

  async function loadMore() {
    if (!next) return;
    try {
      const p = await api<Page<AuditEntry>>(`/api/v1/audit-logs${qs({ action, resourceType, limit: 50, cursor: next })}`);
      setMore((m) => [...m, ...p.items]);
      setCursor(p.nextCursor ?? "");
    } catch (e) {
      setMoreError(errorMessage(e));
    }
  }
  const reset = () => {
    setMore([]);
    setCursor(undefined);
  };

  return (
    <>
      <PageHeader title="Audit log" description="Every change to your agents, workflows, deployments, keys and secrets, newest first." />
      <div className="mb-4 flex flex-wrap gap-3">
        <div className="flex flex-col gap-1">
          <Label htmlFor="audit-action">Action</Label>
          <Input id="audit-action" value={action} placeholder="workflow.update" onChange={(e) => { setAction(e.target.value); reset(); }} />
        </div>
        <div className="flex flex-col gap-1">
          <Label htmlFor="audit-resource">Resource type</Label>
          <Input id="audit-resource" value={resourceType} placeholder="agent" onChange={(e) => { setResourceType(e.target.value); reset(); }} />
        </div>
      </div>
      <FormError message={error ?? moreError} />
      {loading && !data ? <Spinner label="Loading the audit log" /> : null}
      {data && items.length === 0 ? <EmptyState title="No entries">Nothing matches the filters.</EmptyState> : null}
      {items.length > 0 ? (
        <div className="overflow-x-auto rounded-lg border border-border bg-white" tabIndex={0} role="region" aria-label="Audit log (scrolls sideways)">
          <table className="w-full text-left text-sm">
            <caption className="sr-only">Audit log</caption>
            <thead className="bg-muted text-xs text-muted-foreground">
              <tr>
                <th scope="col" className="px-3 py-2">When</th>
                <th scope="col" className="px-3 py-2">Action</th>
                <th scope="col" className="px-3 py-2">Resource</th>
                <th scope="col" className="px-3 py-2">Details</th>
                <th scope="col" className="px-3 py-2">From</th>
                <th scope="col" className="px-3 py-2">Request</th>
              </tr>
            </thead>
            <tbody>
              {items.map((e) => (
                <tr key={e.id} className="border-t border-border align-top" data-testid="audit-row">
                  <td className="px-3 py-2 text-xs whitespace-nowrap">{formatTime(e.createdAt)}</td>
                  <td className="px-3 py-2 font-mono text-xs">{e.action}</td>
                  <td className="px-3 py-2 text-xs">
                    {e.resourceType} <span className="font-mono text-muted-foreground">{e.resourceId ? shortId(e.resourceId) : ""}</span>
                  </td>
                  <td className="px-3 py-2 text-xs break-all">{e.metadata && Object.keys(e.metadata as object).length ? JSON.stringify(e.metadata) : "—"}</td>
                  <td className="px-3 py-2 text-xs">{e.ip || "—"}</td>
                  <td className="px-3 py-2 font-mono text-xs">{e.requestId || "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {next ? (
        <div className="mt-3">
          <Button variant="outline" onClick={loadMore}>
            Load more
          </Button>
        </div>
      ) : null}
    </>
  );
}
