package dag

import "slices"

// BlockKind says how a Block runs its children.
type BlockKind int

// The kinds of Block.
const (
	// StepBlock runs one step (Block.Key).
	StepBlock BlockKind = iota + 1
	// SeriesBlock runs its children one after another.
	SeriesBlock
	// ParallelBlock runs its children concurrently and ends when all end.
	ParallelBlock
)

// String names the kind.
func (k BlockKind) String() string {
	switch k {
	case StepBlock:
		return "step"
	case SeriesBlock:
		return "series"
	case ParallelBlock:
		return "parallel"
	default:
		return "unknown"
	}
}

// Block is a node of a series-parallel schedule.
type Block struct {
	Kind BlockKind
	// Key is the step run by a StepBlock.
	Key string
	// Children are the blocks of a SeriesBlock (in run order) or of a
	// ParallelBlock (ordered by their first step in topological order). A
	// SeriesBlock never has a SeriesBlock child and a ParallelBlock never has
	// a ParallelBlock child; both have at least two children.
	Children []*Block
}

// Steps returns the keys of every step in the block, in schedule order.
func (b *Block) Steps() []string {
	var out []string
	var walk func(*Block)
	walk = func(b *Block) {
		if b.Kind == StepBlock {
			out = append(out, b.Key)
			return
		}
		for _, c := range b.Children {
			walk(c)
		}
	}
	walk(b)
	return out
}

// Schedule is a series-parallel plan that runs every step of a graph and
// respects every dependency.
type Schedule struct {
	Root *Block
	// Exact reports that the schedule orders exactly the pairs of steps the
	// graph orders: the graph is series-parallel (as a partial order), so no
	// concurrency is lost.
	Exact bool
	// AddedOrderings counts the pairs of steps the schedule runs one after the
	// other although the graph lets them run concurrently (0 when Exact).
	AddedOrderings int
}

// Schedule decomposes the graph into nested series and parallel blocks.
//
// Strategy: a set of steps whose comparability graph (a ~ b when one is
// upstream of the other) is disconnected runs its components in parallel; a
// set whose incomparability graph is disconnected runs its components in
// series. A partial order is series-parallel exactly when this recursion never
// gets stuck, and then the schedule is exact. When it gets stuck (the set
// contains an "N": a→c, b→c, b→d), the set is cut into a downward-closed part
// A and the rest B, run as series(A, B), and both halves are decomposed again.
// The cut is taken at a longest-path level boundary, counted from the sources
// (A = steps whose longest path from a source in the set is ≤ k) or from the
// sinks, choosing the boundary that adds the fewest orderings. Level cuts
// never lengthen the longest chain of steps, so with equal step durations the
// schedule finishes as early as the graph allows; with unequal durations a
// slow step in A delays the unrelated steps of B (the worst case: all of B
// waits for the slowest step of A, up to one extra step duration per cut).
func (g *Graph) Schedule() Schedule {
	n := len(g.keys)
	all := newBitset(n)
	for r := 0; r < n; r++ {
		all.set(r)
	}
	s := scheduler{
		g: g, comparable: make([]bitset, n), scratch: newBitset(n),
		asap: make([]int, n), height: make([]int, n), alap: make([]int, n),
	}
	for r := 0; r < n; r++ {
		s.comparable[r] = g.reach[r].clone()
		s.comparable[r].or(g.reachedBy[r])
	}
	root := s.decompose(all)
	return Schedule{Root: root, Exact: s.added == 0, AddedOrderings: s.added}
}

// IsSeriesParallel reports whether the graph's order is series-parallel, so
// that nested Parallel states express it without losing concurrency.
func (g *Graph) IsSeriesParallel() bool { return g.Schedule().Exact }

type scheduler struct {
	g     *Graph
	added int
	// comparable[r]: ranks upstream or downstream of rank r.
	comparable []bitset
	scratch    bitset
	// Per-rank scratch levels for cut.
	asap, height, alap []int
}

// decompose schedules the steps whose ranks are in set (a convex set: every
// step between two members is a member).
func (s *scheduler) decompose(set bitset) *Block {
	g := s.g
	members := make([]int, 0, set.count())
	set.each(func(r int) { members = append(members, r) })
	if len(members) == 1 {
		return &Block{Kind: StepBlock, Key: g.keys[g.topo[members[0]]]}
	}
	// Members lie in words lo..hi-1 of every bitset: restrict work to them.
	lo, hi := members[0]/64, members[len(members)-1]/64+1
	if parts := s.components(set, members, false, lo, hi); len(parts) > 1 {
		b := &Block{Kind: ParallelBlock}
		for _, p := range parts {
			b.Children = append(b.Children, s.decompose(p))
		}
		return b
	}
	if parts := s.components(set, members, true, lo, hi); len(parts) > 1 {
		b := &Block{Kind: SeriesBlock}
		for _, p := range parts {
			b.appendSeries(s.decompose(p))
		}
		return b
	}
	lower, upper, added := s.cut(set, members, lo, hi)
	s.added += added
	b := &Block{Kind: SeriesBlock}
	b.appendSeries(s.decompose(lower))
	b.appendSeries(s.decompose(upper))
	return b
}

