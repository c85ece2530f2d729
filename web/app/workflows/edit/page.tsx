"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useMemo, useState } from "react";
import { WorkflowCanvas } from "@/components/canvas/workflow-canvas";
import { StepPanel } from "@/components/canvas/step-panel";
import { CodeEditor } from "@/components/code-editor";
import { Button } from "@/components/ui/button";
import { Card, CardTitle, EmptyState, PageHeader, Spinner } from "@/components/ui/card";
import { CopyButton } from "@/components/ui/copy";
import { DeleteButton } from "@/components/delete-button";
import { Field, FormError, Input, Select } from "@/components/ui/form";
import { api, errorMessage, fieldErrors } from "@/lib/api";
import { useApi, useQueryParam } from "@/lib/hooks";
import { blankStep, connect, disconnect, newStepKey, remove, rename, stepBody, stepErrors, stepFrom, stepSummary, type StepForm } from "@/lib/steps";
import type { Agent, CreatedDeployment, Deployment, Page, RunResult, Workflow } from "@/lib/types";
import { parseJSON, pretty } from "@/lib/utils";

type Form = {
  name: string;
  description: string;
  schedule: string;
  inputSchema: string;
  output: string;
  steps: StepForm[];
};

function formFrom(w: Workflow): Form {
  return {
    name: w.name,
    description: w.description,
    schedule: w.schedule ?? "",
    inputSchema: w.inputSchema ? pretty(w.inputSchema) : "",
    output: w.output !== undefined && w.output !== null ? pretty(w.output) : "",
    steps: w.steps.map(stepFrom),
  };
}

const emptyForm = (): Form => ({ name: "", description: "", schedule: "", inputSchema: "", output: "", steps: [] });

/** buildBody turns the form into a WorkflowInput, or field errors for JSON that does not parse. */
function buildBody(f: Form): { body?: Record<string, unknown>; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const schema = parseJSON(f.inputSchema, "Input schema");
  if (!schema.ok) errors.inputSchema = schema.error;
  const output = parseJSON(f.output, "Output template");
  if (!output.ok) errors.output = output.error;
  const steps = f.steps.map((s, i) => {
    const inputs = parseJSON(s.inputs, "Inputs");
    if (!inputs.ok) errors[`steps[${i}].inputs`] = inputs.error;
    const { step, errors: bad } = stepBody(s, inputs.ok ? inputs.value : undefined);
    for (const [k, v] of Object.entries(bad)) errors[`steps[${i}].${k}`] = v;
    return step;
  });
  if (Object.keys(errors).length) return { errors };
  return {
    errors,
    body: {
      name: f.name,
      description: f.description,
      schedule: f.schedule.trim() || null,
      inputSchema: schema.ok && schema.value !== undefined ? schema.value : null,
      output: output.ok && output.value !== undefined ? output.value : null,
      steps,
    },
  };
}

/** inputNamesOf lists the properties an input schema declares (for template hints). */
function inputNamesOf(schemaText: string): string[] {
  const r = parseJSON(schemaText, "");
  const props = r.ok && r.value && typeof r.value === "object" ? (r.value as { properties?: Record<string, unknown> }).properties : undefined;
  return props ? Object.keys(props) : [];
}

