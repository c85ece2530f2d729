"use client";

// WorkflowCanvas draws a workflow's steps as a graph with React Flow, laid
// out left to right by dagre: nodes you add, connect (drag from a step's
// right handle to another's left one: the second then depends on the
// first) and select; zoom, pan and fit. The execution view uses the same
// canvas read-only, each node coloured by its step's status with its
// duration. Every kind of step is drawn by StepNode, which takes its label
// and colour from STEP_KINDS (lib/steps.ts). Control flow shows on the
// graph: a step with a when condition gets a "when" badge and dashed
// incoming edges labelled "when"; a forEach step a loop badge (with its
// iterations done / total in a run); a workflow step a link to its child
// run; onError continue a "continues" badge.

import "@xyflow/react/dist/style.css";
import { useEffect, useMemo } from "react";
import {
  Background,
  Controls,
  Handle,
  MarkerType,
  Position,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  type Connection,
  type Edge,
  type Node,
  type NodeProps,
} from "@xyflow/react";
import Link from "next/link";
import { layoutSteps, NODE_HEIGHT, NODE_WIDTH, STEP_KINDS, type StepKind } from "@/lib/steps";
import { cn, formatDuration } from "@/lib/utils";

export type CanvasStep = {
  /** id is stable while the step is edited (its uid), or its key. */
  id: string;
  key: string;
  kind: StepKind;
  dependsOn: string[];
  /** subtitle: what the step runs (an agent's name). */
  subtitle?: string;
  invalid?: boolean;
  status?: string;
  durationMs?: number | null;
  attempt?: number;
  /** when: the step's condition (its incoming edges are drawn conditional). */
  when?: string;
  /** forEach: the template the step loops over. */
  forEach?: string;
  onError?: "fail" | "continue";
  /** iterations of a forEach step in a run: how many items, how many finished. */
  iterations?: { total: number; done: number };
  /** childExecutionId: the child run of a workflow step. */
  childExecutionId?: string;
};

type StepData = CanvasStep & { selected: boolean };

export const statusStyles: Record<string, string> = {
  pending: "border-slate-400 bg-slate-50",
  running: "border-blue-600 bg-blue-50",
  completed: "border-green-600 bg-green-50",
  failed: "border-red-600 bg-red-50",
  waiting: "border-violet-600 bg-violet-50",
  // Skipped: dashed and faded, it did not run.
  skipped: "border-dashed border-slate-400 bg-slate-100 opacity-80",
  cancelled: "border-amber-600 bg-amber-50",
};

function StepNode({ data }: NodeProps<Node<StepData>>) {
  const kind = STEP_KINDS[data.kind];
  return (
    <div
      data-testid={`node-${data.key}`}
      data-step={data.key}
      data-status={data.status ?? "none"}
      className={cn(
        "relative flex h-[76px] w-[216px] flex-col justify-center gap-0.5 rounded-lg border-2 bg-white px-3 py-2 text-left shadow-sm",
        data.status ? statusStyles[data.status] : "border-indigo-400",
        data.invalid ? "border-red-600 ring-2 ring-red-200" : null,
        data.selected ? "ring-2 ring-indigo-500 ring-offset-1" : null,
      )}
    >
      <Handle type="target" position={Position.Left} className="!h-3 !w-3 !bg-slate-500" />
      {data.when || data.forEach || data.onError === "continue" ? (
        <div className="absolute -top-2.5 left-2 flex gap-1">
          {data.when ? (
            <span className="rounded border border-orange-300 bg-orange-50 px-1 text-[10px] font-medium text-orange-900" title={`when ${data.when}`} data-testid={`when-${data.key}`}>
              when
            </span>
          ) : null}
          {data.forEach ? (
            <span className="rounded border border-teal-300 bg-teal-50 px-1 text-[10px] font-medium text-teal-900" title={`for each of ${data.forEach}`} data-testid={`loop-${data.key}`}>
              {data.iterations ? `↻ ${data.iterations.done}/${data.iterations.total} iterations` : "↻ for each"}
            </span>
          ) : null}
          {data.onError === "continue" ? (
            <span className="rounded border border-slate-300 bg-white px-1 text-[10px] font-medium text-slate-800" title="On error the run continues">
              continues on error
            </span>
          ) : null}
        </div>
      ) : null}
      <div className="flex items-center justify-between gap-2">
        <span className="truncate font-mono text-sm font-semibold text-slate-900">{data.key || "(no key)"}</span>
        <span className={cn("shrink-0 rounded px-1.5 py-0.5 text-[10px] font-medium uppercase", kind.badge)}>{kind.label}</span>
      </div>
      {data.childExecutionId ? (
        <Link
          href={`/executions/view?id=${data.childExecutionId}`}
          className="nodrag nopan truncate text-xs text-primary underline"
          data-testid={`child-link-${data.key}`}
          onClick={(e) => e.stopPropagation()}
        >
          child run {data.childExecutionId.slice(0, 8)}
        </Link>
      ) : (
        <span className="truncate text-xs text-slate-700">{data.subtitle || "—"}</span>
      )}
      {data.status ? (
        <span className="truncate text-xs text-slate-800">
          <span className="font-medium">{data.status}</span>
          {data.durationMs !== undefined && data.durationMs !== null ? ` · ${formatDuration(data.durationMs)}` : ""}
          {data.attempt && data.attempt > 1 ? ` · attempt ${data.attempt}` : ""}
        </span>
      ) : null}
      <Handle type="source" position={Position.Right} className="!h-3 !w-3 !bg-indigo-600" title={`Drag to a step that depends on ${data.key}`} />
    </div>
  );
}