// appendSeries appends c to the series b, splicing c's children when c is a
// series itself.
func (b *Block) appendSeries(c *Block) {
	if c.Kind == SeriesBlock {
		b.Children = append(b.Children, c.Children...)
		return
	}
	b.Children = append(b.Children, c)
}

// components splits set into the connected components of its comparability
// graph (a ~ b when one is upstream of the other) or, when complement is set,
// of its incomparability graph. Components come out ordered by their smallest
// rank; for series splits the components are totally ordered, and ordering by
// smallest rank is their run order.
func (s *scheduler) components(set bitset, members []int, complement bool, lo, hi int) []bitset {
	unvisited := set.clone()
	nb := s.scratch
	var parts []bitset
	for _, start := range members {
		if !unvisited.has(start) {
			continue
		}
		part := newBitset(len(set) * 64)
		part.set(start)
		unvisited.clear(start)
		queue := []int{start}
		for len(queue) > 0 {
			r := queue[0]
			queue = queue[1:]
			c := s.comparable[r]
			for i := lo; i < hi; i++ {
				if complement {
					nb[i] = unvisited[i] &^ c[i]
				} else {
					nb[i] = unvisited[i] & c[i]
				}
			}
			nb.eachIn(lo, hi, func(x int) {
				unvisited.clear(x)
				part.set(x)
				queue = append(queue, x)
			})
		}
		parts = append(parts, part)
	}
	return parts
}

// cut splits a set that is neither a parallel nor a series composition into
// a downward-closed lower part and the upper rest, at the longest-path level
// boundary (from sources or from sinks) that adds the fewest orderings.
func (s *scheduler) cut(set bitset, members []int, lo, hi int) (lower, upper bitset, added int) {
	g := s.g
	// Longest path from a source of the set (asap) and to a sink (height).
	// The level slices are indexed by rank and reused across calls: cut
	// writes the entries of its members before reading them and is done with
	// them before decompose recurses.
	asap, height, alap := s.asap, s.height, s.alap
	depth := 0
	for _, r := range members {
		l := 0
		for _, d := range g.deps[g.topo[r]] {
			if dr := g.rank[d]; set.has(dr) && asap[dr]+1 > l {
				l = asap[dr] + 1
			}
		}
		asap[r] = l
		depth = max(depth, l+1)
	}
	for i := len(members) - 1; i >= 0; i-- {
		r := members[i]
		h := 0
		for _, x := range g.succ[g.topo[r]] {
			if xr := g.rank[x]; set.has(xr) && height[xr]+1 > h {
				h = height[xr] + 1
			}
		}
		height[r] = h
	}
	for _, r := range members {
		alap[r] = depth - 1 - height[r]
	}
	best := -1
	var bestLevel []int
	bestK := 0
	for _, level := range [][]int{asap, alap} {
		// Members grouped by level (counting sort): level k is
		// sorted[start[k]:start[k+1]].
		start := make([]int, depth+1)
		for _, r := range members {
			start[level[r]+1]++
		}
		for k := 1; k <= depth; k++ {
			start[k] += start[k-1]
		}
		sorted := make([]int, len(members))
		fill := slices.Clone(start[:depth])
		for _, r := range members {
			sorted[fill[level[r]]] = r
			fill[level[r]]++
		}
		a := newBitset(len(set) * 64)
		b := set.clone()
		na, nb, cross := 0, len(members), 0
		for k := 0; k < depth-1; k++ {
			// Move level k from B to A, keeping cross = |{(x∈A, y∈B): x<y}|.
			lk := sorted[start[k]:start[k+1]]
			for _, x := range lk {
				b.clear(x)
			}
			for _, x := range lk {
				cross -= g.reachedBy[x].andCountIn(a, lo, hi)
				cross += g.reach[x].andCountIn(b, lo, hi)
			}
			for _, x := range lk {
				a.set(x)
			}
			na += len(lk)
			nb -= len(lk)
			if f := na*nb - cross; best < 0 || f < best {
				best, bestLevel, bestK = f, level, k
			}
		}
	}
	lower = newBitset(len(set) * 64)
	upper = newBitset(len(set) * 64)
	for _, r := range members {
		if bestLevel[r] <= bestK {
			lower.set(r)
		} else {
			upper.set(r)
		}
	}
	return lower, upper, best
}
