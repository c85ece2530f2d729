package runtime

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/turbocat/turbocat/internal/asl"
)

// tmpl is a compiled payload template (Parameters, ResultSelector,
// ItemSelector): objects whose ".$" keys are evaluated against the input.
type tmpl struct {
	kind   tmplKind
	lit    any
	path   *jsonPath
	fn     *intrinsic
	keys   []string
	fields []*tmpl
	items  []*tmpl
	field  string // the ".$" key a path or intrinsic came from
}

type tmplKind int

const (
	tmplLiteral tmplKind = iota
	tmplPath
	tmplIntrinsic
	tmplObject
	tmplArray
)

func compileTemplate(raw json.RawMessage) (*tmpl, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	v, err := decodeJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("decode template: %w", err)
	}
	return compileValue(v)
}

func compileValue(v any) (*tmpl, error) {
	switch x := v.(type) {
	case map[string]any:
		t := &tmpl{kind: tmplObject}
		for _, k := range sortedKeys(x) {
			val := x[k]
			if strings.HasSuffix(k, ".$") {
				s, ok := val.(string)
				if !ok {
					return nil, fmt.Errorf("the value of field %q must be a string path or intrinsic function", k)
				}
				var sub *tmpl
				switch {
				case strings.HasPrefix(s, "$"):
					p, err := parsePath(s)
					if err != nil {
						return nil, err
					}
					sub = &tmpl{kind: tmplPath, path: p, field: k}
				case strings.HasPrefix(s, "States."):
					fn, err := parseIntrinsic(s)
					if err != nil {
						return nil, err
					}
					sub = &tmpl{kind: tmplIntrinsic, fn: fn, field: k}
				default:
					return nil, fmt.Errorf("the value of field %q must be a path or intrinsic function, got %q", k, s)
				}
				t.keys = append(t.keys, strings.TrimSuffix(k, ".$"))
				t.fields = append(t.fields, sub)
				continue
			}
			sub, err := compileValue(val)
			if err != nil {
				return nil, err
			}
			t.keys = append(t.keys, k)
			t.fields = append(t.fields, sub)
		}
		return t, nil
	case []any:
		t := &tmpl{kind: tmplArray}
		for _, it := range x {
			sub, err := compileValue(it)
			if err != nil {
				return nil, err
			}
			t.items = append(t.items, sub)
		}
		return t, nil
	}
	return &tmpl{kind: tmplLiteral, lit: v}, nil
}

// eval builds the payload. A path that matches nothing is States.Runtime
// (not catchable), as on AWS; intrinsic failures are
// States.IntrinsicFailure.
func (t *tmpl) eval(input any, env *stateEnv) (any, *stateErr) {
	switch t.kind {
	case tmplLiteral:
		return t.lit, nil
	case tmplPath:
		v, err := t.path.evalIn(input, env)
		if err != nil {
			what := "the input '" + mustEncode(t.path.source(input, env)) + "'"
			if t.path.variable != "" {
				if _, ok := env.vars().get(t.path.variable); !ok {
					what = "the variables (no variable $" + t.path.variable + " is assigned)"
				}
			}
			return nil, &stateErr{Error: ErrRuntime, Cause: fmt.Sprintf("An error occurred while executing the state '%s' (entered at the event id #%d). The JSONPath '%s' specified for the field '%s' could not be found in %s",
				env.cs.name, env.enteredID(), t.path.src, t.field, what)}
		}
		return v, nil
	case tmplIntrinsic:
		v, err := t.fn.eval(input, env)
		if err != nil {
			return nil, &stateErr{Error: ErrIntrinsicFailure, Cause: err.Error()}
		}
		return v, nil
	case tmplObject:
		return evalObject(t.keys, t.fields, func(f *tmpl) (any, *stateErr) { return f.eval(input, env) })
	case tmplArray:
		return evalArray(t.items, func(it *tmpl) (any, *stateErr) { return it.eval(input, env) })
	}
	return nil, nil
}

// variables returns the variables the template's paths and intrinsic
// arguments read.
func (t *tmpl) variables() []string {
	if t == nil {
		return nil
	}
	switch t.kind {
	case tmplPath:
		return pathVariable(t.path)
	case tmplIntrinsic:
		return t.fn.variables()
	}
	var out []string
	for _, f := range t.fields {
		out = append(out, f.variables()...)
	}
	for _, it := range t.items {
		out = append(out, it.variables()...)
	}
	return out
}

// choice is a compiled Choice rule.
type choice struct {
	rule     *asl.ChoiceRule
	cond     *jtmpl // JSONata Condition
	output   *jtmpl // JSONata rule Output
	assign   *assignment
	variable *jsonPath
	op       string
	other    *jsonPath // for ...Path operators
	and      []*choice
	or       []*choice
	not      *choice
	next     string
}

