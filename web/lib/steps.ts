// The workflow editor's model of steps, shared by the canvas, its side
// panel and the execution view. Pure (no React), so the unit tests cover it.
//
// Step kinds: every step has a kind, the API's step type: agent (runs an
// agent), wait (a time), approval (a person's decision) and workflow (a
// child run of another workflow); settings common to all are when,
// forEach and onError. A kind is an entry of STEP_KINDS (its label and
// colour here, its panel section in components/canvas/step-panel.tsx): the
// canvas draws every kind with the same node, so a new kind is an entry in
// each table, not a new canvas.

import dagre from "@dagrejs/dagre";
import type { StepType, WorkflowStep } from "./types";

export type StepKind = StepType;

export type StepKindInfo = {
  label: string;
  /** Tailwind classes of the node's kind badge. */
  badge: string;
  /** What a step of the kind does, for the kind picker. */
  help: string;
};

export const STEP_KINDS: Record<StepKind, StepKindInfo> = {
  agent: { label: "Agent", badge: "bg-indigo-100 text-indigo-900", help: "Runs an agent with the step's inputs." },
  wait: { label: "Wait", badge: "bg-sky-100 text-sky-900", help: "Waits a number of seconds, or until a time; the run shows waiting." },
  approval: {
    label: "Approval",
    badge: "bg-amber-100 text-amber-900",
    help: "Waits for a person to approve or reject (here, the CLI or a signed link); its output is {approved, comment, by, at}.",
  },
  workflow: {
    label: "Workflow",
    badge: "bg-fuchsia-100 text-fuchsia-900",
    help: "Runs another of your workflows as a child run with the step's inputs; its output is the child's output.",
  },
};

/**
 * SKIP_SEMANTICS is the API's explanation of skipping (Go:
 * workflowcheck.SkipSemantics, which `turbocat validate` prints); a Go test
 * in web/ keeps the two the same.
 */
export const SKIP_SEMANTICS =
  'A step whose when condition is false is skipped: its agent does not run and its output is null. Steps after it still run and see null (and steps.<key>.status == "skipped"); a step without a when condition whose every dependency was skipped is skipped too. A step with a when condition is decided by its condition alone.';

/** StepForm is a step as the editor holds it: JSON fields as text. */
export type StepForm = {
  /** uid identifies the step in the editor (keys change while typing). */
  uid: number;
  kind: StepKind;
  key: string;
  agentId: string;
  dependsOn: string[];
  inputs: string;
  timeoutSeconds: string;
  maxAttempts: string;
  retry?: WorkflowStep["retry"];
  /** when: a CEL condition ("" for none). */
  when: string;
  /** forEach: a template giving a list ("" for none); maxConcurrency as typed. */
  forEach: string;
  maxConcurrency: string;
  /** wait steps: seconds, or until (a template giving an RFC 3339 time). */
  waitMode: "seconds" | "until";
  seconds: string;
  until: string;
  /** workflow steps: the workflow's name or id. */
  workflow: string;
  onError: "fail" | "continue";
};

/** blankStep is a new step of the editor. */
export function blankStep(key: string, agentId: string, dependsOn: string[]): StepForm {
  return {
    uid: nextUid(),
    kind: "agent",
    key,
    agentId,
    dependsOn,
    inputs: "",
    timeoutSeconds: "",
    maxAttempts: "",
    when: "",
    forEach: "",
    maxConcurrency: "",
    waitMode: "seconds",
    seconds: "",
    until: "",
    workflow: "",
    onError: "fail",
  };
}

let uidSeq = 0;
export const nextUid = () => ++uidSeq;

/** stepFrom turns an API step into the editor's form. */
export function stepFrom(s: WorkflowStep): StepForm {
  return {
    uid: nextUid(),
    kind: s.type ?? "agent",
    key: s.key,
    agentId: s.agentId ?? "",
    dependsOn: s.dependsOn ?? [],
    inputs: s.inputs && Object.keys(s.inputs).length ? JSON.stringify(s.inputs, null, 2) : "",
    timeoutSeconds: s.timeoutSeconds ? String(s.timeoutSeconds) : "",
    maxAttempts: s.retry?.maxAttempts !== undefined ? String(s.retry.maxAttempts) : "",
    retry: s.retry,
    when: s.when ?? "",
    forEach: s.forEach ?? "",
    maxConcurrency: s.maxConcurrency ? String(s.maxConcurrency) : "",
    waitMode: s.until ? "until" : "seconds",
    seconds: s.seconds ? String(s.seconds) : "",
    until: s.until ?? "",
    workflow: s.workflow ?? "",
    onError: s.onError === "continue" ? "continue" : "fail",
  };
}

/**
 * stepBody turns the editor's step into the API's (inputs already parsed):
 * only the settings of its kind, so switching kinds never sends a stale
 * agent or wait. Numbers that are not whole numbers are errors keyed by
 * field ("seconds", "timeoutSeconds", …), as the API keys its own.
 */