const nodeTypes = { step: StepNode };

type Props = {
  steps: CanvasStep[];
  label: string;
  selected?: string | null;
  onSelect?: (id: string | null) => void;
  /** onConnect: the step target now depends on source (ids). */
  onConnect?: (sourceId: string, targetId: string) => void;
  /** onDisconnect: target no longer depends on the step keyed sourceKey. */
  onDisconnect?: (sourceKey: string, targetId: string) => void;
  className?: string;
};

function Canvas({ steps, label, selected, onSelect, onConnect, onDisconnect, className }: Props) {
  const editable = Boolean(onConnect);
  const shape = steps.map((s) => `${s.id}:${s.key}:${s.dependsOn.join(",")}`).join("|");
  const positions = useMemo(
    () => layoutSteps(steps.map((s) => ({ id: s.id, key: s.key, dependsOn: s.dependsOn }))),
    // Only the graph's shape moves nodes.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [shape],
  );
  const nodes: Node<StepData>[] = steps.map((s) => ({
    id: s.id,
    type: "step",
    position: positions[s.id] ?? { x: 0, y: 0 },
    // Every node has this fixed size. Saying so keeps React Flow from
    // re-measuring (and hiding) a node each time the nodes are rebuilt: a
    // rebuild racing its measurement could leave a node hidden for good
    // (a run's graph is rebuilt every second while it is live).
    measured: { width: NODE_WIDTH, height: NODE_HEIGHT },
    data: { ...s, selected: s.id === selected },
    selected: s.id === selected,
    draggable: false,
    connectable: editable,
    ariaLabel: `Step ${s.key}${s.status ? `, ${s.status}` : ""}`,
  }));
  const idOf = new Map<string, string>();
  for (const s of steps) if (s.key && !idOf.has(s.key)) idOf.set(s.key, s.id);
  const edges: Edge[] = [];
  for (const s of steps) {
    for (const d of s.dependsOn) {
      const from = idOf.get(d);
      if (!from) continue;
      const running = s.status === "running";
      // A conditional step's incoming edges: dashed, labelled "when".
      const conditional = Boolean(s.when);
      edges.push({
        id: `${from}->${s.id}`,
        source: from,
        target: s.id,
        data: { sourceKey: d },
        animated: running,
        deletable: editable,
        markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16 },
        style: conditional ? { strokeWidth: 2, strokeDasharray: "6 4", stroke: "#c2410c" } : { strokeWidth: 2 },
        className: conditional ? "edge-when" : undefined,
        label: conditional ? "when" : undefined,
        labelStyle: conditional ? { fill: "#7c2d12", fontSize: 11, fontWeight: 600 } : undefined,
        labelBgStyle: conditional ? { fill: "#fff7ed" } : undefined,
        labelBgPadding: conditional ? [4, 2] : undefined,
        ariaLabel: `${s.key} depends on ${d}${conditional ? `, when ${s.when}` : ""}`,
      });
    }
  }
  const flow = useReactFlow();
  // Fit the graph when its shape changes (a step added, a dependency drawn).
  useEffect(() => {
    const t = setTimeout(() => flow.fitView({ padding: 0.2, maxZoom: 1.2 }), 30);
    return () => clearTimeout(t);
  }, [shape, flow]);

  return (
    <div className={cn("h-[min(70vh,640px)] min-h-[420px] w-full rounded-md border border-border bg-slate-50", className)} data-testid="canvas" role="group" aria-label={label}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        fitView
        fitViewOptions={{ padding: 0.2, maxZoom: 1.2 }}
        minZoom={0.2}
        maxZoom={2}
        nodesDraggable={false}
        nodesConnectable={editable}
        elementsSelectable
        edgesFocusable={editable}
        deleteKeyCode={editable ? ["Backspace", "Delete"] : null}
        onNodeClick={(_, n) => onSelect?.(n.id)}
        onPaneClick={() => onSelect?.(null)}
        onConnect={(c: Connection) => c.source && c.target && onConnect?.(c.source, c.target)}
        onEdgesDelete={(es) => es.forEach((e) => onDisconnect?.(String((e.data as { sourceKey?: string })?.sourceKey ?? ""), e.target))}
        proOptions={{ hideAttribution: false }}
      >
        <Background gap={16} color="#cbd5e1" />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}

/** WorkflowCanvas is Canvas in its own React Flow provider. */
export function WorkflowCanvas(props: Props) {
  return (
    <ReactFlowProvider>
      <Canvas {...props} />
    </ReactFlowProvider>
  );
}
