"use client";

import Link from "next/link";
import { useMemo, useState } from "react";
import { Button } from "@/components/ui/button";
import { EmptyState, PageHeader, Spinner, StatusBadge } from "@/components/ui/card";
import { CopyButton } from "@/components/ui/copy";
import { ConfirmButton } from "@/components/ui/dialog";
import { FormError } from "@/components/ui/form";
import { api, errorMessage } from "@/lib/api";
import { useApi } from "@/lib/hooks";
import { errorText } from "@/lib/steps";
import type { Deployment, Execution, Page, Workflow } from "@/lib/types";
import { formatTime, shortId } from "@/lib/utils";

export default function DeploymentsPage() {
  const { data, error, loading, reload } = useApi<Page<Deployment>>("/api/v1/deployments?limit=100");
  const workflows = useApi<Page<Workflow>>("/api/v1/workflows?limit=100");
  const names = useMemo(() => new Map((workflows.data?.items ?? []).map((w) => [w.id, w.name])), [workflows.data]);
  const [actionError, setActionError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  async function act(d: Deployment, kind: "rollback" | "deactivate") {
    setActionError(null);
    setNotice(null);
    try {
      const out = await api<Deployment>(
        kind === "rollback" ? `/api/v1/deployments/${d.id}/rollback` : `/api/v1/deployments/${d.id}`,
        { method: kind === "rollback" ? "POST" : "DELETE" },
      );
      setNotice(
        kind === "rollback"
          ? `Rolled ${out.environment} back to version ${out.version}.`
          : `Deactivated ${out.environment} (version ${out.version}).`,
      );
      reload();
    } catch (err) {
      setActionError(errorMessage(err));
    }
  }

  return (
    <>
      <PageHeader
        title="Deployments"
        description="Workflow versions deployed to an environment (one Step Functions alias each), with their endpoint and schedule. Deploy from a workflow's page."
      />
      <FormError message={error ?? actionError} />
      {notice ? (
        <p role="status" className="mb-4 rounded-md border border-green-200 bg-green-50 px-3 py-2 text-sm">
          {notice}
        </p>
      ) : null}
      {loading && !data ? <Spinner label="Loading deployments" /> : null}
      {data && data.items.length === 0 ? (
        <EmptyState title="Nothing deployed yet">
          Deployments pin a workflow version to an environment such as production. Open a{" "}
          <Link className="text-primary underline" href="/workflows">workflow</Link> and use Deploy to create one.
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
                <th scope="col" className="px-3 py-2">Actions</th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((d) => {
                const name = names.get(d.workflowId) ?? d.workflowId.slice(0, 8);
                const canRollback = d.status === "active" && d.previousVersion != null && d.previousVersion !== d.version;
                return (
                  <tr key={d.id} className="border-t border-border align-top" data-testid="deployment-row">
                    <td className="px-3 py-2">
                      <Link href={`/workflows/edit?id=${d.workflowId}`} className="text-primary underline">
                        {name}
                      </Link>
                    </td>
                    <td className="px-3 py-2 font-mono">{d.environment}</td>
                    <td className="px-3 py-2">
                      <StatusBadge status={d.status} />
                      {d.error ? <p className="mt-1 text-xs text-destructive">{d.error}</p> : null}
                    </td>
                    <td className="px-3 py-2">
                      v{d.version}
                      {canRollback ? <p className="text-xs text-muted-foreground">previous v{d.previousVersion}</p> : null}
                    </td>
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
                      {d.schedule && d.status === "active" ? <NextFires deployment={d} /> : null}
                      {d.schedule ? <FailedFires deployment={d} /> : null}
                    </td>
                    <td className="px-3 py-2 text-xs">{formatTime(d.activatedAt)}</td>
                    <td className="px-3 py-2">
                      {d.status === "active" ? (
                        <div className="flex flex-wrap gap-2">
                          {canRollback ? (
                            <Button variant="outline" size="sm" className="whitespace-nowrap" onClick={() => act(d, "rollback")} aria-label={`Roll back to v${d.previousVersion}: ${name} in ${d.environment}`}>
                              Roll back to v{d.previousVersion}
                            </Button>
                          ) : null}
                          <ConfirmButton
                            trigger="Deactivate"
                            triggerVariant="destructive"
                            title={`Deactivate ${name} in ${d.environment}?`}
                            description="Its webhook will answer 404 and its schedule will stop firing. Deploy again to bring it back."
                            confirm="Deactivate"
                            onConfirm={() => act(d, "deactivate")}
                          />
                        </div>
                      ) : (
                        "—"
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}

/**
 * NextFires shows the next three fire times the API computed with the
 * server's schedule parser (the one EventBridge expressions are checked
 * with): the console computes none itself.
 */
function NextFires({ deployment }: { deployment: Deployment }) {
  const fires = (deployment.nextFires ?? []).map((f) => new Date(f));
  if (fires.length === 0) return null;
  return (
    <div className="mt-1 text-muted-foreground" data-testid="next-fires">
      Next:
      <ul>
        {fires.map((f) => (
          <li key={f.toISOString()}>
            <time dateTime={f.toISOString()}>{f.toLocaleString()}</time>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** FailedFires lists the deployment's schedule fires that could not start (recorded as failed runs). */
function FailedFires({ deployment }: { deployment: Deployment }) {
  const { data } = useApi<Page<Execution>>(`/api/v1/executions?deploymentId=${deployment.id}&trigger=schedule&status=failed&limit=5`);
  const items = data?.items ?? [];
  if (items.length === 0) return null;
  return (
    <div className="mt-2 rounded-md border border-red-200 bg-red-50 p-2 text-destructive" data-testid="failed-fires">
      <p className="font-medium">
        {items.length}
        {data?.nextCursor ? "+" : ""} failed schedule fire{items.length === 1 && !data?.nextCursor ? "" : "s"}
      </p>
      <ul className="mt-1 flex flex-col gap-1">
        {items.map((e) => (
          <li key={e.id}>
            <Link className="underline" href={`/executions/view?id=${e.id}`}>
              {formatTime(e.createdAt)} ({shortId(e.id)})
            </Link>
            : {errorText(e.error)}
          </li>
        ))}
      </ul>
    </div>
  );
}