export default function WorkflowEditPage() {
  const id = useQueryParam("id");
  const router = useRouter();
  const agents = useApi<Page<Agent>>("/api/v1/agents?limit=100");
  const workflows = useApi<Page<Workflow>>("/api/v1/workflows?limit=100");
  const [workflow, setWorkflow] = useState<Workflow | null>(null);
  const [form, setForm] = useState<Form>(emptyForm);
  const [selected, setSelected] = useState<number | null>(null);
  const [dirty, setDirty] = useState(false);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!id) {
      setWorkflow(null);
      setForm(emptyForm());
      return;
    }
    api<Workflow>(`/api/v1/workflows/${encodeURIComponent(id)}`)
      .then((w) => {
        setWorkflow(w);
        setForm(formFrom(w));
        setDirty(false);
      })
      .catch((e) => setLoadError(errorMessage(e)));
  }, [id]);

  const agentList = useMemo(() => agents.data?.items ?? [], [agents.data]);
  const agentName = useMemo(() => new Map(agentList.map((a) => [a.id, a.name])), [agentList]);
  // The workflows a workflow step may run: every other one of the user's.
  const otherWorkflows = useMemo(
    () => (workflows.data?.items ?? []).filter((w) => w.id !== id).map((w) => ({ id: w.id, name: w.name })),
    [workflows.data, id],
  );

  const update = (fn: (f: Form) => Form) => {
    setForm(fn);
    setDirty(true);
    setSaved(null);
  };
  const setField = (k: "name" | "description" | "schedule") => (e: React.ChangeEvent<HTMLInputElement>) =>
    update((f) => ({ ...f, [k]: e.target.value }));
  const setSteps = (fn: (steps: StepForm[]) => StepForm[]) => update((f) => ({ ...f, steps: fn(f.steps) }));
  const setStep = (uid: number, patch: Partial<StepForm>) => setSteps((ss) => ss.map((s) => (s.uid === uid ? { ...s, ...patch } : s)));
  const addStep = () => {
    // A new step follows the selected one (or the last): connect it.
    const after = form.steps.find((s) => s.uid === selected) ?? form.steps[form.steps.length - 1];
    const step = blankStep(newStepKey(form.steps), agentList[0]?.id ?? "", after && after.key ? [after.key] : []);
    setSteps((ss) => [...ss, step]);
    setSelected(step.uid);
  };

  async function save(e: React.FormEvent) {
    e.preventDefault();
    setErrors({});
    setFormError(null);
    setSaved(null);
    const { body, errors: local } = buildBody(form);
    if (!body) {
      setErrors(local);
      setFormError("Fix the highlighted fields.");
      return;
    }
    setBusy(true);
    try {
      const w = workflow
        ? await api<Workflow>(`/api/v1/workflows/${workflow.id}`, { method: "PUT", body })
        : await api<Workflow>("/api/v1/workflows", { method: "POST", body });
      const keep = form.steps.find((s) => s.uid === selected)?.key;
      const next = formFrom(w);
      setWorkflow(w);
      setForm(next);
      setSelected(next.steps.find((s) => s.key === keep)?.uid ?? null);
      setDirty(false);
      setSaved(workflow ? `Saved as version ${w.version}.` : "Workflow created. Run it below.");
      if (!workflow) router.replace(`/workflows/edit?id=${w.id}`);
    } catch (err) {
      const fe = fieldErrors(err);
      setErrors(fe);
      setFormError(Object.keys(fe).length ? `${errorMessage(err)}: fix the highlighted fields.` : errorMessage(err));
      // Show the first step with a problem.
      const bad = form.steps.findIndex((_, i) => Object.keys(stepErrors(fe, i)).length > 0);
      if (bad >= 0) setSelected(form.steps[bad].uid);
    } finally {
      setBusy(false);
    }
  }

  if (id === undefined) return <Spinner />;
  if (loadError) return <FormError message={loadError} />;
  if (id && !workflow) return <Spinner label="Loading workflow" />;

  const current = form.steps.find((s) => s.uid === selected) ?? null;
  const currentIndex = current ? form.steps.indexOf(current) : -1;
  const badSteps = form.steps
    .map((s, i) => ({ s, e: stepErrors(errors, i) }))
    .filter((x) => Object.keys(x.e).length > 0);
  const inputNames = inputNamesOf(form.inputSchema);
  return (
    <>
      <PageHeader
        title={workflow ? `Workflow: ${workflow.name}` : "New workflow"}
        description={
          <>
            <Link href="/workflows" className="text-primary underline">
              Back to workflows
            </Link>
            {workflow ? (
              <>
                {" · "}version {workflow.version} ·{" "}
                <Link href={`/executions?workflowId=${workflow.id}`} className="text-primary underline">
                  runs
                </Link>
              </>
            ) : null}
          </>
        }
        actions={
          workflow ? (
            <DeleteButton
              noun="workflow"
              name={workflow.name}
              path={`/api/v1/workflows/${workflow.id}`}
              back="/workflows"
              description="Its runs stay in the execution history."
              onError={setFormError}
            />
          ) : null
        }
      />
      <form onSubmit={save} className="flex min-w-0 flex-col gap-4" noValidate aria-label="Workflow">
        <FormError message={formError} />
        {badSteps.length ? (
          <ul className="flex flex-wrap gap-2 text-sm" aria-label="Steps with problems">
            {badSteps.map(({ s }) => (
              <li key={s.uid}>
                <Button type="button" variant="outline" size="sm" className="border-destructive text-destructive" onClick={() => setSelected(s.uid)}>
                  Fix step {s.key || "(no key)"}
                </Button>
              </li>
            ))}
          </ul>
        ) : null}
        {saved ? (
          <p role="status" className="rounded-md bg-green-50 px-3 py-2 text-sm text-success">
            {saved}
          </p>
        ) : null}
        <Card className="flex flex-col gap-4">
          <div className="grid gap-4 md:grid-cols-3">
            <Field label="Name" error={errors.name}>
              <Input name="name" value={form.name} onChange={setField("name")} maxLength={100} />
            </Field>
            <Field label="Description" error={errors.description}>
              <Input name="description" value={form.description} onChange={setField("description")} />
            </Field>
            <Field label="Schedule" error={errors.schedule} hint="Optional: rate(5 minutes) or cron(0 12 * * ? *).">
              <Input name="schedule" value={form.schedule} onChange={setField("schedule")} />
            </Field>
          </div>
          <details open={Boolean(errors.inputSchema || errors.output) || undefined}>
            <summary className="cursor-pointer text-sm font-medium">Input schema and output template</summary>
            <div className="mt-3 grid gap-4 lg:grid-cols-2">
              <Field label="Input schema (JSON Schema)" error={errors.inputSchema} hint="Optional; the run form is built from its properties.">
                <CodeEditor label="Input schema (JSON Schema)" language="json" value={form.inputSchema} onChange={(v) => update((f) => ({ ...f, inputSchema: v }))} minLines={5} />
              </Field>
              <Field label="Output template (JSON)" error={errors.output} hint='Optional, e.g. {"summary": "{{steps.summarize.output.text}}"}.'>
                <CodeEditor
                  label="Output template (JSON)"
                  language="json"
                  value={form.output}
                  onChange={(v) => update((f) => ({ ...f, output: v }))}
                  hints={form.steps.map((s) => `steps.${s.key}.output`)}
                  minLines={5}
                />
              </Field>
            </div>
          </details>
        </Card>

        <section aria-label="Steps" className="flex flex-col gap-2">
          <div className="flex flex-wrap items-center justify-between gap-2">
            <h2 className="text-lg font-semibold">Steps</h2>
            <div className="flex items-center gap-2">
              <p className="hidden text-xs text-muted-foreground lg:block">
                Drag from a step&apos;s right edge to another step to make it depend on it; select a connection and press Delete to remove it.
              </p>
              <Button type="button" variant="outline" size="sm" onClick={addStep}>
                Add step
              </Button>
            </div>
          </div>
          {errors.steps ? (
            <p role="alert" className="text-sm font-medium text-destructive">
              {errors.steps}
            </p>
          ) : null}
          {agents.data && agentList.length === 0 && form.steps.length === 0 ? (
            <EmptyState title="You have no agents">
              Agent steps run agents: <Link className="text-primary underline" href="/agents/edit">create an agent</Link> first, or add a wait, approval or workflow step.
            </EmptyState>
          ) : null}
          <div className="grid gap-4 lg:grid-cols-[minmax(0,1fr)_22rem]">
            <div className="min-w-0">
              {form.steps.length === 0 && agentList.length > 0 ? (
                <EmptyState title="No steps yet">Add a step; each one runs an agent. Steps with no dependency in common run in parallel.</EmptyState>
              ) : (
                <WorkflowCanvas
                  label="Workflow graph"
                  steps={form.steps.map((s, i) => ({
                    id: String(s.uid),
                    key: s.key,
                    kind: s.kind,
                    dependsOn: s.dependsOn,
                    subtitle: stepSummary(s, (id) => agentName.get(id)),
                    when: s.when.trim() || undefined,
                    forEach: s.forEach.trim() || undefined,
                    onError: s.onError,
                    invalid: Object.keys(stepErrors(errors, i)).length > 0,
                  }))}
                  selected={selected === null ? null : String(selected)}
                  onSelect={(nid) => setSelected(nid === null ? null : Number(nid))}
                  onConnect={(src, dst) => setSteps((ss) => connect(ss, Number(src), Number(dst)))}
                  onDisconnect={(key, dst) => setSteps((ss) => disconnect(ss, key, Number(dst)))}
                />
              )}
            </div>
            <aside aria-label="Step settings" className="min-w-0 rounded-md border border-border bg-white p-3">
              {current ? (
                <StepPanel
                  step={current}
                  steps={form.steps}
                  agents={agentList}
                  workflows={otherWorkflows}
                  errors={stepErrors(errors, currentIndex)}
                  inputNames={inputNames}
                  onChange={(patch) => setStep(current.uid, patch)}
                  onRename={(key) => setSteps((ss) => rename(ss, current.uid, key))}
                  onRemove={() => {
                    setSteps((ss) => remove(ss, current.uid));
                    setSelected(null);
                  }}
                />
              ) : (
                <div className="flex flex-col gap-2 text-sm">
                  <p className="text-muted-foreground">Select a step on the canvas, or here, to edit it.</p>
                  <ul className="flex flex-wrap gap-2">
                    {form.steps.map((s) => (
                      <li key={s.uid}>
                        <Button type="button" variant="outline" size="sm" onClick={() => setSelected(s.uid)}>
                          Edit step {s.key || "(no key)"}
                        </Button>
                      </li>
                    ))}
                  </ul>
                </div>
              )}
            </aside>
          </div>
        </section>
        <div className="flex items-center gap-3">
          <Button type="submit" disabled={busy}>
            {busy ? "Saving…" : workflow ? "Save workflow" : "Create workflow"}
          </Button>
          {dirty && workflow ? <span className="text-sm text-warning">Unsaved changes</span> : null}
        </div>
      </form>
      {workflow ? (
        <div className="mt-6 grid gap-6 xl:grid-cols-2">
          <RunPanel workflow={workflow} dirty={dirty} />
          <DeployPanel workflow={workflow} dirty={dirty} />
        </div>
      ) : null}
    </>
  );
}

