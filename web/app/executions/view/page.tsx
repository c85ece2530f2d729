"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useCallback, useEffect, useRef, useState } from "react";
import { WorkflowCanvas } from "@/components/canvas/workflow-canvas";
import { Button } from "@/components/ui/button";
import { Card, CardTitle, PageHeader, Spinner, StatusBadge } from "@/components/ui/card";
import { Field, FormError, Textarea } from "@/components/ui/form";
import { api, errorMessage } from "@/lib/api";
import { useQueryParam } from "@/lib/hooks";
import { followLogs, isFinished } from "@/lib/logstream";
import type { Definition, ExecutionDetail, ExecutionLog, ExecutionStatus, ExecutionStep, LiveText, Page, RunResult, StepTurn, Workflow, WorkflowStep } from "@/lib/types";
import { errorText, topoOrder } from "@/lib/steps";
import { formatDuration, formatTime, pretty, shortId } from "@/lib/utils";

const levelColour: Record<string, string> = {
  debug: "text-slate-400",
  info: "text-sky-300",
  warn: "text-amber-300",
  error: "text-red-300",
};

export default function ExecutionPage() {
  const id = useQueryParam("id");
  const router = useRouter();
  const [exec, setExec] = useState<ExecutionDetail | null>(null);
  const [workflow, setWorkflow] = useState<Workflow | null>(null);
  const [logs, setLogs] = useState<ExecutionLog[]>([]);
  const [mode, setMode] = useState<"stream" | "poll" | null>(null);
  const [following, setFollowing] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [selected, setSelected] = useState<string | null>(null);
  // The text each llm step's model is generating now (its current turn).
  const [live, setLive] = useState<Record<string, { turn: number; text: string }>>({});
  const logEnd = useRef<HTMLLIElement | null>(null);

  const refresh = useCallback(async () => {
    if (!id) return;
    try {
      setExec(await api<ExecutionDetail>(`/api/v1/executions/${encodeURIComponent(id)}`));
    } catch (e) {
      setError(errorMessage(e));
    }
  }, [id]);

  useEffect(() => {
    if (!id) return;
    setExec(null);
    setLogs([]);
    setLive({});
    refresh();
  }, [id, refresh]);

  // The version that ran: its graph, step types and conditions.
  const workflowId = exec?.workflowId;
  const workflowVersion = exec?.workflowVersion;
  useEffect(() => {
    if (!workflowId || !workflowVersion) return;
    api<Workflow>(`/api/v1/workflows/${workflowId}?version=${workflowVersion}`)
      .then(setWorkflow)
      .catch(() => setWorkflow(null));
  }, [workflowId, workflowVersion]);

  // Follow the log while the page is open; the stream ends by itself when the run does.
  useEffect(() => {
    if (!id) return;
    const ctl = new AbortController();
    setFollowing(true);
    followLogs(
      id,
      {
        onLog: (l) => setLogs((ls) => [...ls, l]),
        onText: (t: LiveText) =>
          setLive((m) => {
            const cur = m[t.stepKey];
            const add = cur && cur.turn === t.turn && !t.snapshot;
            return { ...m, [t.stepKey]: { turn: t.turn, text: add ? cur.text + t.text : t.text } };
          }),
        onStatus: (s: ExecutionStatus) => {
          setExec((e) => (e && e.status !== s ? { ...e, status: s } : e));
          refresh();
        },
        onEnd: () => {
          setFollowing(false);
          refresh();
        },
        onMode: setMode,
      },
      ctl.signal,
    ).finally(() => setFollowing(false));
    return () => ctl.abort();
  }, [id, refresh]);

  // Step states change without execution status events: poll the detail while running.
  // A waiting run may wait days: poll it less often (a decision made here
  // refreshes at once, and the log stream reports status changes).
  const running = exec ? !isFinished(exec.status) : false;
  const waiting = exec?.status === "waiting";
  useEffect(() => {
    if (!running) return;
    const t = setInterval(refresh, waiting ? 3000 : 1000);
    return () => clearInterval(t);
  }, [running, waiting, refresh]);

  useEffect(() => {
    logEnd.current?.scrollIntoView({ block: "nearest" });
  }, [logs.length]);

  async function cancel() {
    if (!exec) return;
    setBusy(true);
    setActionError(null);
    try {
      await api(`/api/v1/executions/${exec.id}/cancel`, { method: "POST" });
      await refresh();
    } catch (e) {
      setActionError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }

  async function retry() {
    if (!exec) return;
    setBusy(true);
    setActionError(null);
    try {
      const r = await api<RunResult>(`/api/v1/executions/${exec.id}/retry`, { method: "POST" });
      router.push(`/executions/view?id=${r.executionId}`);
    } catch (e) {
      setActionError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }

  if (id === undefined) return <Spinner />;
  if (!id) return <FormError message="No execution id in the address. Open a run from the executions list." />;
  if (error && !exec) return <FormError message={error} />;
  if (!exec) return <Spinner label="Loading execution" />;

  const byKey = new Map(exec.steps.map((s) => [s.stepKey, s]));
  // The version that ran (fetched by version), so its graph and step types.
  const graph = workflow && workflow.version === exec.workflowVersion ? workflow.steps : null;
  const order = graph ? topoOrder(graph.map((s) => ({ key: s.key, dependsOn: s.dependsOn ?? [] }))) : exec.steps.map((s) => s.stepKey);
  for (const s of exec.steps) if (!order.includes(s.stepKey)) order.push(s.stepKey);
  const defs = new Map((graph ?? []).map((s) => [s.key, s]));
  const canvasSteps = order.map((k) => {
    const st = byKey.get(k);
    const def = defs.get(k);
    const its = st?.iterations;
    return {
      id: k,
      key: k,
      kind: def?.type ?? "agent",
      dependsOn: def?.dependsOn ?? [],
      subtitle: stepSubtitle(st),
      status: st?.status ?? "pending",
      durationMs: st?.durationMs ?? (st?.startedAt && st.status === "running" ? Date.now() - new Date(st.startedAt).getTime() : null),
      attempt: st?.attempt,
      when: def?.when || undefined,
      forEach: def?.forEach || (its?.length ? "items" : undefined),
      onError: def?.onError,
      iterations: its ? { total: its.length, done: its.filter((i) => i.status === "completed" || i.status === "failed" || i.status === "skipped").length } : undefined,
      childExecutionId: st?.childExecutionId,
    };
  });
  const tokens = exec.steps.reduce((n, s) => n + s.inputTokens + s.outputTokens, 0);

  return (
    <>
      <PageHeader
        title={`Execution ${shortId(exec.id)}`}
        description={
          <>
            <Link href="/executions" className="text-primary underline">
              All executions
            </Link>
            {" · "}
            {workflow ? (
              <Link href={`/workflows/edit?id=${workflow.id}`} className="text-primary underline">
                {workflow.name}
              </Link>
            ) : (
              "workflow"
            )}{" "}
            v{exec.workflowVersion} · {exec.trigger}
            {exec.retryOf ? (
              <>
                {" · retry of "}
                <Link href={`/executions/view?id=${exec.retryOf}`} className="text-primary underline">
                  {shortId(exec.retryOf)}
                </Link>
              </>
            ) : null}
            {exec.replayOf ? (
              <>
                {" · replay of "}
                <Link href={`/executions/view?id=${exec.replayOf}`} className="text-primary underline">
                  {shortId(exec.replayOf)}
                </Link>
              </>
            ) : null}
            {exec.parentExecutionId ? (
              <>
                {" · child run of "}
                <Link href={`/executions/view?id=${exec.parentExecutionId}`} className="text-primary underline" data-testid="parent-link">
                  {shortId(exec.parentExecutionId)}
                </Link>
                {exec.parentStepKey ? <> (step {exec.parentStepKey})</> : null}
              </>
            ) : null}
          </>
        }
        actions={
          <>
            {!isFinished(exec.status) ? (
              <Button variant="destructive" onClick={cancel} disabled={busy}>
                Cancel run
              </Button>
            ) : null}
            {["failed", "cancelled", "timed_out"].includes(exec.status) ? (
              <Button onClick={retry} disabled={busy}>
                Retry failed steps
              </Button>
            ) : null}
          </>
        }
      />
      <FormError message={actionError} />
      <div className="mb-6 grid grid-cols-2 gap-3 sm:grid-cols-4">
        <Card>
          <p className="text-xs text-muted-foreground">Status</p>
          <p className="mt-1" data-testid="execution-status" data-status={exec.status}>
            <StatusBadge status={exec.status} />
          </p>
        </Card>
        <Card>
          <p className="text-xs text-muted-foreground">Duration</p>
          <p className="mt-1 font-medium">
            {exec.durationMs === null && exec.startedAt && !isFinished(exec.status)
              ? `${formatDuration(Date.now() - new Date(exec.startedAt).getTime())} so far`
              : formatDuration(exec.durationMs)}
          </p>
        </Card>
        <Card>
          <p className="text-xs text-muted-foreground">Started</p>
          <p className="mt-1 text-sm font-medium">{formatTime(exec.startedAt)}</p>
        </Card>
        <Card>
          <p className="text-xs text-muted-foreground">Tokens</p>
          <p className="mt-1 font-medium">{tokens}</p>
        </Card>
      </div>
      {exec.error ? (
        <Card className="mb-6 border-red-200" data-testid="execution-error">
          <CardTitle>Error</CardTitle>
          <p className="text-sm whitespace-pre-wrap break-words text-destructive">{errorText(exec.error)}</p>
        </Card>
      ) : null}
      {exec.steps
        .filter((st) => st.status === "waiting")
        .map((st) =>
          defs.get(st.stepKey)?.type === "approval" || (!graph && !st.wakeAt) ? (
            <ApprovalCard key={st.stepKey} executionId={exec.id} step={st} onDecided={refresh} />
          ) : (
            <Card key={st.stepKey} className="mb-6 border-violet-200" data-testid={`wait-${st.stepKey}`}>
              <p className="text-sm">
                Step <span className="font-mono">{st.stepKey}</span> waits{st.wakeAt ? ` until ${formatTime(st.wakeAt)}` : ""}.
              </p>
            </Card>
          ),
        )}
      <Card className="mb-6">
        <CardTitle>Graph</CardTitle>
        <WorkflowCanvas
          label="Execution graph coloured by step status"
          steps={canvasSteps}
          selected={selected}
          onSelect={(k) => {
            setSelected(k);
            if (k) document.getElementById(`step-${k}`)?.scrollIntoView({ behavior: "smooth", block: "start" });
          }}
        />
        {!graph ? (
          <p className="mt-2 text-xs text-muted-foreground">The workflow is gone: steps are shown without their dependencies.</p>
        ) : null}
        {graph && workflow ? <DefinitionView workflowId={workflow.id} version={exec.workflowVersion} /> : null}
      </Card>
      <Card className="mb-6">
        <CardTitle>Timeline</CardTitle>
        <Timeline steps={order.map((k) => byKey.get(k)).filter((s): s is ExecutionStep => Boolean(s))} finished={isFinished(exec.status)} />
      </Card>
      <div className="grid gap-6 xl:grid-cols-2">
        <div className="flex min-w-0 flex-col gap-6">
          <Card>
            <CardTitle>Input and output</CardTitle>
            <h3 className="text-sm font-medium">Input</h3>
            <pre tabIndex={0} className="mb-3 max-h-60 overflow-auto rounded-md bg-muted p-3 text-xs">{pretty(exec.inputData) || "—"}</pre>
            <h3 className="text-sm font-medium">Output</h3>
            <pre tabIndex={0} className="max-h-60 overflow-auto rounded-md bg-muted p-3 text-xs" data-testid="execution-output">
              {exec.outputData === null || exec.outputData === undefined ? (isFinished(exec.status) ? "—" : "Not finished yet.") : pretty(exec.outputData)}
            </pre>
          </Card>
          <Card>
            <div className="mb-3 flex items-center justify-between">
              <h2 className="text-base font-semibold">Logs</h2>
              <span className="text-xs text-muted-foreground">
                {following ? (mode === "poll" ? "Following (polling)" : "Following live") : `${logs.length} lines`}
              </span>
            </div>
            <ol
              className="max-h-96 overflow-auto rounded-md bg-slate-900 p-3 font-mono text-xs text-slate-100"
              aria-live="polite"
              aria-label="Execution log"
              data-testid="logs"
              tabIndex={0}
            >
              {logs.length === 0 ? <li className="text-slate-400">{following ? "Waiting for log lines…" : "No log lines."}</li> : null}
              {logs.map((l) => (
                <li key={l.sequence} className="whitespace-pre-wrap break-words">
                  <span className="text-slate-400">{new Date(l.createdAt).toLocaleTimeString()}</span>{" "}
                  <span className={levelColour[l.level] ?? ""}>{l.level.padEnd(5)}</span>{" "}
                  {l.stepKey ? <span className="text-violet-300">[{l.stepKey}]</span> : null} {l.message}
                </li>
              ))}
              <li ref={logEnd} aria-hidden />
            </ol>
          </Card>
        </div>
        <div className="flex min-w-0 flex-col gap-3">
          <h2 className="text-lg font-semibold">Steps</h2>
          {order.map((k) => (
            <StepCard key={k} executionId={exec.id} stepKey={k} step={byKey.get(k)} def={defs.get(k)} highlighted={selected === k} live={live[k]} />
          ))}
        </div>
      </div>
    </>
  );
}

/** stepSubtitle is a node's second line in a run: its error, wake-up time or start. */
function stepSubtitle(st?: ExecutionStep): string {
  if (!st) return "not started";
  if (st.status === "skipped") return "skipped: did not run";
  if (st.error) return errorText(st.error);
  if (st.status === "waiting") return st.wakeAt ? `waits until ${new Date(st.wakeAt).toLocaleTimeString()}` : "waits for a decision";
  return st.startedAt ? `started ${new Date(st.startedAt).toLocaleTimeString()}` : "not started";
}

/** skipReason says why a step was skipped (its record's {error: "Step.Skipped", cause}). */
function skipReason(e: unknown): string {
  const cause = (e as { cause?: unknown })?.cause;
  return `Skipped: ${typeof cause === "string" && cause ? cause : errorText(e)}`;
}

/**
 * ApprovalCard is a waiting approval: Approve and Reject, with an optional
 * comment, call the API as the signed-in owner (audited there).
 */
function ApprovalCard({ executionId, step, onDecided }: { executionId: string; step: ExecutionStep; onDecided: () => Promise<void> }) {
  const [comment, setComment] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function decide(verb: "approve" | "reject") {
    setBusy(true);
    setError(null);
    try {
      const body = comment.trim() ? { comment: comment.trim() } : {};
      await api(`/api/v1/executions/${executionId}/steps/${encodeURIComponent(step.stepKey)}/${verb}`, { method: "POST", body });
      await onDecided();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }
  return (
    <Card className="mb-6 border-violet-300 bg-violet-50" data-testid={`approval-${step.stepKey}`} role="region" aria-label={`Approval ${step.stepKey}`}>
      <CardTitle>Approval needed: {step.stepKey}</CardTitle>
      <p className="mb-3 text-sm">
        The run waits for your decision{step.wakeAt ? `; without one by ${formatTime(step.wakeAt)} the step fails (Approval.TimedOut)` : ""}. Rejecting fails the
        step (<code>Approval.Rejected</code>).
      </p>
      <FormError message={error} />
      <Field label="Comment (optional)">
        <Textarea name="comment" value={comment} onChange={(e) => setComment(e.target.value)} maxLength={2000} rows={2} />
      </Field>
      <div className="mt-3 flex gap-2">
        <Button onClick={() => decide("approve")} disabled={busy}>
          Approve
        </Button>
        <Button variant="destructive" onClick={() => decide("reject")} disabled={busy}>
          Reject
        </Button>
      </div>
    </Card>
  );
}

/** DefinitionView shows the compiled state machine (Amazon States Language) of the version that ran, on demand. */
function DefinitionView({ workflowId, version }: { workflowId: string; version: number }) {
  const [def, setDef] = useState<Definition | null>(null);
  const [error, setError] = useState<string | null>(null);
  return (
    <details
      className="mt-3"
      onToggle={(e) => {
        if ((e.currentTarget as HTMLDetailsElement).open && !def) {
          api<Definition>(`/api/v1/workflows/${workflowId}/definition?version=${version}`)
            .then(setDef)
            .catch((err) => setError(errorMessage(err)));
        }
      }}
    >
      <summary className="cursor-pointer text-sm font-medium">Compiled definition (the state machine that runs)</summary>
      <FormError message={error} />
      {def ? (
        <>
          <p className="mt-2 text-xs text-muted-foreground">
            {def.stateMachineName}: {stateCounts(def.definition)}
          </p>
          <pre tabIndex={0} className="mt-2 max-h-96 overflow-auto rounded-md bg-muted p-3 text-xs" data-testid="definition">
            {pretty(def.definition)}
          </pre>
        </>
      ) : !error ? (
        <p className="mt-2 text-xs text-muted-foreground">Loading…</p>
      ) : null}
    </details>
  );
}

/** stateCounts counts the states of an ASL definition by type, nested ones (Parallel branches, Map) included. */
function stateCounts(def: unknown): string {
  const counts: Record<string, number> = {};
  const walk = (m: unknown) => {
    const states = (m as { States?: Record<string, Record<string, unknown>> })?.States;
    if (!states) return;
    for (const st of Object.values(states)) {
      const t = String(st.Type ?? "?");
      counts[t] = (counts[t] ?? 0) + 1;
      for (const b of (st.Branches as unknown[]) ?? []) walk(b);
      walk(st.ItemProcessor ?? st.Iterator);
    }
  };
  walk(def);
  return Object.entries(counts)
    .sort()
    .map(([t, n]) => `${n} ${t}`)
    .join(", ");
}

function StepCard({
  executionId,
  stepKey,
  step,
  def,
  highlighted,
  live,
}: {
  executionId: string;
  stepKey: string;
  step?: ExecutionStep;
  def?: WorkflowStep;
  highlighted: boolean;
  live?: { turn: number; text: string };
}) {
  const llm = Boolean(live) || (step ? step.inputTokens + step.outputTokens > 0 || hasFinishReason(step.output) : false);
  return (
    <Card id={`step-${stepKey}`} className={highlighted ? "ring-2 ring-primary" : undefined} data-testid={`step-card-${stepKey}`}>
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h3 className="font-medium">
          {stepKey}
          {def?.type && def.type !== "agent" ? <span className="ml-2 text-xs font-normal text-muted-foreground">{def.type}</span> : null}
        </h3>
        <StatusBadge status={step?.status ?? "pending"} />
      </div>
      {def?.when ? (
        <p className="mt-1 text-xs text-muted-foreground">
          when <code>{def.when}</code>
        </p>
      ) : null}
      {step?.childExecutionId ? (
        <p className="mt-1 text-xs">
          Child run:{" "}
          <Link className="text-primary underline" href={`/executions/view?id=${step.childExecutionId}`}>
            {shortId(step.childExecutionId)}
          </Link>
        </p>
      ) : null}
      {step?.iterations?.length ? <Iterations items={step.iterations} stepKey={stepKey} /> : null}
      {def?.type === "approval" && step ? <Decision output={step.output} /> : null}
      {step ? (
        <>
          <dl className="mt-2 grid grid-cols-2 gap-x-4 gap-y-1 text-xs sm:grid-cols-4">
            <div>
              <dt className="text-muted-foreground">Duration</dt>
              <dd>
                {step.durationMs === null && step.startedAt && step.status === "running"
                  ? `${formatDuration(Date.now() - new Date(step.startedAt).getTime())} so far`
                  : formatDuration(step.durationMs)}
              </dd>
            </div>
            <div>
              <dt className="text-muted-foreground">Attempts</dt>
              <dd>{step.attempt}</dd>
            </div>
            <div>
              <dt className="text-muted-foreground">Tokens in / out</dt>
              <dd>
                {step.inputTokens} / {step.outputTokens}
              </dd>
            </div>
            <div>
              <dt className="text-muted-foreground">Cost</dt>
              <dd>${step.costUsd.toFixed(4)}</dd>
            </div>
          </dl>
          {step.error && step.status === "skipped" ? (
            // Why it was skipped: not an error.
            <p className="mt-2 rounded-md bg-slate-100 p-2 text-xs whitespace-pre-wrap break-words text-slate-800" data-testid={`step-skipped-${stepKey}`}>
              {skipReason(step.error)}
            </p>
          ) : step.error ? (
            <p className="mt-2 rounded-md bg-red-50 p-2 text-xs whitespace-pre-wrap break-words text-destructive" data-testid={`step-error-${stepKey}`}>
              {errorText(step.error)}
            </p>
          ) : null}
          {live && step.status === "running" ? (
            <div className="mt-2">
              <h4 className="text-xs font-medium text-muted-foreground">The model is writing (turn {live.turn + 1})</h4>
              <p
                className="max-h-48 overflow-auto rounded-md bg-violet-50 p-2 text-xs whitespace-pre-wrap break-words text-slate-900"
                aria-live="polite"
                data-testid={`step-live-${stepKey}`}
              >
                {live.text}
              </p>
            </div>
          ) : null}
          {step.output !== null && step.output !== undefined ? (
            <div className="mt-2">
              <h4 className="text-xs font-medium text-muted-foreground">Output</h4>
              <pre tabIndex={0} className="max-h-48 overflow-auto rounded-md bg-muted p-2 text-xs" data-testid={`step-output-${stepKey}`}>
                {pretty(step.output)}
              </pre>
            </div>
          ) : null}
          {llm ? <Conversation executionId={executionId} stepKey={stepKey} version={`${step.status}/${step.attempt}/${live?.turn ?? -1}`} /> : null}
          <details className="mt-2">
            <summary className="cursor-pointer text-xs font-medium text-muted-foreground">Input</summary>
            <pre tabIndex={0} className="max-h-48 overflow-auto rounded-md bg-muted p-2 text-xs">{pretty(step.input) || "—"}</pre>
          </details>
        </>
      ) : (
        <p className="mt-1 text-xs text-muted-foreground">Not started.</p>
      )}
    </Card>
  );
}

/** hasFinishReason tells an llm step's output ({text, finishReason, ...}). */
function hasFinishReason(output: unknown): boolean {
  return typeof output === "object" && output !== null && "finishReason" in output;
}

type ToolCallOut = { id?: string; name?: string; arguments?: string };

/**
 * Conversation shows an llm step's recorded turns, loaded when opened and
 * again when the step moves on (version): each model turn (the tools it
 * asked for, or its answer) and each tool call with its result or error.
 */
function Conversation({ executionId, stepKey, version }: { executionId: string; stepKey: string; version: string }) {
  const [open, setOpen] = useState(false);
  const [turns, setTurns] = useState<StepTurn[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!open) return;
    let cancelled = false;
    api<Page<StepTurn>>(`/api/v1/executions/${executionId}/steps/${encodeURIComponent(stepKey)}/turns`)
      .then((p) => {
        if (!cancelled) setTurns(p.items);
      })
      .catch((e) => {
        if (!cancelled) setError(errorMessage(e));
      });
    return () => {
      cancelled = true;
    };
  }, [open, executionId, stepKey, version]);
  return (
    <details className="mt-2" onToggle={(e) => setOpen((e.target as HTMLDetailsElement).open)} data-testid={`step-conversation-${stepKey}`}>
      <summary className="cursor-pointer text-xs font-medium text-muted-foreground">Conversation</summary>
      <FormError message={error} />
      {turns === null && !error ? <p className="mt-1 text-xs text-muted-foreground">Loading…</p> : null}
      {turns && turns.length === 0 ? <p className="mt-1 text-xs text-muted-foreground">No turn recorded yet.</p> : null}
      {turns && turns.length > 0 ? (
        <ol className="mt-2 flex flex-col gap-2" aria-label={`Conversation of step ${stepKey}`}>
          {turns.map((t) => (
            <li
              key={`${t.attempt}/${t.turn}/${t.seq}`}
              className={`rounded-md border p-2 text-xs ${t.kind === "model" ? "border-violet-200 bg-violet-50" : "border-slate-200 bg-white"}`}
              data-testid={`turn-${t.turn}-${t.seq}`}
            >
              <p className="mb-1 text-muted-foreground">
                Turn {t.turn + 1} · {t.kind === "model" ? `model${t.model ? ` ${t.model}` : ""}` : `tool ${t.toolName ?? ""}`}
                {t.attempt > 1 ? ` · attempt ${t.attempt}` : ""} · {formatDuration(t.durationMs)}
                {t.kind === "model" ? ` · ${t.inputTokens} in / ${t.outputTokens} out · $${t.costUsd.toFixed(4)}` : ""}
              </p>
              <TurnBody turn={t} />
            </li>
          ))}
        </ol>
      ) : null}
    </details>
  );
}

function TurnBody({ turn }: { turn: StepTurn }) {
  if (turn.error) {
    return <p className="whitespace-pre-wrap break-words text-destructive">{errorText(turn.error)}</p>;
  }
  if (turn.kind === "tool") {
    return (
      <p className="whitespace-pre-wrap break-words font-mono">
        {JSON.stringify(turn.input)} → {JSON.stringify(turn.output)}
      </p>
    );
  }
  const out = (turn.output ?? {}) as { text?: string; toolCalls?: ToolCallOut[] };
  if (out.toolCalls?.length) {
    return (
      <ul className="font-mono">
        {out.toolCalls.map((c, i) => (
          <li key={c.id ?? i} className="break-words">
            asks {c.name}({c.arguments ?? ""})
          </li>
        ))}
      </ul>
    );
  }
  return <p className="whitespace-pre-wrap break-words">{out.text || "—"}</p>;
}

/** Decision sums up an approval's output ({approved, comment, by, at}) in a line. */
function Decision({ output }: { output: unknown }) {
  const d = output as { approved?: boolean; comment?: string; by?: string; at?: string } | null;
  if (!d || typeof d.approved !== "boolean") return null;
  return (
    <p className="mt-1 text-xs" data-testid="decision">
      <span className={d.approved ? "font-medium text-success" : "font-medium text-destructive"}>{d.approved ? "Approved" : "Rejected"}</span>
      {d.by ? ` by ${d.by}` : ""}
      {d.at ? ` at ${formatTime(d.at)}` : ""}
      {d.comment ? <>: “{d.comment}”</> : null}
    </p>
  );
}

/** Iterations lists a forEach step's per-item records: status, duration, attempts, error. */
function Iterations({ items, stepKey }: { items: ExecutionStep[]; stepKey: string }) {
  return (
    <details className="mt-2" open={items.length <= 5} data-testid={`iterations-${stepKey}`}>
      <summary className="cursor-pointer text-xs font-medium">
        {items.length} iteration{items.length === 1 ? "" : "s"}
      </summary>
      <ol className="mt-1 flex flex-col gap-1 text-xs">
        {items.map((it, i) => (
          <li key={it.index ?? i} className="flex flex-wrap items-center gap-2" data-testid={`iteration-${stepKey}-${it.index ?? i}`}>
            <span className="font-mono">#{it.index ?? i}</span>
            <StatusBadge status={it.status} />
            <span>{formatDuration(it.durationMs)}</span>
            {it.attempt > 1 ? <span>attempt {it.attempt}</span> : null}
            {it.error ? <span className="text-destructive">{errorText(it.error)}</span> : null}
          </li>
        ))}
      </ol>
    </details>
  );
}

/**
 * Timeline draws each step's run as a bar on one time axis, from the first
 * step's start to the last one's end (now, while running): where the time
 * went, and which steps overlapped.
 */
function Timeline({ steps, finished }: { steps: ExecutionStep[]; finished: boolean }) {
  const started = steps.filter((s) => s.startedAt);
  if (started.length === 0) return <p className="text-sm text-muted-foreground">No step has started yet.</p>;
  // A for-each step's iterations (up to 20) get rows of their own under it.
  const rows: { id: string; label: string; s: ExecutionStep; nested: boolean }[] = [];
  for (const s of started) {
    rows.push({ id: s.stepKey, label: s.stepKey, s, nested: false });
    const its = (s.iterations ?? []).filter((i) => i.startedAt);
    if (its.length <= 20) {
      its.forEach((i, n) => rows.push({ id: `${s.stepKey}[${i.index ?? n}]`, label: `[${i.index ?? n}]`, s: i, nested: true }));
    }
  }
  const t = (x: string | null) => (x ? new Date(x).getTime() : NaN);
  const now = Date.now();
  const end = (s: ExecutionStep) => (s.completedAt ? t(s.completedAt) : s.durationMs !== null ? t(s.startedAt) + s.durationMs : finished ? t(s.startedAt) : now);
  const t0 = Math.min(...rows.map((r) => t(r.s.startedAt)));
  const t1 = Math.max(...rows.map((r) => end(r.s)), t0 + 1);
  const span = t1 - t0;
  return (
    <ol className="flex flex-col gap-1.5" aria-label="Step durations on a time line" data-testid="timeline">
      {rows.map(({ id, label, s, nested }) => {
        const left = ((t(s.startedAt) - t0) / span) * 100;
        const width = Math.max(((end(s) - t(s.startedAt)) / span) * 100, 0.8);
        const dur = end(s) - t(s.startedAt);
        return (
          <li key={id} className="grid grid-cols-[7rem_minmax(0,1fr)_5rem] items-center gap-2 text-xs" data-testid={`timeline-${id}`}>
            <span className={`truncate font-mono ${nested ? "pl-4 text-muted-foreground" : ""}`}>{label}</span>
            <span className={`relative rounded bg-slate-100 ${nested ? "h-2.5" : "h-4"}`}>
              <span
                className={`absolute top-0 rounded ${nested ? "h-2.5" : "h-4"} ${s.status === "failed" ? "bg-red-500" : s.status === "running" ? "bg-blue-500" : s.status === "completed" ? "bg-green-600" : s.status === "waiting" ? "bg-violet-500" : "bg-slate-400"}`}
                style={{ left: `${left}%`, width: `${Math.min(width, 100 - left)}%` }}
                title={`${id}: ${s.status}, ${formatDuration(dur)}, starting ${formatDuration(t(s.startedAt) - t0)} in`}
              />
            </span>
            <span className="text-right tabular-nums">{formatDuration(dur)}</span>
          </li>
        );
      })}
      <li className="grid grid-cols-[7rem_minmax(0,1fr)_5rem] gap-2 text-[11px] text-muted-foreground" aria-hidden>
        <span />
        <span className="flex justify-between">
          <span>0</span>
          <span>{formatDuration(span)}</span>
        </span>
        <span />
      </li>
    </ol>
  );
}
