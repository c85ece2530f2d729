"use client";

// WorkflowCanvas draws a workflow's steps as a graph with React Flow, laid
// out left to right by dagre: nodes you add, connect (drag from a step's
// right handle to another's left one: the second then depends on the
// first) and select; zoom, pan and fit. The execution view uses the same
// canvas read-only, each node coloured by its step's status with its
// duration. Every kind of step is drawn by StepNode, which takes its label
// and colour from STEP_KINDS (lib/steps.ts).

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
import { layoutSteps, STEP_KINDS, type StepKind } from "@/lib/steps";
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
};

type StepData = CanvasStep & { selected: boolean };

export const statusStyles: Record<string, string> = {
  pending: "border-slate-400 bg-slate-50",
  running: "border-blue-600 bg-blue-50",
  completed: "border-green-600 bg-green-50",
  failed: "border-red-600 bg-red-50",
  skipped: "border-slate-300 bg-white",
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
        "flex h-[76px] w-[216px] flex-col justify-center gap-0.5 rounded-lg border-2 bg-white px-3 py-2 text-left shadow-sm",
        data.status ? statusStyles[data.status] : "border-indigo-400",
        data.invalid ? "border-red-600 ring-2 ring-red-200" : null,
        data.selected ? "ring-2 ring-indigo-500 ring-offset-1" : null,
      )}
    >
      <Handle type="target" position={Position.Left} className="!h-3 !w-3 !bg-slate-500" />
      <div className="flex items-center justify-between gap-2">
        <span className="truncate font-mono text-sm font-semibold text-slate-900">{data.key || "(no key)"}</span>
        <span className={cn("shrink-0 rounded px-1.5 py-0.5 text-[10px] font-medium uppercase", kind.badge)}>{kind.label}</span>
      </div>
      <span className="truncate text-xs text-slate-700">{data.subtitle || "—"}</span>
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
      edges.push({
        id: `${from}->${s.id}`,
        source: from,
        target: s.id,
        data: { sourceKey: d },
        animated: running,
        deletable: editable,
        markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16 },
        style: { strokeWidth: 2 },
        ariaLabel: `${s.key} depends on ${d}`,
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