func compileChoice(r *asl.ChoiceRule) (*choice, error) {
	c := &choice{rule: r, next: r.Next}
	switch {
	case r.And != nil:
		for _, s := range r.And {
			sc, err := compileChoice(s)
			if err != nil {
				return nil, err
			}
			c.and = append(c.and, sc)
		}
		return c, nil
	case r.Or != nil:
		for _, s := range r.Or {
			sc, err := compileChoice(s)
			if err != nil {
				return nil, err
			}
			c.or = append(c.or, sc)
		}
		return c, nil
	case r.Not != nil:
		sc, err := compileChoice(r.Not)
		if err != nil {
			return nil, err
		}
		c.not = sc
		return c, nil
	}
	ops := r.Operators()
	if len(ops) != 1 {
		return nil, fmt.Errorf("choice rule needs exactly one operator")
	}
	c.op = ops[0]
	p, err := parsePath(r.Variable)
	if err != nil {
		return nil, err
	}
	c.variable = p
	if strings.HasSuffix(c.op, "Path") {
		other := choicePathOperand(r, c.op)
		op, err := parsePath(other)
		if err != nil {
			return nil, err
		}
		c.other = op
	}
	return c, nil
}

func choicePathOperand(r *asl.ChoiceRule, op string) string {
	switch op {
	case "StringEqualsPath":
		return r.StringEqualsPath
	case "StringLessThanPath":
		return r.StringLessThanPath
	case "StringGreaterThanPath":
		return r.StringGreaterThanPath
	case "StringLessThanEqualsPath":
		return r.StringLessThanEqualsPath
	case "StringGreaterThanEqualsPath":
		return r.StringGreaterThanEqualsPath
	case "NumericEqualsPath":
		return r.NumericEqualsPath
	case "NumericLessThanPath":
		return r.NumericLessThanPath
	case "NumericGreaterThanPath":
		return r.NumericGreaterThanPath
	case "NumericLessThanEqualsPath":
		return r.NumericLessThanEqualsPath
	case "NumericGreaterThanEqualsPath":
		return r.NumericGreaterThanEqualsPath
	case "BooleanEqualsPath":
		return r.BooleanEqualsPath
	case "TimestampEqualsPath":
		return r.TimestampEqualsPath
	case "TimestampLessThanPath":
		return r.TimestampLessThanPath
	case "TimestampGreaterThanPath":
		return r.TimestampGreaterThanPath
	case "TimestampLessThanEqualsPath":
		return r.TimestampLessThanEqualsPath
	case "TimestampGreaterThanEqualsPath":
		return r.TimestampGreaterThanEqualsPath
	}
	return ""
}

func lookup(p *jsonPath, input any, env *stateEnv) (any, bool) {
	v, err := p.evalIn(input, env)
	if err != nil {
		return nil, false
	}
	return v, true
}

// variables returns the variables the rule reads.
func (c *choice) variables() []string {
	var out []string
	out = append(out, pathVariable(c.variable)...)
	out = append(out, pathVariable(c.other)...)
	for _, s := range c.and {
		out = append(out, s.variables()...)
	}
	for _, s := range c.or {
		out = append(out, s.variables()...)
	}
	if c.not != nil {
		out = append(out, c.not.variables()...)
	}
	return out
}

