package runtime

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"

	"github.com/turbocat/turbocat/internal/asl"
	"github.com/turbocat/turbocat/internal/jsonata"
)

// ErrQueryEvaluation is the error a failing JSONata expression raises.
const ErrQueryEvaluation = "States.QueryEvaluationError"

// jtmpl is a compiled JSONata-state template: JSON in which every string
// of the form "{% expression %}" is a JSONata expression.
type jtmpl struct {
	kind   tmplKind
	lit    any
	expr   *jsonata.Expr
	keys   []string
	fields []*jtmpl
	items  []*jtmpl
	field  string // the field it came from, for error causes ("Output", "Arguments/id")
}

const tmplJSONata = tmplArray + 1

func compileJSONata(raw json.RawMessage, field string) (*jtmpl, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	v, err := decodeJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", field, err)
	}
	return compileJSONataValue(v, field)
}

func compileJSONataValue(v any, field string) (*jtmpl, error) {
	switch x := v.(type) {
	case string:
		if !asl.IsJSONata(x) {
			return &jtmpl{kind: tmplLiteral, lit: x, field: field}, nil
		}
		e, err := jsonata.Compile(asl.JSONataExpr(x))
		if err != nil {
			return nil, fmt.Errorf("invalid JSONata expression %q: %v", x, err)
		}
		return &jtmpl{kind: tmplJSONata, expr: e, field: field}, nil
	case map[string]any:
		t := &jtmpl{kind: tmplObject, field: field}
		for _, k := range sortedKeys(x) {
			sub, err := compileJSONataValue(x[k], field+"/"+k)
			if err != nil {
				return nil, err
			}
			t.keys = append(t.keys, k)
			t.fields = append(t.fields, sub)
		}
		return t, nil
	case []any:
		t := &jtmpl{kind: tmplArray, field: field}
		for i, it := range x {
			sub, err := compileJSONataValue(it, fmt.Sprintf("%s/%d", field, i))
			if err != nil {
				return nil, err
			}
			t.items = append(t.items, sub)
		}
		return t, nil
	}
	return &jtmpl{kind: tmplLiteral, lit: v, field: field}, nil
}

// variables returns the variables the template's expressions read.
func (t *jtmpl) variables() []string {
	if t == nil {
		return nil
	}
	var out []string
	switch t.kind {
	case tmplJSONata:
		for _, v := range t.expr.Variables() {
			if v != "states" && sfnFunctionTable[v] == nil && v != "random" {
				out = append(out, v)
			}
		}
	case tmplObject:
		for _, f := range t.fields {
			out = append(out, f.variables()...)
		}
	case tmplArray:
		for _, it := range t.items {
			out = append(out, it.variables()...)
		}
	}
	return out
}

// eval evaluates the template with $states bound to states and the
// execution's variables visible.
func (t *jtmpl) eval(env *stateEnv, states map[string]any) (any, *stateErr) {
	switch t.kind {
	case tmplLiteral:
		return t.lit, nil
	case tmplObject:
		return evalObject(t.keys, t.fields, func(f *jtmpl) (any, *stateErr) { return f.eval(env, states) })
	case tmplArray:
		return evalArray(t.items, func(it *jtmpl) (any, *stateErr) { return it.eval(env, states) })
	}
	var vars *varScope
	if env.th != nil {
		vars = env.th.vars
	}
	opts := jsonata.Options{
		Vars:      map[string]any{"states": states},
		Functions: env.ru.r.jsonataFunctions,
		Now:       env.ru.r.clock.Now(),
		Random:    env.ru.r.randFloat,
		Lookup: func(name string) (any, bool) {
			if vars == nil {
				return nil, false
			}
			return vars.get(name)
		},
	}
	v, err := t.expr.Eval(jsonata.Undefined, opts)
	if err != nil {
		return nil, env.queryError(t, err.Error())
	}
	switch {
	case v == jsonata.Undefined:
		return nil, env.queryError(t, "the expression returned no value (undefined), which JSON cannot hold")
	case jsonata.IsFunction(v):
		return nil, env.queryError(t, "the expression returned a function, which JSON cannot hold")
	}
	if f, ok := v.(float64); ok && (math.IsInf(f, 0) || math.IsNaN(f)) {
		return nil, env.queryError(t, "the expression returned a number JSON cannot hold")
	}
	return v, nil
}

