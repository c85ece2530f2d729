package dag_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/dag"
)

func n(key string, deps ...string) dag.Node { return dag.Node{Key: key, DependsOn: deps} }

func TestNewProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		nodes []dag.Node
		opts  dag.Options
		want  []dag.Problem
	}{
		{
			name: "empty",
			want: []dag.Problem{{Field: "steps", Message: "at least one step is required"}},
		},
		{
			name:  "empty key and invalid key",
			nodes: []dag.Node{n(""), n("1abc"), n("ok")},
			want: []dag.Problem{
				{Field: "steps[0].key", Message: "key is required"},
				{Field: "steps[1].key", Message: `key "1abc" is invalid: it must start with a letter and contain only letters, digits, '_' or '-' (at most 64 characters)`},
			},
		},
		{
			name:  "key too long",
			nodes: []dag.Node{n("a" + strings.Repeat("b", 64))},
			want: []dag.Problem{
				{Field: "steps[0].key", Message: fmt.Sprintf(`key %q is invalid: it must start with a letter and contain only letters, digits, '_' or '-' (at most 64 characters)`, "a"+strings.Repeat("b", 64))},
			},
		},
		{
			name:  "duplicate key",
			nodes: []dag.Node{n("a"), n("b"), n("a")},
			want:  []dag.Problem{{Field: "steps[2].key", Message: `duplicate key "a": steps[0] already uses it`}},
		},
		{
			name:  "unknown, self and duplicate dependencies",
			nodes: []dag.Node{n("a"), n("b", "a", "zz", "b", "a")},
			want: []dag.Problem{
				{Field: "steps[1].dependsOn[1]", Message: `unknown step "zz"`},
				{Field: "steps[1].dependsOn[2]", Message: `step "b" cannot depend on itself`},
				{Field: "steps[1].dependsOn[3]", Message: `duplicate dependency "a": already listed at dependsOn[0]`},
			},
		},
		{
			name:  "cycle of three",
			nodes: []dag.Node{n("a", "c"), n("b", "a"), n("c", "b"), n("d", "a")},
			want: []dag.Problem{{
				Field:   "steps[1].dependsOn[0]",
				Message: "dependency cycle: a → b → c → a (each step depends on the one before it)",
			}},
		},
		{
			name:  "two step cycle",
			nodes: []dag.Node{n("x"), n("p", "q"), n("q", "p")},
			want: []dag.Problem{{
				Field:   "steps[2].dependsOn[0]",
				Message: "dependency cycle: p → q → p (each step depends on the one before it)",
			}},
		},
		{
			name:  "two separate cycles",
			nodes: []dag.Node{n("a", "b"), n("b", "a"), n("c"), n("x", "y", "c"), n("y", "x")},
			want: []dag.Problem{
				{Field: "steps[1].dependsOn[0]", Message: "dependency cycle: a → b → a (each step depends on the one before it)"},
				{Field: "steps[4].dependsOn[0]", Message: "dependency cycle: x → y → x (each step depends on the one before it)"},
			},
		},
		{
			name:  "size bound",
			nodes: []dag.Node{n("a"), n("b"), n("c")},
			opts:  dag.Options{MaxNodes: 2, Field: "nodes"},
			want:  []dag.Problem{{Field: "nodes", Message: "too many steps: 3, the limit is 2"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g, err := dag.New(tt.nodes, tt.opts)
			require.Nil(t, g)
			var verr *dag.ValidationError
			require.ErrorAs(t, err, &verr)
			require.Equal(t, tt.want, verr.Problems)
			require.Contains(t, err.Error(), tt.want[0].Field+": "+tt.want[0].Message)
		})
	}
}

func TestDefaultSizeBound(t *testing.T) {
	t.Parallel()
	nodes := make([]dag.Node, dag.DefaultMaxNodes+1)
	for i := range nodes {
		nodes[i] = n(fmt.Sprintf("s%d", i))
	}
	_, err := dag.New(nodes[:dag.DefaultMaxNodes], dag.Options{})
	require.NoError(t, err)
	_, err = dag.New(nodes, dag.Options{})
	require.ErrorContains(t, err, "too many steps: 501, the limit is 500")
}

