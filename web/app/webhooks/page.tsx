"use client";

import { useState } from "react";
import { Button } from "@/components/ui/button";
import { Card, CardTitle, EmptyState, PageHeader, Spinner, StatusBadge } from "@/components/ui/card";
import { CopyButton } from "@/components/ui/copy";
import { ConfirmButton } from "@/components/ui/dialog";
import { Field, FormError, Input } from "@/components/ui/form";
import { api, errorMessage, fieldErrors } from "@/lib/api";
import { useApi } from "@/lib/hooks";
import { WEBHOOK_EVENTS, type CreatedWebhook, type Page, type Webhook, type WebhookDelivery } from "@/lib/types";
import { formatTime } from "@/lib/utils";

/** The outbound webhooks: lifecycle events sent, signed, to your endpoints; each delivery with its status and attempts. */
export default function WebhooksPage() {
  const { data, error, loading, reload } = useApi<Page<Webhook>>("/api/v1/webhooks?limit=100");
  const [url, setUrl] = useState("");
  const [events, setEvents] = useState<string[]>(["execution.failed"]);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [created, setCreated] = useState<CreatedWebhook | null>(null);
  const [busy, setBusy] = useState(false);

  async function create(e: React.FormEvent) {
    e.preventDefault();
    setErrors({});
    setFormError(null);
    setCreated(null);
    setBusy(true);
    try {
      const w = await api<CreatedWebhook>("/api/v1/webhooks", { method: "POST", body: { url: url.trim(), events } });
      setCreated(w);
      setUrl("");
      reload();
    } catch (err) {
      const fe = fieldErrors(err);
      setErrors(fe);
      setFormError(Object.keys(fe).length ? "Check the highlighted fields." : errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <PageHeader
        title="Webhooks"
        description="Lifecycle events (runs started, succeeded, failed, cancelled; failed steps; deployments) sent to your endpoints as signed JSON, retried with backoff."
      />
      <div className="grid gap-6 xl:grid-cols-[minmax(0,2fr)_minmax(0,3fr)]">
        <Card>
          <CardTitle>New webhook</CardTitle>
          <form onSubmit={create} className="flex flex-col gap-3" noValidate aria-label="New webhook">
            <FormError message={formError} />
            {created ? (
              <div role="status" className="rounded-md border border-amber-300 bg-amber-50 p-3 text-sm" data-testid="new-webhook">
                <p className="font-medium">Webhook created. Its signing secret (X-Turbocat-Signature) is shown this once:</p>
                <div className="mt-2 flex flex-wrap items-center gap-2">
                  <code className="min-w-0 flex-1 rounded bg-white px-2 py-1 text-xs break-all" data-testid="webhook-secret">
                    {created.secret}
                  </code>
                  <CopyButton text={created.secret} label="Copy secret" />
                </div>
              </div>
            ) : null}
            <Field label="Endpoint URL" error={errors.url} hint="HTTPS endpoint that receives POSTed events.">
              <Input name="url" value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://example.com/hooks/turbocat" autoComplete="off" />
            </Field>
            <fieldset className="rounded-md border border-border p-2">
              <legend className="px-1 text-sm font-medium">Events</legend>
              <div className="grid gap-1 sm:grid-cols-2">
                {WEBHOOK_EVENTS.map((ev) => (
                  <label key={ev} className="flex items-center gap-1.5 text-sm">
                    <input
                      type="checkbox"
                      checked={events.includes(ev)}
                      onChange={(e) => setEvents((es) => (e.target.checked ? [...es, ev] : es.filter((x) => x !== ev)))}
                    />
                    <span className="font-mono text-xs">{ev}</span>
                  </label>
                ))}
              </div>
              {errors.events ? (
                <p role="alert" className="mt-1 text-xs font-medium text-destructive">
                  {errors.events}
                </p>
              ) : null}
            </fieldset>
            <div>
              <Button type="submit" disabled={busy}>
                {busy ? "Creating…" : "Create webhook"}
              </Button>
            </div>
          </form>
        </Card>
        <div className="flex min-w-0 flex-col gap-3">
          <FormError message={error} />
          {loading && !data ? <Spinner label="Loading webhooks" /> : null}
          {data && data.items.length === 0 ? (
            <EmptyState title="No webhooks yet">Create one to hear about failed runs in Slack, PagerDuty or your own service.</EmptyState>
          ) : null}
          {data?.items.map((w) => <WebhookCard key={w.id} webhook={w} onDeleted={reload} />)}
        </div>
      </div>
    </>
  );
}

function WebhookCard({ webhook, onDeleted }: { webhook: Webhook; onDeleted: () => void }) {
  const deliveries = useApi<Page<WebhookDelivery>>(`/api/v1/webhooks/${webhook.id}/deliveries?limit=20`);
  const [error, setError] = useState<string | null>(null);
  return (
    <Card data-testid="webhook-row">
      <div className="flex flex-wrap items-start justify-between gap-2">
        <div className="min-w-0">
          <p className="truncate font-mono text-sm" title={webhook.url}>
            {webhook.url}
          </p>
          <p className="text-xs text-muted-foreground">
            {webhook.events.join(", ")} · created {formatTime(webhook.createdAt)}
          </p>
        </div>
        <div className="flex gap-2">
          <Button variant="outline" size="sm" onClick={deliveries.reload}>
            Refresh
          </Button>
          <ConfirmButton
            trigger="Delete"
            triggerVariant="destructive"
            title="Delete this webhook?"
            description="No more events are sent to it."
            confirm="Delete"
            onConfirm={async () => {
              try {
                await api(`/api/v1/webhooks/${webhook.id}`, { method: "DELETE" });
                onDeleted();
              } catch (err) {
                setError(errorMessage(err));
              }
            }}
          />
        </div>
      </div>
      <FormError message={error ?? deliveries.error} />
      <h3 className="mt-3 text-sm font-medium">Deliveries</h3>
      {deliveries.data && deliveries.data.items.length === 0 ? <p className="text-xs text-muted-foreground">None yet.</p> : null}
      {deliveries.data && deliveries.data.items.length > 0 ? (
        <div className="mt-1 overflow-x-auto" tabIndex={0} role="region" aria-label="Deliveries (scrolls sideways)">
          <table className="w-full text-left text-xs">
            <caption className="sr-only">Deliveries of {webhook.url}</caption>
            <thead className="text-muted-foreground">
              <tr>
                <th scope="col" className="py-1 pr-2">Event</th>
                <th scope="col" className="py-1 pr-2">Status</th>
                <th scope="col" className="py-1 pr-2">Attempts</th>
                <th scope="col" className="py-1 pr-2">Last answer</th>
                <th scope="col" className="py-1">When</th>
              </tr>
            </thead>
            <tbody>
              {deliveries.data.items.map((d) => (
                <tr key={d.id} className="border-t border-border align-top" data-testid="delivery-row">
                  <td className="py-1 pr-2 font-mono">{d.eventType}</td>
                  <td className="py-1 pr-2">
                    <StatusBadge status={d.status === "succeeded" ? "completed" : d.status} />
                  </td>
                  <td className="py-1 pr-2">{d.attempts}</td>
                  <td className="py-1 pr-2 break-words">
                    {d.lastStatus ? `HTTP ${d.lastStatus}` : ""}
                    {d.lastError ? `${d.lastStatus ? ": " : ""}${d.lastError}` : d.lastStatus ? "" : "—"}
                  </td>
                  <td className="py-1 whitespace-nowrap">{formatTime(d.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </Card>
  );
}
