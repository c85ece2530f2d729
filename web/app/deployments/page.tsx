"use client";

import Link from "next/link";
import { useMemo } from "react";
import { EmptyState, PageHeader, Spinner, StatusBadge } from "@/components/ui/card";
import { CopyButton } from "@/components/ui/copy";
import { FormError } from "@/components/ui/form";
import { useApi } from "@/lib/hooks";
import type { Deployment, Page, Workflow } from "@/lib/types";
import { nextFires } from "@/lib/schedule";
import { formatTime } from "@/lib/utils";

export default function DeploymentsPage() {
  const { data, error, loading } = useApi<Page<Deployment>>("/api/v1/deployments?limit=100");
  const workflows = useApi<Page<Workflow>>("/api/v1/workflows?limit=100");
  const names = useMemo(() => new Map((workflows.data?.items ?? []).map((w) => [w.id, w.name])), [workflows.data]);

  return (
    <>
      <PageHeader
        title="Deployments"
        description="Workflow versions deployed to an environment (one Step Functions alias each), with their endpoint and schedule."
      />
      <FormError message={error} />
      {loading && !data ? <Spinner label="Loading deployments" /> : null}
      {data && data.items.length === 0 ? (
        <EmptyState title="Nothing deployed yet">
          Deployments pin a workflow version to an environment such as production. This console shows them once they
          exist; you can already run any <Link className="text-primary underline" href="/workflows">workflow</Link> directly.
        </EmptyState>
      ) : null}
      {data && data.items.length > 0 ? (
        <div className="overflow-x-auto rounded-lg border border-border bg-white" tabIndex={0} role="region" aria-label="Table (scrolls sideways)">
          <table className="w-full text-left text-sm">
            <caption className="sr-only">Deployments</caption>
            <thead className="bg-muted text-xs text-muted-foreground">
              <tr>
                <th scope="col" className="px-3 py-2">Workflow</th>
                <th scope="col" className="px-3 py-2">Environment</th>
                <th scope="col" className="px-3 py-2">Status</th>
                <th scope="col" className="px-3 py-2">Version</th>
                <th scope="col" className="px-3 py-2">Endpoint</th>
                <th scope="col" className="px-3 py-2">Schedule</th>
                <th scope="col" className="px-3 py-2">Activated</th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((d) => (
                <tr key={d.id} className="border-t border-border align-top">
                  <td className="px-3 py-2">
                    <Link href={`/workflows/edit?id=${d.workflowId}`} className="text-primary underline">
                      {names.get(d.workflowId) ?? d.workflowId.slice(0, 8)}
                    </Link>
                  </td>
                  <td className="px-3 py-2 font-mono">{d.environment}</td>
                  <td className="px-3 py-2">
                    <StatusBadge status={d.status} />
                    {d.error ? <p className="mt-1 text-xs text-destructive">{d.error}</p> : null}
                  </td>
                  <td className="px-3 py-2">v{d.version}</td>
                  <td className="px-3 py-2">
                    {d.endpointUrl ? (
                      <div className="flex items-center gap-2">
                        <code className="max-w-56 truncate text-xs" title={d.endpointUrl}>
                          {d.endpointUrl}
                        </code>
                        <CopyButton text={d.endpointUrl} label="Copy URL" />
                      </div>
                    ) : (
                      "—"
                    )}
                  </td>
                  <td className="px-3 py-2 text-xs">
                    {d.schedule ? `${d.schedule}${d.timezone ? ` (${d.timezone})` : ""}` : "—"}
                    {d.schedule && d.status === "active" ? <NextFires schedule={d.schedule} since={d.activatedAt ?? d.createdAt} /> : null}
                  </td>
                  <td className="px-3 py-2 text-xs">{formatTime(d.activatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}

function NextFires({ schedule, since }: { schedule: string; since: string }) {
  const fires = nextFires(schedule, new Date(since), new Date(), 3);
  if (!fires) return null;
  return (
    <p className="mt-1 text-muted-foreground">
      Next: {fires.map((f) => f.toLocaleString()).join(", ")}
    </p>
  );
}
