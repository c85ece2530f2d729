package runtime

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/turbocat/turbocat/internal/asl"
)

// Workflow variables (Assign, $name): the top-level states of an execution
// share one scope; each Parallel branch and Map iteration runs in a child
// scope that reads the enclosing ones and whose assignments stay inside it.
// A state's Assign is evaluated with the values from before the state
// (alongside its Output), and takes effect when the state exits; the
// StateExited event records the assignments, so a resumed execution
// rebuilds its scopes from its history.

// varScope is one scope of variables. Only the thread that owns a scope
// writes it, and enclosing scopes do not change while a child runs.
type varScope struct {
	vars   map[string]any
	parent *varScope
}

func newScope(parent *varScope) *varScope { return &varScope{parent: parent} }

func (s *varScope) get(name string) (any, bool) {
	for sc := s; sc != nil; sc = sc.parent {
		if v, ok := sc.vars[name]; ok {
			return v, true
		}
	}
	return nil, false
}

func (s *varScope) set(assigned map[string]any) {
	if s == nil || len(assigned) == 0 {
		return
	}
	if s.vars == nil {
		s.vars = make(map[string]any, len(assigned))
	}
	for k, v := range assigned {
		s.vars[k] = v
	}
}

// Variable size limits, as Step Functions documents them.
const (
	maxVariableBytes = 256 * 1024 // one variable
	maxAssignBytes   = 256 * 1024 // everything one Assign sets
)

// assignment is a compiled Assign field.
type assignment struct {
	path    *tmpl  // JSONPath states: ".$" keys are evaluated
	jsonata *jtmpl // JSONata states
}

func compileAssign(raw json.RawMessage, jsonata bool, field string) (*assignment, []string, error) {
	if len(raw) == 0 {
		return nil, nil, nil
	}
	if jsonata {
		t, err := compileJSONata(raw, field)
		if err != nil {
			return nil, nil, err
		}
		return &assignment{jsonata: t}, t.variables(), nil
	}
	t, err := compileTemplate(raw)
	if err != nil {
		return nil, nil, err
	}
	return &assignment{path: t}, t.variables(), nil
}

// evalAssign evaluates an Assign: in JSONPath states against value (what
// "$" means for the state), in JSONata states with env's $states.
func evalAssign(a *assignment, value any, env *stateEnv, states map[string]any) (map[string]any, *stateErr) {
	if a == nil {
		return nil, nil
	}
	var v any
	var serr *stateErr
	if a.jsonata != nil {
		v, serr = a.jsonata.eval(env, states)
	} else {
		v, serr = a.path.eval(value, env)
	}
	if serr != nil {
		return nil, serr
	}
	m, _ := v.(map[string]any)
	total := 0
	for _, k := range sortedKeys(m) {
		n := valueSize(m[k], maxVariableBytes+1)
		if n > maxVariableBytes {
			return nil, &stateErr{Error: ErrDataLimitExceeded, Cause: fmt.Sprintf("The value assigned to variable '%s' exceeds the maximum size of %d bytes.", k, maxVariableBytes)}
		}
		total += n
	}
	if total > maxAssignBytes {
		return nil, &stateErr{Error: ErrDataLimitExceeded, Cause: fmt.Sprintf("The variables assigned by one state exceed the maximum size of %d bytes.", maxAssignBytes)}
	}
	return m, nil
}

// assignedJSON renders assigned variables as the history shows them: each
// value as a JSON string.
func assignedJSON(m map[string]any) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = mustEncode(v)
	}
	return out
}

// ---- Static checks: every variable a state reads is assigned on every
// path to it, and Map/Parallel branches do not assign outer variables. ----

// varNode is a state's variable flow: what it reads, what it assigns on
// each outgoing edge.
type varNode struct {
	name  string
	loc   string
	reads []varRead
	// edges: target state → variables assigned on the way.
	edges []varEdge
	// inner scopes (Parallel branches, Map processor).
	inner []*varGraph
	// assigns are every variable this state may assign (for the scope check).
	assigns []string
}

