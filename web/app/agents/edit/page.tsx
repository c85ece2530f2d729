"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { Button } from "@/components/ui/button";
import { Card, CardTitle, PageHeader, Spinner } from "@/components/ui/card";
import { DeleteButton } from "@/components/delete-button";
import { Field, FormError, Input, Select, Textarea } from "@/components/ui/form";
import { CodeEditor } from "@/components/code-editor";
import { api, errorMessage, fieldErrors } from "@/lib/api";
import { sourceErrorLine } from "@/lib/steps";
import { useQueryParam } from "@/lib/hooks";
import type { Agent, AgentTestResult, AgentType } from "@/lib/types";
import { formatDuration, parseJSON, pretty } from "@/lib/utils";

const DEFAULT_SOURCE = `// main receives the step's input and returns its output (a Promise is awaited).
// console.log lines become execution logs. Secrets: {{secrets.NAME}}.
function main(input, ctx) {
  return { greeting: "Hello, " + (input.name || "world") };
}
`;

type Form = {
  name: string;
  description: string;
  type: AgentType;
  status: "active" | "disabled";
  // code
  source: string;
  timeoutSeconds: string;
  // api
  method: string;
  url: string;
  headers: string;
  query: string;
  body: string;
  // llm
  provider: string;
  model: string;
  system: string;
  prompt: string;
  apiKeySecret: string;
  temperature: string;
  maxTokens: string;
};

const empty: Form = {
  name: "",
  description: "",
  type: "code",
  status: "active",
  source: DEFAULT_SOURCE,
  timeoutSeconds: "",
  method: "GET",
  url: "",
  headers: "",
  query: "",
  body: "",
  provider: "openai",
  model: "",
  system: "",
  prompt: "",
  apiKeySecret: "",
  temperature: "",
  maxTokens: "",
};

const str = (v: unknown) => (typeof v === "string" ? v : "");
const num = (v: unknown) => (typeof v === "number" ? String(v) : "");
const json = (v: unknown) => (v === undefined || v === null ? "" : pretty(v));

function fromAgent(a: Agent): Form {
  const c = (a.config ?? {}) as Record<string, unknown>;
  return {
    ...empty,
    name: a.name,
    description: a.description,
    type: a.type,
    status: a.status,
    source: str(c.source) || (a.type === "code" ? "" : DEFAULT_SOURCE),
    timeoutSeconds: num(c.timeoutSeconds),
    method: str(c.method) || "GET",
    url: str(c.url),
    headers: json(c.headers),
    query: json(c.query),
    body: json(c.body),
    provider: str(c.provider) || "openai",
    model: str(c.model),
    system: str(c.system),
    prompt: str(c.prompt),
    apiKeySecret: str(c.apiKeySecret),
    temperature: num(c.temperature),
    maxTokens: num(c.maxTokens),
  };
}

/** buildConfig turns the form into the type's config, keeping keys the form does not edit. */
function buildConfig(f: Form, base: Record<string, unknown>): { config?: Record<string, unknown>; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const out: Record<string, unknown> = { ...base };
  const setNum = (k: string, v: string) => {
    if (v.trim() === "") delete out[k];
    else if (Number.isNaN(Number(v))) errors[`config.${k}`] = "must be a number";
    else out[k] = Number(v);
  };
  const setStr = (k: string, v: string) => {
    if (v === "") delete out[k];
    else out[k] = v;
  };
  const setJSON = (k: string, v: string, label: string) => {
    const r = parseJSON(v, label);
    if (!r.ok) errors[`config.${k}`] = r.error;
    else if (r.value === undefined) delete out[k];
    else out[k] = r.value;
  };
  if (f.type === "code") {
    out.source = f.source;
    setNum("timeoutSeconds", f.timeoutSeconds);
  } else if (f.type === "api") {
    out.method = f.method;
    out.url = f.url;
    setJSON("headers", f.headers, "Headers");
    setJSON("query", f.query, "Query");
    setJSON("body", f.body, "Body");
    setNum("timeoutSeconds", f.timeoutSeconds);
  } else {
    out.provider = f.provider;
    out.model = f.model;
    setStr("system", f.system);
    setStr("prompt", f.prompt);
    setStr("apiKeySecret", f.apiKeySecret);
    setNum("temperature", f.temperature);
    setNum("maxTokens", f.maxTokens);
    setNum("timeoutSeconds", f.timeoutSeconds);
  }
  return Object.keys(errors).length ? { errors } : { config: out, errors };
}