func TestGraphQueries(t *testing.T) {
	t.Parallel()
	// fetch → {summarize, translate} → notify; audit independent.
	g, err := dag.New([]dag.Node{
		n("notify", "summarize", "translate"),
		n("summarize", "fetch"),
		n("audit"),
		n("translate", "fetch"),
		n("fetch"),
	}, dag.Options{})
	require.NoError(t, err)

	require.Equal(t, 5, g.Len())
	require.Equal(t, []string{"audit", "fetch", "summarize", "translate", "notify"}, g.TopologicalOrder())
	require.Equal(t, []string{"audit", "fetch"}, g.Sources())
	require.Equal(t, []string{"notify", "audit"}, g.Sinks())
	require.Equal(t, []string{"summarize", "translate"}, g.DependsOn("notify"))
	require.Equal(t, []string{"summarize", "translate"}, g.Dependents("fetch"))
	require.Equal(t, []string{"fetch", "summarize", "translate"}, g.Ancestors("notify"))
	require.Equal(t, []string{"summarize", "translate", "notify"}, g.Descendants("fetch"))
	require.True(t, g.Has("audit"))
	require.False(t, g.Has("nope"))

	require.True(t, g.IsUpstream("fetch", "notify"), "transitive dependency")
	require.True(t, g.IsUpstream("summarize", "notify"), "direct dependency")
	require.False(t, g.IsUpstream("notify", "fetch"), "downstream is not upstream")
	require.False(t, g.IsUpstream("summarize", "translate"), "siblings")
	require.False(t, g.IsUpstream("audit", "notify"), "unrelated")
	require.False(t, g.IsUpstream("fetch", "fetch"), "not upstream of itself")
	require.False(t, g.IsUpstream("ghost", "notify"))
}

// render prints a schedule compactly: S(...) series, P(...) parallel.
func render(b *dag.Block) string {
	switch b.Kind {
	case dag.StepBlock:
		return b.Key
	case dag.SeriesBlock, dag.ParallelBlock:
		parts := make([]string, len(b.Children))
		for i, c := range b.Children {
			parts[i] = render(c)
		}
		return strings.ToUpper(b.Kind.String()[:1]) + "(" + strings.Join(parts, ",") + ")"
	}
	return "?"
}

func TestSchedule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		nodes []dag.Node
		want  string
		added int
	}{
		{"single", []dag.Node{n("a")}, "a", 0},
		{"chain", []dag.Node{n("a"), n("b", "a"), n("c", "b")}, "S(a,b,c)", 0},
		{"independent", []dag.Node{n("a"), n("b"), n("c")}, "P(a,b,c)", 0},
		{"diamond", []dag.Node{n("a"), n("b", "a"), n("c", "a"), n("d", "b", "c")}, "S(a,P(b,c),d)", 0},
		{"transitive edge is harmless", []dag.Node{n("a"), n("b", "a"), n("c", "a", "b")}, "S(a,b,c)", 0},
		{
			"nested", []dag.Node{
				n("a"), n("b", "a"), n("c", "b"), n("d", "a"), n("e", "c", "d"), n("x"),
			}, "P(S(a,P(S(b,c),d),e),x)", 0,
		},
		{"N shape", []dag.Node{n("a"), n("b"), n("c", "a", "b"), n("d", "b")}, "S(P(a,b),P(c,d))", 1},
		{
			// The N inside a chain: only the N part is cut.
			"N in chain", []dag.Node{
				n("start"), n("a", "start"), n("b", "start"), n("c", "a", "b"), n("d", "b"), n("end", "c", "d"),
			}, "S(start,P(a,b),P(c,d),end)", 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g, err := dag.New(tt.nodes, dag.Options{})
			require.NoError(t, err)
			s := g.Schedule()
			require.Equal(t, tt.want, render(s.Root))
			require.Equal(t, tt.added, s.AddedOrderings)
			require.Equal(t, tt.added == 0, s.Exact)
			require.Equal(t, tt.added == 0, g.IsSeriesParallel())
		})
	}
}