export function stepBody(s: StepForm, inputs: unknown): { step: Record<string, unknown>; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const num = (field: string, v: string) => {
    const t = v.trim();
    if (/^\d+$/.test(t)) return Number(t);
    errors[field] = "must be a whole number";
    return undefined;
  };
  const step: Record<string, unknown> = { key: s.key.trim(), dependsOn: s.dependsOn };
  if (s.kind !== "agent") step.type = s.kind;
  if (s.kind === "agent") step.agentId = s.agentId;
  if (inputs !== undefined) step.inputs = inputs;
  // A wait step's time is its seconds or until: it has no timeout field.
  if (s.kind !== "wait" && s.timeoutSeconds.trim()) step.timeoutSeconds = num("timeoutSeconds", s.timeoutSeconds);
  if (s.kind === "agent") {
    if (s.maxAttempts.trim()) step.retry = { ...(s.retry ?? {}), maxAttempts: num("retry.maxAttempts", s.maxAttempts) };
    else if (s.retry) step.retry = s.retry;
  }
  if (s.when.trim()) step.when = s.when.trim();
  // Only agent steps loop (the panel shows forEach for them alone).
  if (s.kind === "agent" && s.forEach.trim()) {
    step.forEach = s.forEach.trim();
    if (s.maxConcurrency.trim()) step.maxConcurrency = num("maxConcurrency", s.maxConcurrency);
  }
  if (s.kind === "wait") {
    if (s.waitMode === "until") step.until = s.until.trim();
    else if (s.seconds.trim()) step.seconds = num("seconds", s.seconds);
  }
  if (s.kind === "workflow") step.workflow = s.workflow.trim();
  if (s.onError === "continue") step.onError = "continue";
  return { step, errors };
}

/** panelFields lists the error fields the side panel shows at a control for the step's kind; it lists the others under them. */
export function panelFields(s: Pick<StepForm, "kind" | "waitMode">): string[] {
  const common = ["key", "type", "when", "onError"];
  switch (s.kind) {
    case "wait":
      return [...common, s.waitMode === "until" ? "until" : "seconds"];
    case "approval":
      return [...common, "timeoutSeconds"];
    case "workflow":
      return [...common, "workflow", "timeoutSeconds"];
    default:
      return [...common, "agentId", "forEach", "maxConcurrency", "timeoutSeconds", "retry.maxAttempts"];
  }
}

/** humanSeconds renders a whole number of seconds as typed ("90") in its largest exact unit: 90 s, 2 min, 1 h, 1 d. */
export function humanSeconds(v: string): string {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n === 0) return `${v} s`;
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["min", 60]] as const) {
    if (n % size === 0) return `${n / size} ${unit}`;
  }
  return `${n} s`;
}

/** stepSummary is a node's second line: what the step runs or waits for. */
export function stepSummary(s: StepForm, agentName: (id: string) => string | undefined): string {
  switch (s.kind) {
    case "wait":
      return s.waitMode === "until" ? `until ${s.until || "…"}` : s.seconds ? humanSeconds(s.seconds) : "no time set";
    case "approval":
      return s.timeoutSeconds ? `decision within ${humanSeconds(s.timeoutSeconds)}` : "a person decides";
    case "workflow":
      return s.workflow ? `runs ${s.workflow}` : "no workflow";
    default:
      return agentName(s.agentId) ?? "no agent";
  }
}

/** newStepKey is the first free "stepN". */
export function newStepKey(steps: { key: string }[]): string {
  const used = new Set(steps.map((s) => s.key));
  let n = steps.length + 1;
  while (used.has(`step${n}`)) n++;
  return `step${n}`;
}

/** connect makes target depend on source (a no-op for a self loop or an existing edge). */
export function connect(steps: StepForm[], sourceUid: number, targetUid: number): StepForm[] {
  const source = steps.find((s) => s.uid === sourceUid);
  if (!source || !source.key || sourceUid === targetUid) return steps;
  return steps.map((s) =>
    s.uid === targetUid && !s.dependsOn.includes(source.key) ? { ...s, dependsOn: [...s.dependsOn, source.key] } : s,
  );
}

/** disconnect removes the dependency of target on source. */
export function disconnect(steps: StepForm[], sourceKey: string, targetUid: number): StepForm[] {
  return steps.map((s) => (s.uid === targetUid ? { ...s, dependsOn: s.dependsOn.filter((d) => d !== sourceKey) } : s));
}

/** rename changes a step's key and the dependencies on it. */
export function rename(steps: StepForm[], uid: number, key: string): StepForm[] {
  const old = steps.find((s) => s.uid === uid)?.key;
  return steps.map((s) => {
    const deps = old ? s.dependsOn.map((d) => (d === old ? key : d)) : s.dependsOn;
    return s.uid === uid ? { ...s, key, dependsOn: deps } : { ...s, dependsOn: deps };
  });
}