// eval reports whether the rule matches. A missing Variable is a
// States.Runtime error, except under IsPresent.
func (c *choice) eval(input any, env *stateEnv) (bool, *stateErr) {
	switch {
	case c.and != nil:
		for _, s := range c.and {
			ok, err := s.eval(input, env)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case c.or != nil:
		for _, s := range c.or {
			ok, err := s.eval(input, env)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case c.not != nil:
		ok, err := c.not.eval(input, env)
		return !ok, err
	}
	r := c.rule
	v, present := lookup(c.variable, input, env)
	if c.op == "IsPresent" {
		return present == *r.IsPresent, nil
	}
	if !present {
		return false, &stateErr{Error: ErrRuntime, Cause: fmt.Sprintf("Invalid path '%s': The choice state's condition path references an invalid value.", r.Variable)}
	}
	var operand any
	if c.other != nil {
		ov, ok := lookup(c.other, input, env)
		if !ok {
			return false, &stateErr{Error: ErrRuntime, Cause: fmt.Sprintf("Invalid path '%s': The choice state's condition path references an invalid value.", c.other.src)}
		}
		operand = ov
	}
	base := strings.TrimSuffix(c.op, "Path")
	switch c.op {
	case "IsNull":
		return (v == nil) == *r.IsNull, nil
	case "IsNumeric":
		_, ok := toFloat(v)
		return ok == *r.IsNumeric, nil
	case "IsString":
		_, ok := v.(string)
		return ok == *r.IsString, nil
	case "IsBoolean":
		_, ok := v.(bool)
		return ok == *r.IsBoolean, nil
	case "IsTimestamp":
		s, ok := v.(string)
		if ok {
			_, ok = parseTimestamp(s)
		}
		return ok == *r.IsTimestamp, nil
	case "StringMatches":
		s, ok := v.(string)
		return ok && wildcardMatch(*r.StringMatches, s), nil
	case "BooleanEquals", "BooleanEqualsPath":
		b, ok := v.(bool)
		var want any = operand
		if c.other == nil {
			want = *r.BooleanEquals
		}
		wb, ok2 := want.(bool)
		return ok && ok2 && b == wb, nil
	}
	switch {
	case strings.HasPrefix(base, "String"):
		s, ok := v.(string)
		if !ok {
			return false, nil
		}
		want, ok := operand.(string)
		if c.other == nil {
			want, ok = *stringOperand(r, base), true
		}
		if !ok {
			return false, nil
		}
		return compareOrdered(strings.Compare(s, want), strings.TrimPrefix(base, "String")), nil
	case strings.HasPrefix(base, "Numeric"):
		f, ok := toFloat(v)
		if !ok {
			return false, nil
		}
		var want float64
		if c.other == nil {
			want = *numericOperand(r, base)
		} else if want, ok = toFloat(operand); !ok {
			return false, nil
		}
		return compareOrdered(cmpFloat(f, want), strings.TrimPrefix(base, "Numeric")), nil
	case strings.HasPrefix(base, "Timestamp"):
		s, ok := v.(string)
		if !ok {
			return false, nil
		}
		t, ok := parseTimestamp(s)
		if !ok {
			return false, nil
		}
		var ws string
		if c.other == nil {
			ws = *timestampOperand(r, base)
		} else if ws, ok = operand.(string); !ok {
			return false, nil
		}
		w, ok := parseTimestamp(ws)
		if !ok {
			return false, nil
		}
		return compareOrdered(t.Compare(w), strings.TrimPrefix(base, "Timestamp")), nil
	}
	return false, &stateErr{Error: ErrRuntime, Cause: "unsupported choice operator " + c.op}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func compareOrdered(cmp int, op string) bool {
	switch op {
	case "Equals":
		return cmp == 0
	case "LessThan":
		return cmp < 0
	case "GreaterThan":
		return cmp > 0
	case "LessThanEquals":
		return cmp <= 0
	case "GreaterThanEquals":
		return cmp >= 0
	}
	return false
}

func stringOperand(r *asl.ChoiceRule, op string) *string {
	switch op {
	case "StringEquals":
		return r.StringEquals
	case "StringLessThan":
		return r.StringLessThan
	case "StringGreaterThan":
		return r.StringGreaterThan
	case "StringLessThanEquals":
		return r.StringLessThanEquals
	}
	return r.StringGreaterThanEquals
}

func numericOperand(r *asl.ChoiceRule, op string) *float64 {
	switch op {
	case "NumericEquals":
		return r.NumericEquals
	case "NumericLessThan":
		return r.NumericLessThan
	case "NumericGreaterThan":
		return r.NumericGreaterThan
	case "NumericLessThanEquals":
		return r.NumericLessThanEquals
	}
	return r.NumericGreaterThanEquals
}

func timestampOperand(r *asl.ChoiceRule, op string) *string {
	switch op {
	case "TimestampEquals":
		return r.TimestampEquals
	case "TimestampLessThan":
		return r.TimestampLessThan
	case "TimestampGreaterThan":
		return r.TimestampGreaterThan
	case "TimestampLessThanEquals":
		return r.TimestampLessThanEquals
	}
	return r.TimestampGreaterThanEquals
}

// parseTimestamp parses an RFC 3339 timestamp with an uppercase T and a
// time zone, as Step Functions requires.
func parseTimestamp(s string) (time.Time, bool) {
	if !strings.Contains(s, "T") {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// wildcardMatch matches s against a StringMatches pattern where * matches
// any run of characters and \* and \\ are literal.
func wildcardMatch(pattern, s string) bool {
	type tok struct {
		star bool
		c    rune
	}
	var toks []tok
	rs := []rune(pattern)
	for i := 0; i < len(rs); i++ {
		if rs[i] == '\\' && i+1 < len(rs) {
			i++
			toks = append(toks, tok{c: rs[i]})
			continue
		}
		toks = append(toks, tok{star: rs[i] == '*', c: rs[i]})
	}
	str := []rune(s)
	// Classic greedy wildcard matching with backtracking.
	ti, si, starT, starS := 0, 0, -1, 0
	for si < len(str) {
		switch {
		case ti < len(toks) && !toks[ti].star && toks[ti].c == str[si]:
			ti++
			si++
		case ti < len(toks) && toks[ti].star:
			starT, starS = ti, si
			ti++
		case starT >= 0:
			ti = starT + 1
			starS++
			si = starS
		default:
			return false
		}
	}
	for ti < len(toks) && toks[ti].star {
		ti++
	}
	return ti == len(toks)
}

// evalObject builds an object of keys[i]: eval(fields[i]), for the
// composite nodes of both query languages' templates.
func evalObject[T any](keys []string, fields []T, eval func(T) (any, *stateErr)) (any, *stateErr) {
	out := make(map[string]any, len(keys))
	for i, k := range keys {
		v, err := eval(fields[i])
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

// evalArray builds an array of eval(items[i]).
func evalArray[T any](items []T, eval func(T) (any, *stateErr)) (any, *stateErr) {
	out := make([]any, len(items))
	for i, it := range items {
		v, err := eval(it)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}
