// Package jsonata is an evaluator for JSONata 2.0 expressions, the query
// and transformation language AWS Step Functions accepts in states whose
// QueryLanguage is JSONata.
//
// It was written for Turbocat after trying the two Go ports available on
// the module proxy (github.com/blues/jsonata-go v1.5.4 and its fork
// github.com/xiatechs/jsonata-go v1.8.8) against the features the Step
// Functions documentation uses. Both implement JSONata 1.5: they lack the
// positional (#), context (@) and parent (%) bindings, $single's one
// argument form, $assert, $formatInteger and $parseInteger; they compile
// regular expressions with Go's RE2, which has no look-around, where
// JSONata's are JavaScript's; and xiatechs orders object keys at random in
// wildcard and $spread results. This package works on the runtime's own
// decoded JSON (map[string]any, []any, json.Number), evaluates regular
// expressions in ECMAScript mode, bounds recursion and evaluation steps,
// and formats numbers as JavaScript does.
//
// Known differences from jsonata-js: object keys are visited in sorted
// order (Go maps keep no insertion order), string positions count code
// points rather than UTF-16 units, and $eval is not provided (Step
// Functions leaves it out too).
package jsonata

import (
	"encoding/json"
	"fmt"
	"time"
)

// Expr is a compiled expression. It is safe for concurrent use.
type Expr struct {
	root *node
	src  string
}

// Compile parses an expression.
func Compile(src string) (e *Expr, err error) {
	root, err := parse(src)
	if err != nil {
		return nil, err
	}
	return &Expr{root: root, src: src}, nil
}

// String returns the expression's source.
func (e *Expr) String() string { return e.src }

// Undefined is the value of an expression that produced nothing (JSONata's
// undefined), as distinct from JSON null (nil).
var Undefined = undefined

// Function is a native function callers add to an evaluation.
type Function = builtin

// NewFunction makes a native function with a JSONata signature (such as
// "<n-n:n>"; see the JSONata documentation). fn receives the validated
// arguments; a missing optional argument is Undefined.
func NewFunction(name, sig string, fn func(args []any) (any, error)) (*Function, error) {
	s, err := parseSignature(sig)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", name, err)
	}
	return &builtin{name: name, sig: s, fn: func(_ *call, args []any) (any, error) {
		for i, a := range args {
			if f, ok := a.(json.Number); ok {
				args[i], _ = toNumber(f)
			}
		}
		return fn(args)
	}}, nil
}

// Options configure one evaluation.
type Options struct {
	// Vars binds variables ($name) by name, without the $.
	Vars map[string]any
	// Lookup, if set, resolves variables that are neither bound in the
	// expression nor in Vars or Functions; it is consulted before the
	// built-in functions, so its variables hide built-ins of the same name.
	Lookup func(name string) (any, bool)
	// Functions adds native functions, or replaces built-in ones, by name.
	Functions map[string]*Function
	// Now is the time $now() and $millis() report; zero means time.Now().
	Now time.Time
	// Random, if set, is the source of $random() and $shuffle().
	Random func() float64
	// MaxDepth bounds nested evaluation (recursion); 0 means 1000.
	MaxDepth int
	// MaxSteps bounds evaluated nodes; 0 means 10,000,000.
	MaxSteps int
}

// Eval evaluates the expression with input as its context ($); pass
// Undefined for no context. The result is Undefined when the expression
// yields nothing; sequences come back as []any.
func (e *Expr) Eval(input any, opts Options) (res any, err error) {
	defer func() {
		// A bug here must not take the process down: report it as an error
		// (code U1099) that tests and fuzzing treat as a failure.
		if r := recover(); r != nil {
			res, err = nil, &Error{Code: "U1099", Message: fmt.Sprintf("internal error evaluating JSONata: %v", r)}
		}
	}()
	ev := &evaluator{maxDepth: opts.MaxDepth, maxSteps: opts.MaxSteps, now: opts.Now, rand: opts.Random, ext: opts.Lookup}
	if ev.maxDepth <= 0 {
		ev.maxDepth = 1000
	}
	if ev.maxSteps <= 0 {
		ev.maxSteps = 10_000_000
	}
	if ev.now.IsZero() {
		ev.now = time.Now()
	}
	root := &env{vars: make(map[string]any, len(opts.Vars)+len(opts.Functions)+1), parent: builtinEnv}
	for name, f := range opts.Functions {
		root.vars[name] = f
	}
	for name, v := range opts.Vars {
		root.vars[name] = v
	}
	if a, ok := input.([]any); ok {
		input = &sequence{items: a, outerWrapper: true}
	}
	root.vars["$"] = input
	res, err = ev.eval(e.root, input, root)
	if err != nil {
		return nil, err
	}
	return export(res), nil
}