type Prop = { type?: string; description?: string; title?: string; enum?: unknown[] };

function RunPanel({ workflow, dirty }: { workflow: Workflow; dirty: boolean }) {
  const router = useRouter();
  const schema = workflow.inputSchema as { properties?: Record<string, Prop>; required?: string[] } | undefined;
  const props = schema?.properties ? Object.entries(schema.properties) : [];
  const [values, setValues] = useState<Record<string, string>>({});
  const [rawInput, setRawInput] = useState("{}");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // The environments deployed now: a run can use the version deployed there.
  const deployments = useApi<Page<Deployment>>(`/api/v1/deployments?workflowId=${workflow.id}&limit=100`);
  const active = (deployments.data?.items ?? []).filter((d) => d.status === "active");
  const [target, setTarget] = useState("");

  async function run(e: React.FormEvent) {
    e.preventDefault();
    setError(null);
    setErrors({});
    let input: Record<string, unknown> = {};
    if (props.length) {
      for (const [name, p] of props) {
        const v = values[name] ?? "";
        if (v === "") continue;
        if (p.type === "number" || p.type === "integer") input[name] = Number(v);
        else if (p.type === "boolean") input[name] = v === "true";
        else if (p.type === "object" || p.type === "array") {
          const r = parseJSON(v, name);
          if (!r.ok) {
            setErrors({ [`input.${name}`]: r.error });
            return;
          }
          input[name] = r.value;
        } else input[name] = v;
      }
    } else {
      const r = parseJSON(rawInput, "Input");
      if (!r.ok) {
        setError(r.error);
        return;
      }
      input = (r.value as Record<string, unknown>) ?? {};
    }
    setBusy(true);
    try {
      const body: Record<string, unknown> = { input };
      if (target) body.environment = target;
      const res = await api<RunResult>(`/api/v1/workflows/${workflow.id}/execute`, { method: "POST", body });
      router.push(`/executions/view?id=${res.executionId}`);
    } catch (err) {
      setErrors(fieldErrors(err));
      setError(errorMessage(err));
      setBusy(false);
    }
  }

  return (
    <Card>
      <CardTitle>Run</CardTitle>
      <form onSubmit={run} className="flex flex-col gap-3" aria-label="Run workflow">
        <FormError message={error} />
        {props.length ? (
          props.map(([name, p]) => (
            <Field
              key={name}
              label={`${p.title ?? name}${schema?.required?.includes(name) ? " (required)" : ""}`}
              hint={p.description}
              error={errors[`input.${name}`] ?? errors[name]}
            >
              {p.type === "boolean" ? (
                <Select value={values[name] ?? ""} onChange={(e) => setValues((v) => ({ ...v, [name]: e.target.value }))}>
                  <option value="">—</option>
                  <option value="true">true</option>
                  <option value="false">false</option>
                </Select>
              ) : (
                <Input
                  inputMode={p.type === "number" || p.type === "integer" ? "decimal" : undefined}
                  value={values[name] ?? ""}
                  onChange={(e) => setValues((v) => ({ ...v, [name]: e.target.value }))}
                />
              )}
            </Field>
          ))
        ) : (
          <Field label="Input (JSON object)" error={errors.input}>
            <CodeEditor label="Input (JSON object)" language="json" value={rawInput} onChange={setRawInput} minLines={4} />
          </Field>
        )}
        {active.length ? (
          <Field label="Version to run" hint="A deployed environment runs the version deployed there.">
            <Select value={target} onChange={(e) => setTarget(e.target.value)}>
              <option value="">Current version (v{workflow.version})</option>
              {active.map((d) => (
                <option key={d.id} value={d.environment}>
                  {d.environment} (v{d.version})
                </option>
              ))}
            </Select>
          </Field>
        ) : null}
        <div className="flex items-center gap-3">
          <Button type="submit" disabled={busy || (dirty && !target)}>
            {busy ? "Starting…" : target ? `Run ${target}` : `Run version ${workflow.version}`}
          </Button>
          {dirty && !target ? <span className="text-sm text-muted-foreground">Save first to run your changes.</span> : null}
        </div>
      </form>
    </Card>
  );
}

