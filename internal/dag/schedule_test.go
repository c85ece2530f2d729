package dag_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/dag"
)

// randomNodes returns a random DAG of size nodes: each node depends on
// earlier nodes with probability p. Keys are shuffled so that input order and
// dependency order differ.
func randomNodes(rng *rand.Rand, size int, p float64) []dag.Node {
	nodes := make([]dag.Node, size)
	for i := range nodes {
		nodes[i].Key = fmt.Sprintf("s%d", i)
		for j := 0; j < i; j++ {
			if rng.Float64() < p {
				nodes[i].DependsOn = append(nodes[i].DependsOn, nodes[j].Key)
			}
		}
	}
	rng.Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
	return nodes
}

// scheduleOrder returns the happens-before pairs of a schedule.
func scheduleOrder(b *dag.Block) map[[2]string]bool {
	order := map[[2]string]bool{}
	var walk func(b *dag.Block)
	walk = func(b *dag.Block) {
		for _, c := range b.Children {
			walk(c)
		}
		if b.Kind != dag.SeriesBlock {
			return
		}
		for i := range b.Children {
			for j := i + 1; j < len(b.Children); j++ {
				for _, x := range b.Children[i].Steps() {
					for _, y := range b.Children[j].Steps() {
						order[[2]string{x, y}] = true
					}
				}
			}
		}
	}
	walk(b)
	return order
}

// nFree reports whether the order of g has no induced "N" (a<c, b<c, b<d,
// every other pair incomparable), the characterisation of series-parallel
// partial orders.
func nFree(g *dag.Graph) bool {
	keys := g.Keys()
	lt := g.IsUpstream
	inc := func(x, y string) bool { return x != y && !lt(x, y) && !lt(y, x) }
	for _, a := range keys {
		for _, b := range keys {
			for _, c := range keys {
				if !lt(a, c) || !lt(b, c) || !inc(a, b) {
					continue
				}
				for _, d := range keys {
					if lt(b, d) && inc(a, d) && inc(c, d) {
						return false
					}
				}
			}
		}
	}
	return true
}

func TestScheduleRespectsEveryDependencyOnRandomGraphs(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	sp, nonSP := 0, 0
	for iter := 0; iter < 400; iter++ {
		size := 1 + rng.IntN(14)
		p := []float64{0.1, 0.25, 0.5}[iter%3]
		nodes := randomNodes(rng, size, p)
		g, err := dag.New(nodes, dag.Options{})
		require.NoError(t, err)
		s := g.Schedule()

		require.ElementsMatch(t, g.Keys(), s.Root.Steps(), "every step scheduled exactly once")
		order := scheduleOrder(s.Root)
		dagPairs := 0
		for _, x := range g.Keys() {
			for _, y := range g.Keys() {
				if g.IsUpstream(x, y) {
					dagPairs++
					require.True(t, order[[2]string{x, y}], "graph %v: %s must run before %s", nodes, x, y)
				}
			}
		}
		require.Equal(t, len(order)-dagPairs, s.AddedOrderings, "graph %v", nodes)
		require.Equal(t, nFree(g), s.Exact, "graph %v: exact iff N-free", nodes)
		if s.Exact {
			sp++
		} else {
			nonSP++
		}
		requireCanonical(t, s.Root)
		// Deterministic: a second call gives the same schedule.
		require.Equal(t, render(s.Root), render(g.Schedule().Root))
	}
	// The generator covers both kinds of graph.
	require.Positive(t, sp)
	require.Positive(t, nonSP)
}

func requireCanonical(t *testing.T, b *dag.Block) {
	t.Helper()
	if b.Kind == dag.StepBlock {
		return
	}
	require.GreaterOrEqual(t, len(b.Children), 2)
	for _, c := range b.Children {
		require.NotEqual(t, b.Kind, c.Kind, "no series in series, no parallel in parallel")
		requireCanonical(t, c)
	}
}

func TestScheduleKeepsLevels(t *testing.T) {
	t.Parallel()
	// With equal step durations the schedule never takes longer than the
	// graph's longest chain.
	rng := rand.New(rand.NewPCG(3, 4))
	for iter := 0; iter < 200; iter++ {
		nodes := randomNodes(rng, 2+rng.IntN(20), 0.2)
		g, err := dag.New(nodes, dag.Options{})
		require.NoError(t, err)
		require.Equal(t, longestChain(g), blockDepth(g.Schedule().Root), "graph %v", nodes)
	}
}

func longestChain(g *dag.Graph) int {
	depth := map[string]int{}
	best := 0
	for _, k := range g.TopologicalOrder() {
		d := 1
		for _, p := range g.DependsOn(k) {
			d = max(d, depth[p]+1)
		}
		depth[k] = d
		best = max(best, d)
	}
	return best
}

func blockDepth(b *dag.Block) int {
	switch b.Kind {
	case dag.SeriesBlock:
		sum := 0
		for _, c := range b.Children {
			sum += blockDepth(c)
		}
		return sum
	case dag.ParallelBlock:
		m := 0
		for _, c := range b.Children {
			m = max(m, blockDepth(c))
		}
		return m
	}
	return 1
}

func BenchmarkSchedule1000(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	nodes := randomNodes(rng, 1000, 0.004)
	g, err := dag.New(nodes, dag.Options{MaxNodes: 1000})
	require.NoError(b, err)
	b.ResetTimer()
	for b.Loop() {
		g.Schedule()
	}
}