/** remove deletes a step and the dependencies on it. */
export function remove(steps: StepForm[], uid: number): StepForm[] {
  const gone = steps.find((s) => s.uid === uid)?.key;
  return steps.filter((s) => s.uid !== uid).map((s) => ({ ...s, dependsOn: s.dependsOn.filter((d) => d !== gone) }));
}

export type Point = { x: number; y: number };

export const NODE_WIDTH = 216;
export const NODE_HEIGHT = 76;

/**
 * layoutSteps places steps left to right by dependency with dagre: each
 * step right of what it depends on, parallel branches one above the other.
 * Positions are top-left corners, keyed by id (the steps' uids, or keys).
 */
export function layoutSteps(steps: { id: string; key: string; dependsOn: string[] }[]): Record<string, Point> {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 28, ranksep: 72, marginx: 24, marginy: 24 });
  g.setDefaultEdgeLabel(() => ({}));
  const byKey = new Map<string, string>();
  for (const s of steps) {
    g.setNode(s.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
    if (s.key && !byKey.has(s.key)) byKey.set(s.key, s.id);
  }
  for (const s of steps) {
    for (const d of s.dependsOn) {
      const from = byKey.get(d);
      if (from && from !== s.id) g.setEdge(from, s.id);
    }
  }
  dagre.layout(g);
  const out: Record<string, Point> = {};
  for (const s of steps) {
    const n = g.node(s.id);
    out[s.id] = { x: n.x - NODE_WIDTH / 2, y: n.y - NODE_HEIGHT / 2 };
  }
  return out;
}

/**
 * topoOrder lists step keys so that every step comes after what it depends
 * on, keeping the given order where the graph allows (a cycle's steps keep
 * their place at the end).
 */
export function topoOrder(steps: { key: string; dependsOn: string[] }[]): string[] {
  const keys = new Set(steps.map((s) => s.key));
  const done = new Set<string>();
  const out: string[] = [];
  let progress = true;
  while (progress) {
    progress = false;
    for (const s of steps) {
      if (done.has(s.key)) continue;
      if (s.dependsOn.every((d) => done.has(d) || !keys.has(d))) {
        done.add(s.key);
        out.push(s.key);
        progress = true;
        break;
      }
    }
  }
  for (const s of steps) if (!done.has(s.key)) out.push(s.key);
  return out;
}

/** stepErrors picks the API's field errors of step i, keyed by the rest of their path ("" for the step). */
export function stepErrors(errors: Record<string, string>, i: number): Record<string, string> {
  const prefix = `steps[${i}]`;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(errors)) {
    if (k === prefix) out[""] = v;
    else if (k.startsWith(prefix + ".")) out[k.slice(prefix.length + 1)] = v;
  }
  return out;
}

/** templateHints lists what a step's inputs may reference: declared inputs, upstream steps' outputs, the execution. */
export function templateHints(steps: { key: string; dependsOn: string[] }[], key: string, inputNames: string[], loop = false): string[] {
  const deps = new Map(steps.map((s) => [s.key, s.dependsOn]));
  const upstream = new Set<string>();
  const visit = (k: string) => {
    for (const d of deps.get(k) ?? []) {
      if (!upstream.has(d)) {
        upstream.add(d);
        visit(d);
      }
    }
  };
  visit(key);
  return [
    // A forEach step's inputs see the item and its index.
    ...(loop ? ["item", "index"] : []),
    ...inputNames.map((n) => `inputs.${n}`),
    ...Array.from(upstream)
      .sort()
      .map((k) => `steps.${k}.output`),
    "execution.id",
    "execution.startedAt",
  ];
}

/** errorText renders a run's or a step's error ({error, cause, stepKey}) as a line of text. */
export function errorText(e: unknown): string {
  if (e === null || e === undefined) return "";
  if (typeof e === "string") return e;
  if (typeof e === "object") {
    const o = e as { error?: unknown; cause?: unknown; stepKey?: unknown };
    const name = typeof o.error === "string" ? o.error : "";
    let cause = typeof o.cause === "string" ? o.cause : "";
    // A cause may itself be a JSON-encoded error (a failed branch).
    if (cause.startsWith("{")) {
      try {
        cause = errorText(JSON.parse(cause));
      } catch {
        // keep it as it is
      }
    }
    const where = typeof o.stepKey === "string" && o.stepKey ? `step ${o.stepKey}: ` : "";
    if (name || cause) return where + [name, cause].filter(Boolean).join(": ");
  }
  return JSON.stringify(e);
}

/** sourceErrorLine finds the line of a code agent's save-time compile error ("line 2, column 17: ..."). */
export function sourceErrorLine(message: string | undefined): number | null {
  const m = message ? /^line (\d+), column \d+: /.exec(message) : null;
  return m ? Number(m[1]) : null;
}
