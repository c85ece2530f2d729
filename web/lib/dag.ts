// Layout of a workflow DAG: steps layered by dependency depth (a root is depth
// 0; any other step is one deeper than its deepest dependency), so parallel
// branches share a column. Pure, so the editor can redraw it on every key.

export type DagInput = { key: string; dependsOn?: string[] | null };

export type DagLayout = {
  layers: string[][];
  depth: Record<string, number>;
  edges: { from: string; to: string }[];
  /** Keys on a dependency cycle (drawn in the last layer). */
  cyclic: string[];
  /** Dependencies naming no step, as "step → missing". */
  unknown: string[];
};

export function layoutDag(steps: DagInput[]): DagLayout {
  const keys = new Set(steps.map((s) => s.key).filter(Boolean));
  const deps = new Map<string, string[]>();
  const unknown: string[] = [];
  for (const s of steps) {
    if (!s.key || deps.has(s.key)) continue;
    const ds = (s.dependsOn ?? []).filter((d) => {
      if (keys.has(d)) return true;
      if (d) unknown.push(`${s.key} → ${d}`);
      return false;
    });
    deps.set(s.key, Array.from(new Set(ds)));
  }
  const depth: Record<string, number> = {};
  const visiting = new Set<string>();
  const cyclic = new Set<string>();
  const visit = (k: string): number => {
    if (k in depth) return depth[k];
    if (visiting.has(k)) {
      cyclic.add(k);
      return -1;
    }
    visiting.add(k);
    let d = 0;
    for (const p of deps.get(k) ?? []) {
      const pd = visit(p);
      if (pd < 0) {
        cyclic.add(k);
      } else {
        d = Math.max(d, pd + 1);
      }
    }
    visiting.delete(k);
    depth[k] = d;
    return d;
  };
  for (const k of deps.keys()) visit(k);
  const maxDepth = Math.max(0, ...Object.values(depth));
  for (const k of cyclic) depth[k] = maxDepth + 1;
  const layers: string[][] = [];
  for (const k of deps.keys()) {
    const d = depth[k];
    (layers[d] ??= []).push(k);
  }
  const edges: { from: string; to: string }[] = [];
  for (const [k, ds] of deps) for (const d of ds) edges.push({ from: d, to: k });
  return { layers: layers.filter(Boolean), depth, edges, cyclic: Array.from(cyclic), unknown };
}
