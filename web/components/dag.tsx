"use client";

import { layoutDag, type DagInput } from "@/lib/dag";

const W = 150;
const H = 46;
const GX = 56;
const GY = 18;
const PAD = 12;

const fills: Record<string, { fill: string; stroke: string; text: string }> = {
  none: { fill: "#eef2ff", stroke: "#6366f1", text: "#1e1b4b" },
  pending: { fill: "#f1f5f9", stroke: "#94a3b8", text: "#0f172a" },
  running: { fill: "#dbeafe", stroke: "#2563eb", text: "#172554" },
  completed: { fill: "#dcfce7", stroke: "#16a34a", text: "#052e16" },
  failed: { fill: "#fee2e2", stroke: "#dc2626", text: "#450a0a" },
  skipped: { fill: "#f8fafc", stroke: "#cbd5e1", text: "#334155" },
  cancelled: { fill: "#fef3c7", stroke: "#d97706", text: "#451a03" },
};

type Props = {
  steps: DagInput[];
  status?: Record<string, string>;
  label: string;
  selected?: string | null;
  onSelect?: (key: string) => void;
};

/** Dag draws a workflow's steps as an SVG, layered left to right by depth. */
export function Dag({ steps, status, label, selected, onSelect }: Props) {
  const layout = layoutDag(steps);
  if (layout.layers.length === 0) {
    return <p className="text-sm text-muted-foreground">Add a step to see the graph.</p>;
  }
  const pos: Record<string, { x: number; y: number }> = {};
  const tallest = Math.max(...layout.layers.map((l) => l.length));
  const height = PAD * 2 + tallest * H + (tallest - 1) * GY;
  layout.layers.forEach((layer, i) => {
    const colHeight = layer.length * H + (layer.length - 1) * GY;
    const top = (height - colHeight) / 2;
    layer.forEach((k, j) => {
      pos[k] = { x: PAD + i * (W + GX), y: top + j * (H + GY) };
    });
  });
  const width = PAD * 2 + layout.layers.length * W + (layout.layers.length - 1) * GX;
  const summary = layout.layers.map((l, i) => `stage ${i + 1}: ${l.join(", ")}`).join("; ");

  return (
    <div className="overflow-x-auto" tabIndex={0} role="region" aria-label={`${label} (scrolls sideways)`}>
      <svg
        role="img"
        aria-label={`${label}. ${summary}`}
        viewBox={`0 0 ${width} ${height}`}
        preserveAspectRatio="xMinYMid meet"
        style={{ width: "100%", height: "auto", maxWidth: width, minWidth: Math.min(width, 420) }}
        data-testid="dag"
      >
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto">
            <path d="M0,0 L10,5 L0,10 z" fill="#64748b" />
          </marker>
        </defs>
        {layout.edges.map(({ from, to }) => {
          const a = pos[from];
          const b = pos[to];
          if (!a || !b) return null;
          const x1 = a.x + W;
          const y1 = a.y + H / 2;
          const x2 = b.x;
          const y2 = b.y + H / 2;
          const back = x2 <= x1;
          const d = back
            ? `M${x1},${y1} C${x1 + 40},${y1 - 60} ${x2 - 40},${y2 - 60} ${x2},${y2}`
            : `M${x1},${y1} C${x1 + GX / 2},${y1} ${x2 - GX / 2},${y2} ${x2},${y2}`;
          return (
            <path
              key={`${from}->${to}`}
              d={d}
              fill="none"
              stroke={back ? "#dc2626" : "#64748b"}
              strokeWidth={1.5}
              markerEnd="url(#arrow)"
            />
          );
        })}
        {Object.entries(pos).map(([k, p]) => {
          const st = status?.[k];
          const c = fills[st ?? "none"] ?? fills.none;
          const isSel = selected === k;
          return (
            <g
              key={k}
              transform={`translate(${p.x},${p.y})`}
              data-step={k}
              data-status={st ?? ""}
              onClick={onSelect ? () => onSelect(k) : undefined}
              style={onSelect ? { cursor: "pointer" } : undefined}
            >
              <title>{st ? `${k}: ${st}` : k}</title>
              <rect
                width={W}
                height={H}
                rx={8}
                fill={c.fill}
                stroke={isSel ? "#0f172a" : c.stroke}
                strokeWidth={isSel ? 3 : 1.5}
              />
              <text x={10} y={st ? 19 : 28} fontSize={13} fontWeight={600} fill={c.text}>
                {k.length > 18 ? k.slice(0, 17) + "…" : k}
              </text>
              {st ? (
                <text x={10} y={36} fontSize={11} fill={c.text}>
                  {st.replace("_", " ")}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
      {layout.cyclic.length ? (
        <p className="mt-2 text-sm text-destructive">Dependency cycle through: {layout.cyclic.join(", ")}</p>
      ) : null}
      {layout.unknown.length ? (
        <p className="mt-2 text-sm text-warning">Unknown dependencies: {layout.unknown.join("; ")}</p>
      ) : null}
    </div>
  );
}