// queryError builds the States.QueryEvaluationError of a failed expression
// and records an EvaluationFailed event.
func (env *stateEnv) queryError(t *jtmpl, msg string) *stateErr {
	cause := fmt.Sprintf("An error occurred while executing the state '%s' (entered at the event id #%d). The JSONata expression '%s' specified for the field '%s' threw an error: %s",
		env.cs.name, env.enteredID(), t.expr.String(), t.field, msg)
	serr := &stateErr{Error: ErrQueryEvaluation, Cause: cause}
	if env.th != nil && env.ru.recording {
		env.ru.emit(env.th, HistoryEvent{Type: EvEvaluationFailed, Name: env.cs.name,
			EventDetails: &EventDetails{Error: serr.Error, Cause: cause, Resource: t.field}})
	}
	return serr
}

// statesVar builds $states for a JSONata state: input, context and, where
// set, result and errorOutput.
func (env *stateEnv) statesVar(input any, extra ...any) map[string]any {
	m := make(map[string]any, 2+len(extra)/2)
	m["input"] = input
	m["context"] = env.context()
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i].(string)] = extra[i+1]
	}
	return m
}

// ---- The functions Step Functions adds to JSONata. ----

// sfnFunctionTable holds $partition, $range, $hash, $uuid and $parse;
// each Runtime adds its own $random (see randomFunction).
var sfnFunctionTable = func() map[string]*jsonata.Function {
	must := func(f *jsonata.Function, err error) *jsonata.Function {
		if err != nil {
			panic(err)
		}
		return f
	}
	fail := func(format string, args ...any) error { return fmt.Errorf(format, args...) }
	return map[string]*jsonata.Function{
		"partition": must(jsonata.NewFunction("partition", "<an:a>", func(args []any) (any, error) {
			items, _ := args[0].([]any)
			size, ok := args[1].(float64)
			if !ok || size < 1 || size != math.Trunc(size) {
				return nil, fail("$partition: the chunk size must be a positive integer")
			}
			out := []any{}
			for i := 0; i < len(items); i += int(size) {
				end := min(i+int(size), len(items))
				out = append(out, append([]any(nil), items[i:end]...))
			}
			return out, nil
		})),
		"range": must(jsonata.NewFunction("range", "<nnn?:a>", func(args []any) (any, error) {
			start, _ := args[0].(float64)
			end, _ := args[1].(float64)
			step := 1.0
			if s, ok := args[2].(float64); ok {
				step = s
			}
			if step == 0 || start != math.Trunc(start) || end != math.Trunc(end) || step != math.Trunc(step) {
				return nil, fail("$range: start, end and step must be integers and step must not be 0")
			}
			out := []any{}
			for v := start; (step > 0 && v <= end) || (step < 0 && v >= end); v += step {
				if len(out) >= 1000 {
					return nil, fail("$range: the result would hold more than 1000 items")
				}
				out = append(out, v)
			}
			return out, nil
		})),
		"hash": must(jsonata.NewFunction("hash", "<ss:s>", func(args []any) (any, error) {
			data, _ := args[0].(string)
			alg, _ := args[1].(string)
			sum, ok := hashHex(alg, data)
			if !ok {
				return nil, fail("$hash: the algorithm must be one of MD5, SHA-1, SHA-256, SHA-384, SHA-512; got %q", alg)
			}
			return sum, nil
		})),
		"uuid": must(jsonata.NewFunction("uuid", "<:s>", func([]any) (any, error) { return newUUID(), nil })),
		"parse": must(jsonata.NewFunction("parse", "<s:j>", func(args []any) (any, error) {
			s, _ := args[0].(string)
			v, err := decodeJSON([]byte(s))
			if err != nil {
				return nil, fail("$parse: %v", err)
			}
			return v, nil
		})),
	}
}()

// randomFunction is $random([seed]): with a seed it returns the same
// number for the same seed.
func (r *Runtime) randomFunction() *jsonata.Function {
	f, _ := jsonata.NewFunction("random", "<j?:n>", func(args []any) (any, error) {
		if args[0] == jsonata.Undefined {
			return r.randFloat(), nil
		}
		h := fnv.New64a()
		h.Write([]byte(mustEncode(args[0])))
		return rand.New(rand.NewPCG(h.Sum64(), 0x5f3759df)).Float64(), nil
	})
	return f
}

func (r *Runtime) randFloat() float64 {
	r.randMu.Lock()
	defer r.randMu.Unlock()
	return r.rnd.Float64()
}

// jsonataFunctionsFor returns the Step Functions functions for r.
func jsonataFunctionsFor(r *Runtime) map[string]*jsonata.Function {
	m := make(map[string]*jsonata.Function, len(sfnFunctionTable)+1)
	for k, v := range sfnFunctionTable {
		m[k] = v
	}
	m["random"] = r.randomFunction()
	return m
}