export default function AgentEditPage() {
  const id = useQueryParam("id");
  const router = useRouter();
  const [form, setForm] = useState<Form>(empty);
  const [agent, setAgent] = useState<Agent | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!id) {
      setAgent(null);
      setForm(empty);
      return;
    }
    api<Agent>(`/api/v1/agents/${encodeURIComponent(id)}`)
      .then((a) => {
        setAgent(a);
        setForm(fromAgent(a));
      })
      .catch((e) => setLoadError(errorMessage(e)));
  }, [id]);

  const set = <K extends keyof Form>(k: K) => (e: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>) =>
    setForm((f) => ({ ...f, [k]: e.target.value }));

  async function save(e: React.FormEvent) {
    e.preventDefault();
    setErrors({});
    setFormError(null);
    setSaved(null);
    const base = agent && agent.type === form.type ? ((agent.config ?? {}) as Record<string, unknown>) : {};
    const { config, errors: local } = buildConfig(form, base);
    if (!config) {
      setErrors(local);
      return;
    }
    setBusy(true);
    try {
      const body = { name: form.name, description: form.description, type: form.type, status: form.status, config };
      const a = agent
        ? await api<Agent>(`/api/v1/agents/${agent.id}`, { method: "PATCH", body })
        : await api<Agent>("/api/v1/agents", { method: "POST", body });
      setAgent(a);
      setForm(fromAgent(a));
      setSaved(agent ? "Agent saved." : "Agent created. Try it below, or use it in a workflow.");
      if (!agent) router.replace(`/agents/edit?id=${a.id}`);
    } catch (err) {
      const fe = fieldErrors(err);
      setErrors(fe);
      setFormError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  if (id === undefined) return <Spinner />;
  if (loadError) return <FormError message={loadError} />;
  if (id && !agent) return <Spinner label="Loading agent" />;

  const configError = errors.config;
  return (
    <>
      <PageHeader
        title={agent ? `Agent: ${agent.name}` : "New agent"}
        description={
          <Link href="/agents" className="text-primary underline">
            Back to agents
          </Link>
        }
        actions={
          agent ? (
            <DeleteButton
              noun="agent"
              name={agent.name}
              path={`/api/v1/agents/${agent.id}`}
              back="/agents"
              description="Workflows whose steps use this agent will fail validation until you change them."
              onError={setFormError}
            />
          ) : null
        }
      />
      <div className="grid gap-6 xl:grid-cols-[minmax(0,3fr)_minmax(0,2fr)]">
        <Card>
          <form onSubmit={save} className="flex flex-col gap-4" noValidate aria-label="Agent">
            <FormError message={formError} />
            {saved ? (
              <p role="status" className="rounded-md bg-green-50 px-3 py-2 text-sm text-success">
                {saved}
              </p>
            ) : null}
            <div className="grid gap-4 sm:grid-cols-2">
              <Field label="Name" error={errors.name}>
                <Input name="name" value={form.name} onChange={set("name")} required maxLength={100} />
              </Field>
              <Field label="Type" error={errors.type} hint={agent ? "The type is fixed once created." : undefined}>
                <Select name="type" value={form.type} onChange={set("type")} disabled={Boolean(agent)}>
                  <option value="code">Code (JavaScript)</option>
                  <option value="api">API (HTTP request)</option>
                  <option value="llm">LLM (model call)</option>
                </Select>
              </Field>
            </div>
            <Field label="Description" error={errors.description}>
              <Input name="description" value={form.description} onChange={set("description")} maxLength={2000} />
            </Field>
            <Field label="Status" error={errors.status}>
              <Select name="status" value={form.status} onChange={set("status")}>
                <option value="active">Active</option>
                <option value="disabled">Disabled (cannot run)</option>
              </Select>
            </Field>
            <fieldset className="flex flex-col gap-4 rounded-md border border-border p-3">
              <legend className="px-1 text-sm font-semibold">Configuration</legend>
              {configError ? (
                <p role="alert" className="text-sm font-medium text-destructive">
                  {configError}
                </p>
              ) : null}
              {form.type === "code" ? (
                <>
                  <Field
                    label="Source"
                    error={errors["config.source"]}
                    hint="JavaScript defining main(input, ctx); its return value is the step's output."
                  >
                    <CodeEditor
                      label="Source"
                      language="javascript"
                      value={form.source}
                      onChange={(v) => setForm((f) => ({ ...f, source: v }))}
                      errorLine={sourceErrorLine(errors["config.source"])}
                      errorMessage={errors["config.source"]}
                      minLines={12}
                    />
                  </Field>
                  <Field label="Timeout (seconds)" error={errors["config.timeoutSeconds"]} hint="Default 10, at most 900.">
                    <Input name="timeoutSeconds" inputMode="decimal" value={form.timeoutSeconds} onChange={set("timeoutSeconds")} />
                  </Field>
                </>
              ) : null}
              {form.type === "api" ? (
                <>
                  <div className="grid gap-4 sm:grid-cols-[8rem_1fr]">
                    <Field label="Method" error={errors["config.method"]}>
                      <Select name="method" value={form.method} onChange={set("method")}>
                        {["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"].map((m) => (
                          <option key={m}>{m}</option>
                        ))}
                      </Select>
                    </Field>
                    <Field label="URL" error={errors["config.url"]} hint="May use {{input.x}} and {{secrets.NAME}}.">
                      <Input name="url" value={form.url} onChange={set("url")} placeholder="https://api.example.com/{{input.path}}" />
                    </Field>
                  </div>
                  <Field label="Headers (JSON object)" error={errors["config.headers"]}>
                    <Textarea name="headers" value={form.headers} onChange={set("headers")} className="font-mono text-xs" placeholder='{"Authorization": "Bearer {{secrets.TOKEN}}"}' />
                  </Field>
                  <Field label="Query parameters (JSON object)" error={errors["config.query"]}>
                    <Textarea name="query" value={form.query} onChange={set("query")} className="font-mono text-xs" />
                  </Field>
                  <Field label="Body (JSON)" error={errors["config.body"]}>
                    <Textarea name="body" value={form.body} onChange={set("body")} className="font-mono text-xs" />
                  </Field>
                  <Field label="Timeout (seconds)" error={errors["config.timeoutSeconds"]}>
                    <Input name="timeoutSeconds" inputMode="decimal" value={form.timeoutSeconds} onChange={set("timeoutSeconds")} />
                  </Field>
                </>
              ) : null}
              {form.type === "llm" ? (
                <>
                  <div className="grid gap-4 sm:grid-cols-2">
                    <Field label="Provider" error={errors["config.provider"]}>
                      <Select name="provider" value={form.provider} onChange={set("provider")}>
                        <option value="openai">OpenAI</option>
                        <option value="anthropic">Anthropic</option>
                        <option value="bedrock">Amazon Bedrock</option>
                      </Select>
                    </Field>
                    <Field label="Model" error={errors["config.model"]}>
                      <Input name="model" value={form.model} onChange={set("model")} placeholder="gpt-4o-mini" />
                    </Field>
                  </div>
                  <Field label="System prompt" error={errors["config.system"]}>
                    <Textarea name="system" value={form.system} onChange={set("system")} />
                  </Field>
                  <Field label="Prompt" error={errors["config.prompt"]} hint="May use {{input.x}}.">
                    <Textarea name="prompt" value={form.prompt} onChange={set("prompt")} rows={5} />
                  </Field>
                  <div className="grid gap-4 sm:grid-cols-3">
                    <Field label="API key secret name" error={errors["config.apiKeySecret"]}>
                      <Input name="apiKeySecret" value={form.apiKeySecret} onChange={set("apiKeySecret")} placeholder="OPENAI_API_KEY" />
                    </Field>
                    <Field label="Temperature" error={errors["config.temperature"]}>
                      <Input name="temperature" inputMode="decimal" value={form.temperature} onChange={set("temperature")} />
                    </Field>
                    <Field label="Max tokens" error={errors["config.maxTokens"]}>
                      <Input name="maxTokens" inputMode="numeric" value={form.maxTokens} onChange={set("maxTokens")} />
                    </Field>
                  </div>
                </>
              ) : null}
            </fieldset>
            <div>
              <Button type="submit" disabled={busy}>
                {busy ? "Saving…" : agent ? "Save agent" : "Create agent"}
              </Button>
            </div>
          </form>
        </Card>
        {agent ? <TestRun agent={agent} /> : (
          <Card>
            <CardTitle>Test run</CardTitle>
            <p className="text-sm text-muted-foreground">Create the agent first, then run it here with a sample input.</p>
          </Card>
        )}
      </div>
    </>
  );
}

function TestRun({ agent }: { agent: Agent }) {
  const [input, setInput] = useState('{\n  "name": "Turbocat"\n}');
  const [result, setResult] = useState<AgentTestResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function run(e: React.FormEvent) {
    e.preventDefault();
    setError(null);
    setResult(null);
    const parsed = parseJSON(input, "Sample input");
    if (!parsed.ok) {
      setError(parsed.error);
      return;
    }
    setBusy(true);
    try {
      setResult(
        await api<AgentTestResult>(`/api/v1/agents/${agent.id}/test`, {
          method: "POST",
          body: { input: parsed.value ?? {} },
        }),
      );
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card>
      <CardTitle>Test run</CardTitle>
      <form onSubmit={run} className="flex flex-col gap-3" aria-label="Test run">
        <Field label="Sample input (JSON)" error={error ?? undefined}>
          <CodeEditor label="Sample input (JSON)" language="json" value={input} onChange={setInput} minLines={4} />
        </Field>
        <div>
          <Button type="submit" variant="outline" disabled={busy}>
            {busy ? "Running…" : "Run test"}
          </Button>
        </div>
      </form>
      {busy ? <div className="mt-3"><Spinner label="Running the agent" /></div> : null}
      {result ? (
        <div className="mt-4 flex flex-col gap-3 text-sm" data-testid="test-result">
          <p className={result.ok ? "font-medium text-success" : "font-medium text-destructive"}>
            {result.ok ? "Succeeded" : "Failed"} in {formatDuration(result.durationMs)}
            {result.usage?.inputTokens ? ` · ${result.usage.inputTokens} in / ${result.usage.outputTokens ?? 0} out tokens` : ""}
          </p>
          {result.ok ? (
            <pre tabIndex={0} className="overflow-x-auto rounded-md bg-muted p-3 text-xs">{pretty(result.output)}</pre>
          ) : (
            <pre tabIndex={0} className="overflow-x-auto rounded-md bg-red-50 p-3 text-xs text-destructive">
              {result.error?.error}: {result.error?.cause}
            </pre>
          )}
          {result.logs.length ? (
            <div>
              <h3 className="mb-1 font-medium">Logs</h3>
              <ol className="rounded-md bg-slate-900 p-3 font-mono text-xs text-slate-100">
                {result.logs.map((l, i) => (
                  <li key={i}>
                    <span className="text-slate-400">{l.level}</span> {l.message}
                  </li>
                ))}
              </ol>
            </div>
          ) : null}
        </div>
      ) : null}
    </Card>
  );
}