type varRead struct {
	name  string
	field string
}

type varEdge struct {
	to     string
	assign []string
}

type varGraph struct {
	startAt string
	nodes   map[string]*varNode
	base    string // location of the scope
}

// checkVariables returns a diagnostic for each read of a variable that is
// not assigned on every path to the reading state, and for each
// assignment inside a Map or Parallel branch of a variable an enclosing
// scope assigns.
func checkVariables(g *varGraph) asl.ValidationErrors {
	var errs asl.ValidationErrors
	var walk func(g *varGraph, entry map[string]bool, outer map[string]string)
	walk = func(g *varGraph, entry map[string]bool, outer map[string]string) {
		in := definitelyAssigned(g, entry)
		names := make([]string, 0, len(g.nodes))
		for n := range g.nodes {
			names = append(names, n)
		}
		sort.Strings(names)
		// Variables any state of this scope assigns, for the inner scopes' check.
		scopeAssigns := map[string]string{}
		for k, v := range outer {
			scopeAssigns[k] = v
		}
		for _, n := range names {
			for _, a := range g.nodes[n].assigns {
				if _, ok := scopeAssigns[a]; !ok {
					scopeAssigns[a] = g.nodes[n].loc
				}
			}
		}
		for _, n := range names {
			node := g.nodes[n]
			avail := in[n]
			for _, r := range node.reads {
				if avail == nil || !avail[r.name] {
					errs = append(errs, &asl.ValidationError{State: n, Code: asl.CodeInvalidVariable, Location: node.loc + "/" + r.field,
						Msg: fmt.Sprintf("%s reads variable $%s, which is not assigned on every path to this state", r.field, r.name)})
				}
			}
			for _, a := range node.assigns {
				if where, ok := outer[a]; ok {
					errs = append(errs, &asl.ValidationError{State: n, Code: asl.CodeInvalidVariable, Location: node.loc + "/Assign",
						Msg: fmt.Sprintf("variable $%s is assigned in an enclosing scope (%s); a Parallel branch or Map iteration cannot assign it", a, where)})
				}
			}
			for _, sub := range node.inner {
				walk(sub, avail, scopeAssigns)
			}
		}
	}
	walk(g, map[string]bool{}, map[string]string{})
	return errs
}

// definitelyAssigned computes, for each state of g, the variables assigned
// on every path from the scope's entry to the state.
func definitelyAssigned(g *varGraph, entry map[string]bool) map[string]map[string]bool {
	in := map[string]map[string]bool{}
	for name := range g.nodes {
		if name == g.startAt {
			in[name] = copySet(entry)
		} else {
			in[name] = nil // not reached yet: top of the lattice
		}
	}
	changed := true
	for changed {
		changed = false
		for name, n := range g.nodes {
			src := in[name]
			if src == nil {
				continue
			}
			for _, e := range n.edges {
				if _, ok := g.nodes[e.to]; !ok {
					continue
				}
				out := copySet(src)
				for _, a := range e.assign {
					out[a] = true
				}
				cur := in[e.to]
				if cur == nil {
					in[e.to] = out
					changed = true
					continue
				}
				if e.to == g.startAt {
					out = intersect(out, entry)
				}
				next := intersect(cur, out)
				if len(next) != len(cur) {
					in[e.to] = next
					changed = true
				}
			}
		}
	}
	return in
}

func copySet(s map[string]bool) map[string]bool {
	c := make(map[string]bool, len(s))
	for k := range s {
		c[k] = true
	}
	return c
}

func intersect(a, b map[string]bool) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		if b[k] {
			out[k] = true
		}
	}
	return out
}

// pathVariables returns the variable a JSONPath reads, if it is rooted at
// one ($name...).
func pathVariable(p *jsonPath) []string {
	if p == nil || p.variable == "" {
		return nil
	}
	return []string{p.variable}
}
