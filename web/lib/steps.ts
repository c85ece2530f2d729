// The workflow editor's model of steps, shared by the canvas, its side
// panel and the execution view. Pure (no React), so the unit tests cover it.
//
// Step kinds: every step has a kind. Today the API knows one, "agent" (a
// step runs an agent); issue 15 adds wait, approval and workflow steps and
// settings common to all (when, forEach, onError). A kind is an entry of
// STEP_KINDS (its label and colour here, its panel section in
// components/canvas/step-panel.tsx): the canvas draws every kind with the
// same node, so a new kind is an entry in each table, not a new canvas.

import dagre from "@dagrejs/dagre";
import type { WorkflowStep } from "./types";

export type StepKind = "agent";

export type StepKindInfo = {
  label: string;
  /** Tailwind classes of the node's kind badge. */
  badge: string;
};

export const STEP_KINDS: Record<StepKind, StepKindInfo> = {
  agent: { label: "Agent", badge: "bg-indigo-100 text-indigo-900" },
};

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
};

let uidSeq = 0;
export const nextUid = () => ++uidSeq;

/** stepFrom turns an API step into the editor's form. */
export function stepFrom(s: WorkflowStep): StepForm {
  return {
    uid: nextUid(),
    kind: "agent",
    key: s.key,
    agentId: s.agentId,
    dependsOn: s.dependsOn ?? [],
    inputs: s.inputs && Object.keys(s.inputs).length ? JSON.stringify(s.inputs, null, 2) : "",
    timeoutSeconds: s.timeoutSeconds ? String(s.timeoutSeconds) : "",
    maxAttempts: s.retry?.maxAttempts !== undefined ? String(s.retry.maxAttempts) : "",
    retry: s.retry,
  };
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
export function templateHints(steps: { key: string; dependsOn: string[] }[], key: string, inputNames: string[]): string[] {
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