// export converts an evaluation result for use outside the evaluator.
func export(v any) any {
	switch x := v.(type) {
	case *sequence:
		if x.outerWrapper && len(x.items) == 1 {
			return export(x.items[0])
		}
		out := make([]any, len(x.items))
		for i, it := range x.items {
			out[i] = exportNested(it, true)
		}
		return out
	case map[string]any, []any:
		return exportNested(v, false)
	}
	return v
}

// exportNested applies JSON.stringify's rules to nested functions: dropped
// from objects, null in arrays.
func exportNested(v any, inArray bool) any {
	switch x := v.(type) {
	case *sequence:
		return export(x)
	case map[string]any:
		for k, e := range x {
			if isFunc(e) || e == undefined {
				delete(x, k)
				continue
			}
			x[k] = exportNested(e, false)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = exportNested(e, true)
		}
		return x
	case *lambda, *builtin:
		if inArray {
			return nil
		}
	}
	return v
}

// IsFunction reports whether v is a function value (an expression can
// evaluate to one; JSON cannot hold it).
func IsFunction(v any) bool { return isFunc(v) }

// Variables returns the names of the variables ($name) the expression
// reads that it does not bind itself (with := or as function parameters),
// leaving out built-in function names. Step Functions uses it to check that
// every variable an expression reads was assigned before.
func (e *Expr) Variables() []string {
	seen := map[string]bool{}
	var out []string
	var walk func(n *node, bound map[string]bool)
	walk = func(n *node, bound map[string]bool) {
		if n == nil {
			return
		}
		switch n.typ {
		case nVariable:
			name := n.op
			if name != "" && name != "$" && !bound[name] && builtins[name] == nil && !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		case nBlock:
			inner := copyBound(bound)
			for _, x := range n.args {
				walk(x, inner)
				if x.typ == nBind {
					inner[x.lhs.op] = true
				}
			}
			walkAnnotations(n, bound, walk)
			return
		case nBind:
			walk(n.rhs, bound)
			return
		case nLambda:
			inner := copyBound(bound)
			for _, p := range n.params {
				inner[p] = true
			}
			walk(n.body, inner)
			return
		}
		walk(n.lhs, bound)
		walk(n.rhs, bound)
		walk(n.proc, bound)
		walk(n.cond, bound)
		walk(n.then, bound)
		walk(n.els, bound)
		walk(n.pattern, bound)
		walk(n.update, bound)
		walk(n.del, bound)
		walk(n.body, bound)
		if n.focus != "" || n.hasIndex {
			bound = copyBound(bound)
			if n.focus != "" {
				bound[n.focus] = true
			}
			if n.hasIndex {
				bound[n.index] = true
			}
		}
		for _, st := range n.stages {
			if st.filter == nil {
				bound = copyBound(bound)
				bound[st.index] = true
			}
		}
		inner := bound
		for _, x := range n.args {
			walk(x, inner)
			// Focus and index bindings name variables for later steps.
			if x.focus != "" || x.hasIndex {
				inner = copyBound(inner)
				if x.focus != "" {
					inner[x.focus] = true
				}
				if x.hasIndex {
					inner[x.index] = true
				}
			}
			for _, st := range x.stages {
				if st.filter == nil {
					inner = copyBound(inner)
					inner[st.index] = true
				}
			}
		}
		walkAnnotations(n, inner, walk)
	}
	walk(e.root, map[string]bool{})
	return out
}

func walkAnnotations(n *node, bound map[string]bool, walk func(*node, map[string]bool)) {
	for _, p := range n.pairs {
		walk(p[0], bound)
		walk(p[1], bound)
	}
	for _, p := range n.predicate {
		walk(p, bound)
	}
	for _, st := range n.stages {
		walk(st.filter, bound)
	}
	if n.group != nil {
		walk(n.group, bound)
	}
	for _, t := range n.terms {
		walk(t.expr, bound)
	}
}

func copyBound(b map[string]bool) map[string]bool {
	c := make(map[string]bool, len(b)+1)
	for k, v := range b {
		c[k] = v
	}
	return c
}

// Marshal encodes a result as JSON, numbers formatted as JavaScript does.
func Marshal(v any) ([]byte, error) {
	return appendValue(nil, v, false)
}