/**
 * DeployPanel deploys the saved version to an environment. The API's field
 * errors appear at the field; the webhook signing secret of a new deployment
 * is shown once, here, and never again.
 */
function DeployPanel({ workflow, dirty }: { workflow: Workflow; dirty: boolean }) {
  const [environment, setEnvironment] = useState("prod");
  const [schedule, setSchedule] = useState(workflow.schedule ?? "");
  const [timezone, setTimezone] = useState("");
  const [input, setInput] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<CreatedDeployment | null>(null);

  async function deploy(e: React.FormEvent) {
    e.preventDefault();
    setError(null);
    setErrors({});
    setCreated(null);
    setBusy(true);
    try {
      const body: Record<string, unknown> = { environment: environment.trim(), schedule: schedule.trim() };
      if (timezone.trim()) body.timezone = timezone.trim();
      const parsed = parseJSON(input, "Input of scheduled runs");
      if (!parsed.ok) {
        setErrors({ input: parsed.error });
        setError("Check the highlighted fields.");
        return;
      }
      if (parsed.value !== undefined) body.input = parsed.value;
      const d = await api<CreatedDeployment>(`/api/v1/workflows/${workflow.id}/deployments`, { method: "POST", body });
      setCreated(d);
      if (d.status === "failed") setError(`The deployment failed: ${d.error ?? "no reason given"}`);
    } catch (err) {
      const fe = fieldErrors(err);
      setErrors(fe);
      setError(Object.keys(fe).length ? "Check the highlighted fields." : errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card>
      <CardTitle>Deploy</CardTitle>
      <form onSubmit={deploy} className="flex flex-col gap-3" noValidate aria-label="Deploy workflow">
        <FormError message={error} />
        {created && created.status !== "failed" ? (
          <div role="status" className="rounded-md border border-amber-300 bg-amber-50 p-3 text-sm" data-testid="new-deployment">
            <p className="font-medium">
              Deployed version {created.version} to <span className="font-mono">{created.environment}</span>.{" "}
              <Link className="text-primary underline" href="/deployments">
                See deployments
              </Link>
            </p>
            {created.signingSecret ? (
              <>
                <p className="mt-2">
                  Webhook signing secret (HMAC-SHA256 of the body, sent as <code>X-Turbocat-Signature</code>). Copy it
                  now: it will not be shown again.
                </p>
                <div className="mt-2 flex flex-wrap items-center gap-2">
                  <code className="min-w-0 flex-1 rounded bg-white px-2 py-1 text-xs break-all" data-testid="signing-secret">
                    {created.signingSecret}
                  </code>
                  <CopyButton text={created.signingSecret} label="Copy secret" />
                </div>
              </>
            ) : null}
            {created.signingSecretKept ? (
              <p className="mt-2" data-testid="signing-secret-kept">
                The environment keeps its webhook URL and signing secret: callers need no change.
              </p>
            ) : null}
            <Button variant="ghost" size="sm" className="mt-2" type="button" onClick={() => setCreated(null)}>
              {created.signingSecret ? "I have stored it" : "Dismiss"}
            </Button>
          </div>
        ) : null}
        <Field label="Environment" error={errors.environment} hint="Lowercase letters, digits and hyphens, e.g. prod.">
          <Input name="environment" value={environment} onChange={(e) => setEnvironment(e.target.value)} autoComplete="off" />
        </Field>
        <Field
          label="Deployment schedule (optional)"
          error={errors.schedule}
          hint="cron(…), rate(…) or at(…); empty for none."
        >
          <Input name="deploySchedule" value={schedule} onChange={(e) => setSchedule(e.target.value)} placeholder="rate(1 hour)" autoComplete="off" />
        </Field>
        <Field label="Time zone (optional)" error={errors.timezone} hint="IANA name of the schedule's time zone; UTC when empty.">
          <Input name="timezone" value={timezone} onChange={(e) => setTimezone(e.target.value)} placeholder="Europe/Paris" autoComplete="off" />
        </Field>
        <Field
          label="Input of scheduled runs (JSON, optional)"
          error={errors.input ?? Object.entries(errors).find(([k]) => k.startsWith("input."))?.map((x, i) => (i ? x : x.slice(6))).join(": ")}
          hint="What every schedule fire (and a webhook call with an empty body) runs with; checked against the input schema."
        >
          <CodeEditor label="Input of scheduled runs (JSON, optional)" language="json" value={input} onChange={setInput} minLines={3} placeholder='{"sku": "A-1"}' />
        </Field>
        <div className="flex items-center gap-3">
          <Button type="submit" disabled={busy || dirty}>
            {busy ? "Deploying…" : `Deploy version ${workflow.version}`}
          </Button>
          {dirty ? <span className="text-sm text-muted-foreground">Save first to deploy your changes.</span> : null}
        </div>
      </form>
    </Card>
  );
}
