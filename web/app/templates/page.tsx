"use client";

import Link from "next/link";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { Badge, Card, EmptyState, PageHeader, Spinner } from "@/components/ui/card";
import { FormError } from "@/components/ui/form";
import { api, errorMessage } from "@/lib/api";
import { useApi } from "@/lib/hooks";
import type { Instantiated, Page, Template } from "@/lib/types";

export default function TemplatesPage() {
  const { data, error, loading } = useApi<Page<Template>>("/api/v1/templates?limit=100");
  const [busy, setBusy] = useState<string | null>(null);
  const [result, setResult] = useState<{ id: string; created: Instantiated } | null>(null);
  const [actionError, setActionError] = useState<{ id: string; message: string } | null>(null);

  async function use(t: Template) {
    setBusy(t.id);
    setActionError(null);
    setResult(null);
    try {
      // The API names the copy after the template ("Name", then "Name 2", ...).
      const created = await api<Instantiated>(`/api/v1/templates/${t.id}/instantiate`, { method: "POST", body: {} });
      setResult({ id: t.id, created });
    } catch (e) {
      setActionError({ id: t.id, message: errorMessage(e) });
    } finally {
      setBusy(null);
    }
  }

  const groups = new Map<string, Template[]>();
  for (const t of data?.items ?? []) {
    const g = t.category || "Other";
    groups.set(g, [...(groups.get(g) ?? []), t]);
  }

  return (
    <>
      <PageHeader title="Templates" description="Ready-made agents and workflows. One click creates your own copy to edit and run." />
      <FormError message={error} />
      {loading && !data ? <Spinner label="Loading templates" /> : null}
      {data && data.items.length === 0 ? <EmptyState title="No templates">The catalogue is empty.</EmptyState> : null}
      {[...groups.entries()].map(([group, items]) => (
        <section key={group} className="mb-8">
          <h2 className="mb-3 text-sm font-semibold tracking-wide text-muted-foreground uppercase">{group}</h2>
          <ul className="grid gap-3 md:grid-cols-2 xl:grid-cols-3">
            {items.map((t) => (
              <li key={t.id}>
                <Card className="flex h-full flex-col">
                  <div className="flex items-start justify-between gap-2">
                    <h3 className="font-medium">{t.name}</h3>
                    <Badge className="border-indigo-200 bg-indigo-50 text-indigo-900">
                      {t.kind === "agent" ? `${t.agentType} agent` : "workflow"}
                    </Badge>
                  </div>
                  <p className="mt-1 flex-1 text-sm text-muted-foreground">{t.description}</p>
                  <div className="mt-3">
                    <Button size="sm" onClick={() => use(t)} disabled={busy !== null} aria-label={`Use template ${t.name}`}>
                      {busy === t.id ? "Creating…" : "Use template"}
                    </Button>
                  </div>
                  {actionError?.id === t.id ? <p role="alert" className="mt-2 text-sm text-destructive">{actionError.message}</p> : null}
                  {result?.id === t.id ? (
                    <p role="status" className="mt-2 text-sm text-success">
                      Created{" "}
                      {result.created.workflow ? (
                        <Link className="underline" href={`/workflows/edit?id=${result.created.workflow.id}`}>
                          workflow {result.created.workflow.name}
                        </Link>
                      ) : result.created.agent ? (
                        <Link className="underline" href={`/agents/edit?id=${result.created.agent.id}`}>
                          agent {result.created.agent.name}
                        </Link>
                      ) : (
                        "it"
                      )}
                      {result.created.agents?.length ? ` and ${result.created.agents.length} agents` : ""}.
                    </p>
                  ) : null}
                </Card>
              </li>
            ))}
          </ul>
        </section>
      ))}
    </>
  );
}
