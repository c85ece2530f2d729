// Package dag is Turbocat's workflow graph model: a set of steps, each naming
// the steps it depends on.
//
// New validates a list of nodes and reports every problem at once, each with a
// field path the API can show to a user (steps[3].dependsOn[0]) and a message:
// invalid or duplicate keys, unknown, duplicate or self dependencies, cycles
// (with the cycle path a → b → c → a) and the size bound. A valid Graph answers
// the questions the rest of Turbocat asks: a deterministic topological order,
// sources and sinks, whether one step is upstream of another (templates may
// only reference upstream steps), and a series-parallel schedule (see
// Graph.Schedule) that the compiler turns into nested Parallel states.
//
// The package is pure: standard library only, no I/O.
package dag

import (
	"fmt"
	"slices"
	"strings"
)

// DefaultMaxNodes is the step limit used when Options.MaxNodes is zero.
const DefaultMaxNodes = 500

// KeyPattern is the syntax of a step key, for documentation (ValidKey
// implements it without regular expressions).
const KeyPattern = `^[a-zA-Z][a-zA-Z0-9_-]{0,63}$`

// Node is one step of a workflow: its key and the keys of the steps that must
// complete before it starts.
type Node struct {
	Key       string
	DependsOn []string
}

// Options tunes validation. The zero value is ready to use.
type Options struct {
	// MaxNodes bounds the number of nodes; 0 means DefaultMaxNodes.
	MaxNodes int
	// Field is the name of the list in field paths; "" means "steps".
	Field string
}

// Problem is one validation failure: Field is a path such as
// "steps[3].dependsOn[0]" and Message says what is wrong in words a user
// understands.
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError lists every problem found in a graph. New returns it (as
// error) when the nodes do not form a valid DAG.
type ValidationError struct {
	Problems []Problem
}

// Error joins the problems into one line.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Field + ": " + p.Message
	}
	return "invalid workflow graph: " + strings.Join(parts, "; ")
}

// Graph is a validated DAG. It is immutable and safe for concurrent use.
type Graph struct {
	keys  []string       // input order
	index map[string]int // key → position in keys
	deps  [][]int        // deps[i]: nodes i depends on, input order of DependsOn
	succ  [][]int        // succ[i]: nodes depending on i, ascending
	topo  []int          // deterministic topological order
	rank  []int          // rank[i]: position of i in topo
	// reach[r] holds the ranks of every node strictly downstream of the node
	// of rank r, and reachedBy[r] the ranks of every node strictly upstream.
	reach     []bitset
	reachedBy []bitset
}

// ValidKey reports whether key is a well-formed step key (KeyPattern).
func ValidKey(key string) bool {
	if len(key) == 0 || len(key) > 64 {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// New validates nodes and returns the graph, or a *ValidationError listing
// every problem found.
func New(nodes []Node, opts Options) (*Graph, error) {
	field := opts.Field
	if field == "" {
		field = "steps"
	}
	maxNodes := opts.MaxNodes
	if maxNodes <= 0 {
		maxNodes = DefaultMaxNodes
	}
	var probs []Problem
	add := func(f, format string, args ...any) {
		probs = append(probs, Problem{Field: f, Message: fmt.Sprintf(format, args...)})
	}
	if len(nodes) == 0 {
		add(field, "at least one step is required")
		return nil, &ValidationError{Problems: probs}
	}
	if len(nodes) > maxNodes {
		add(field, "too many steps: %d, the limit is %d", len(nodes), maxNodes)
		return nil, &ValidationError{Problems: probs}
	}

	g := &Graph{
		keys:  make([]string, len(nodes)),
		index: make(map[string]int, len(nodes)),
		deps:  make([][]int, len(nodes)),
		succ:  make([][]int, len(nodes)),
	}
	keyField := func(i int) string { return fmt.Sprintf("%s[%d].key", field, i) }
	for i, n := range nodes {
		g.keys[i] = n.Key
		switch {
		case n.Key == "":
			add(keyField(i), "key is required")
		case !ValidKey(n.Key):
			add(keyField(i), "key %q is invalid: it must start with a letter and contain only letters, digits, '_' or '-' (at most 64 characters)", n.Key)
		default:
			if first, dup := g.index[n.Key]; dup {
				add(keyField(i), "duplicate key %q: %s[%d] already uses it", n.Key, field, first)
				continue
			}
			g.index[n.Key] = i
		}
	}
	for i, n := range nodes {
		depField := func(j int) string { return fmt.Sprintf("%s[%d].dependsOn[%d]", field, i, j) }
		for j, d := range n.DependsOn {
			// Lists are short: a linear scan beats a map per node.
			if prev := slices.Index(n.DependsOn[:j], d); prev >= 0 {
				add(depField(j), "duplicate dependency %q: already listed at dependsOn[%d]", d, prev)
				continue
			}
			if d == n.Key && d != "" {
				add(depField(j), "step %q cannot depend on itself", d)
				continue
			}
			k, ok := g.index[d]
			if !ok {
				if d == "" {
					add(depField(j), "dependency is empty")
				} else {
					add(depField(j), "unknown step %q", d)
				}
				continue
			}
			g.deps[i] = append(g.deps[i], k)
			g.succ[k] = append(g.succ[k], i)
		}
	}
	if len(probs) > 0 {
		return nil, &ValidationError{Problems: probs}
	}
	for i := range g.succ {
		slices.Sort(g.succ[i])
	}
	if cyc := g.findCycles(field); len(cyc) > 0 {
		return nil, &ValidationError{Problems: cyc}
	}
	g.order()
	g.closure()
	return g, nil
}

// findCycles runs a depth-first search over "depends on" edges and reports,
// for every edge that closes a cycle, a problem on that dependency entry with
// the full cycle path.
func (g *Graph) findCycles(field string) []Problem {
	const (
		white = iota
		grey
		black
	)
	n := len(g.keys)
	color := make([]int, n)
	var stack []int
	var probs []Problem
	// Iterative DFS over "depends on" edges keeps deep chains off the Go stack
	// limits and makes the reported path deterministic (input order).
	type frame struct{ node, next int }
	for start := 0; start < n; start++ {
		if color[start] != white {
			continue
		}
		frames := []frame{{node: start}}
		color[start] = grey
		stack = append(stack[:0], start)
		for len(frames) > 0 {
			top := &frames[len(frames)-1]
			if top.next >= len(g.deps[top.node]) {
				color[top.node] = black
				frames = frames[:len(frames)-1]
				stack = stack[:len(stack)-1]
				continue
			}
			d := g.deps[top.node][top.next]
			top.next++
			switch color[d] {
			case white:
				color[d] = grey
				frames = append(frames, frame{node: d})
				stack = append(stack, d)
			case grey:
				// stack[pos..] is s_p, …, s_k where each depends on the next
				// and s_k depends on s_p. In execution order that is
				// s_p → s_k → s_{k-1} → … → s_{p+1} → s_p.
				pos := slices.Index(stack, d)
				cycle := []int{d}
				for k := len(stack) - 1; k > pos; k-- {
					cycle = append(cycle, stack[k])
				}
				path := g.cyclePath(cycle)
				probs = append(probs, Problem{
					Field:   fmt.Sprintf("%s[%d].dependsOn[%d]", field, top.node, g.depPosition(top.node, d)),
					Message: "dependency cycle: " + strings.Join(path, " → ") + " (each step depends on the one before it)",
				})
			}
		}
	}
	return probs
}

// cyclePath renders a cycle given in execution order, starting at the step
// listed first in the input, closed by repeating that step.
func (g *Graph) cyclePath(cycle []int) []string {
	start := 0
	for i, v := range cycle {
		if v < cycle[start] {
			start = i
		}
	}
	path := make([]string, 0, len(cycle)+1)
	for i := range cycle {
		path = append(path, g.keys[cycle[(start+i)%len(cycle)]])
	}
	return append(path, path[0])
}

// depPosition returns the index in the original DependsOn list of node i of
// the dependency on node d.
func (g *Graph) depPosition(i, d int) int {
	return slices.Index(g.deps[i], d)
}

// order computes a deterministic topological order (Kahn's algorithm, ties
// broken by input order).
func (g *Graph) order() {
	n := len(g.keys)
	indeg := make([]int, n)
	for i := range g.deps {
		indeg[i] = len(g.deps[i])
	}
	ready := &intHeap{}
	for i := 0; i < n; i++ {
		if indeg[i] == 0 {
			ready.push(i)
		}
	}
	g.topo = make([]int, 0, n)
	for ready.len() > 0 {
		v := ready.pop()
		g.topo = append(g.topo, v)
		for _, s := range g.succ[v] {
			indeg[s]--
			if indeg[s] == 0 {
				ready.push(s)
			}
		}
	}
	g.rank = make([]int, n)
	for r, v := range g.topo {
		g.rank[v] = r
	}
}

// closure computes reach and reachedBy bitsets, in rank space: bit r of
// reach[rank[i]] is set when node topo[r] is downstream of node i.
func (g *Graph) closure() {
	n := len(g.keys)
	g.reach = make([]bitset, n)
	g.reachedBy = make([]bitset, n)
	for r := 0; r < n; r++ {
		g.reach[r] = newBitset(n)
		g.reachedBy[r] = newBitset(n)
	}
	for r := n - 1; r >= 0; r-- {
		for _, s := range g.succ[g.topo[r]] {
			sr := g.rank[s]
			g.reach[r].set(sr)
			g.reach[r].or(g.reach[sr])
		}
	}
	for r := 0; r < n; r++ {
		for _, d := range g.deps[g.topo[r]] {
			dr := g.rank[d]
			g.reachedBy[r].set(dr)
			g.reachedBy[r].or(g.reachedBy[dr])
		}
	}
}

// Len returns the number of nodes.
func (g *Graph) Len() int { return len(g.keys) }

// Keys returns the node keys in input order.
func (g *Graph) Keys() []string { return slices.Clone(g.keys) }

// Has reports whether key is a node of the graph.
func (g *Graph) Has(key string) bool {
	_, ok := g.index[key]
	return ok
}

// DependsOn returns the direct dependencies of key, in the order given; nil
// for an unknown key.
func (g *Graph) DependsOn(key string) []string {
	i, ok := g.index[key]
	if !ok {
		return nil
	}
	return g.names(g.deps[i])
}

// Dependents returns the steps that depend directly on key, in input order.
func (g *Graph) Dependents(key string) []string {
	i, ok := g.index[key]
	if !ok {
		return nil
	}
	return g.names(g.succ[i])
}

// TopologicalOrder returns every key such that each step comes after all of
// its dependencies. Among steps that are ready at the same time, the one
// listed first in the input comes first, so the order is deterministic.
func (g *Graph) TopologicalOrder() []string { return g.names(g.topo) }

// Sources returns the steps without dependencies, in input order.
func (g *Graph) Sources() []string {
	var out []string
	for i, d := range g.deps {
		if len(d) == 0 {
			out = append(out, g.keys[i])
		}
	}
	return out
}

// Sinks returns the steps no other step depends on, in input order.
func (g *Graph) Sinks() []string {
	var out []string
	for i, s := range g.succ {
		if len(s) == 0 {
			out = append(out, g.keys[i])
		}
	}
	return out
}

// IsUpstream reports whether step up must complete before step key starts,
// directly or through other steps. A step is not upstream of itself; unknown
// keys are upstream of nothing.
func (g *Graph) IsUpstream(up, key string) bool {
	u, ok1 := g.index[up]
	k, ok2 := g.index[key]
	if !ok1 || !ok2 {
		return false
	}
	return g.reach[g.rank[u]].has(g.rank[k])
}

// Ancestors returns every step upstream of key, in topological order.
func (g *Graph) Ancestors(key string) []string {
	k, ok := g.index[key]
	if !ok {
		return nil
	}
	var out []string
	g.reachedBy[g.rank[k]].each(func(r int) { out = append(out, g.keys[g.topo[r]]) })
	return out
}

// Descendants returns every step downstream of key, in topological order.
func (g *Graph) Descendants(key string) []string {
	k, ok := g.index[key]
	if !ok {
		return nil
	}
	var out []string
	g.reach[g.rank[k]].each(func(r int) { out = append(out, g.keys[g.topo[r]]) })
	return out
}

func (g *Graph) names(idx []int) []string {
	out := make([]string, len(idx))
	for i, v := range idx {
		out[i] = g.keys[v]
	}
	return out
}

// intHeap is a min-heap of ints.
type intHeap struct{ a []int }

func (h *intHeap) len() int { return len(h.a) }

func (h *intHeap) push(v int) {
	h.a = append(h.a, v)
	i := len(h.a) - 1
	for i > 0 {
		p := (i - 1) / 2
		if h.a[p] <= h.a[i] {
			break
		}
		h.a[p], h.a[i] = h.a[i], h.a[p]
		i = p
	}
}

func (h *intHeap) pop() int {
	top := h.a[0]
	last := len(h.a) - 1
	h.a[0] = h.a[last]
	h.a = h.a[:last]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h.a) && h.a[l] < h.a[m] {
			m = l
		}
		if r < len(h.a) && h.a[r] < h.a[m] {
			m = r
		}
		if m == i {
			return top
		}
		h.a[m], h.a[i] = h.a[i], h.a[m]
		i = m
	}
}
