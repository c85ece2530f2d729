package asl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ValidationError is one structural problem in a definition. State names the
// offending state (empty for machine-level problems); Scope is the path of
// enclosing Parallel/Map states, e.g. "Fan/branch[1]".
type ValidationError struct {
	Scope string
	State string
	Msg   string
}

// Error implements error.
func (e *ValidationError) Error() string {
	var b strings.Builder
	if e.Scope != "" {
		b.WriteString(e.Scope)
		b.WriteString(": ")
	}
	if e.State != "" {
		fmt.Fprintf(&b, "state %q: ", e.State)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ValidationErrors is every problem Validate found, in a deterministic order.
type ValidationErrors []*ValidationError

// Error implements error.
func (es ValidationErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return "invalid state machine: " + strings.Join(msgs, "; ")
}

// Parse decodes an ASL definition, rejecting unknown fields, and validates
// its structure. Validation failures are returned as ValidationErrors.
func Parse(data []byte) (*StateMachine, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var sm StateMachine
	if err := dec.Decode(&sm); err != nil {
		return nil, fmt.Errorf("decode state machine: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decode state machine: trailing data after definition")
	}
	if err := sm.Validate(); err != nil {
		return nil, err
	}
	return &sm, nil
}

// Validate checks the structure of the definition: StartAt and every Next,
// Default and Catch target exist in the same scope, terminal rules, fields
// allowed per state type, Retry/Catch placement, States.ALL placement, and
// that every state is reachable. It returns ValidationErrors or nil.
func (sm *StateMachine) Validate() error {
	v := &validator{}
	if sm.QueryLanguage != "" && sm.QueryLanguage != QueryLanguageJSONPath {
		v.add("", "", fmt.Sprintf("QueryLanguage %q is not supported (only JSONPath)", sm.QueryLanguage))
	}
	if sm.TimeoutSeconds != nil && *sm.TimeoutSeconds <= 0 {
		v.add("", "", "TimeoutSeconds must be a positive integer")
	}
	v.graph("", sm.StartAt, sm.States)
	if len(v.errs) == 0 {
		return nil
	}
	return v.errs
}

type validator struct {
	errs ValidationErrors
}

func (v *validator) add(scope, state, msg string) {
	v.errs = append(v.errs, &ValidationError{Scope: scope, State: state, Msg: msg})
}

func sortedNames(states map[string]*State) []string {
	names := make([]string, 0, len(states))
	for n := range states {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (v *validator) graph(scope, startAt string, states map[string]*State) {
	if len(states) == 0 {
		v.add(scope, "", "States must contain at least one state")
		return
	}
	if startAt == "" {
		v.add(scope, "", "StartAt is required")
	} else if _, ok := states[startAt]; !ok {
		v.add(scope, "", fmt.Sprintf("StartAt %q is not a state", startAt))
	}
	names := sortedNames(states)
	for _, name := range names {
		st := states[name]
		if st == nil {
			v.add(scope, name, "state is null")
			continue
		}
		if len(name) > 80 {
			v.add(scope, name, "state name is longer than 80 characters")
		}
		v.state(scope, name, st, states)
	}
	// Reachability.
	if _, ok := states[startAt]; !ok {
		return
	}
	seen := map[string]bool{startAt: true}
	queue := []string{startAt}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		st := states[n]
		if st == nil {
			continue
		}
		for _, t := range targets(st) {
			if _, ok := states[t]; ok && !seen[t] {
				seen[t] = true
				queue = append(queue, t)
			}
		}
	}
	for _, name := range names {
		if !seen[name] {
			v.add(scope, name, "state is not reachable from StartAt")
		}
	}
}

func targets(st *State) []string {
	var out []string
	if st.Next != "" {
		out = append(out, st.Next)
	}
	if st.Default != "" {
		out = append(out, st.Default)
	}
	for _, c := range st.Choices {
		if c != nil && c.Next != "" {
			out = append(out, c.Next)
		}
	}
	for _, c := range st.Catch {
		if c != nil && c.Next != "" {
			out = append(out, c.Next)
		}
	}
	return out
}

func (v *validator) target(scope, name, field, next string, states map[string]*State) {
	if next == "" {
		v.add(scope, name, field+" is required")
		return
	}
	if _, ok := states[next]; !ok {
		v.add(scope, name, fmt.Sprintf("%s %q is not a state in this scope", field, next))
	}
}

func (v *validator) forbid(scope, name string, st *State, set map[string]bool) {
	fields := make([]string, 0, len(set))
	for f, isSet := range set {
		if isSet {
			fields = append(fields, f)
		}
	}
	sort.Strings(fields)
	for _, f := range fields {
		v.add(scope, name, fmt.Sprintf("field %s is not allowed in a %s state", f, st.Type))
	}
}

func (v *validator) state(scope, name string, st *State, states map[string]*State) {
	// Transition rules.
	switch st.Type {
	case TypeChoice, TypeSucceed, TypeFail:
		if st.Next != "" {
			v.add(scope, name, fmt.Sprintf("a %s state cannot have Next", st.Type))
		}
		if st.End {
			v.add(scope, name, fmt.Sprintf("a %s state cannot have End", st.Type))
		}
	case TypePass, TypeTask, TypeWait, TypeParallel, TypeMap:
		switch {
		case st.Next != "" && st.End:
			v.add(scope, name, "Next and End cannot both be set")
		case st.Next == "" && !st.End:
			v.add(scope, name, "one of Next or End is required")
		case st.Next != "":
			v.target(scope, name, "Next", st.Next, states)
		}
	case "":
		v.add(scope, name, "Type is required")
		return
	default:
		v.add(scope, name, fmt.Sprintf("unknown state Type %q", st.Type))
		return
	}

	// Fields allowed per type.
	notIO := map[string]bool{}
	if st.Type == TypeFail {
		notIO["InputPath"] = !st.InputPath.IsZero()
		notIO["OutputPath"] = !st.OutputPath.IsZero()
	}
	hasResult := st.Type == TypePass || st.Type == TypeTask || st.Type == TypeParallel || st.Type == TypeMap
	hasParams := hasResult
	hasSelector := st.Type == TypeTask || st.Type == TypeParallel || st.Type == TypeMap
	errHandling := hasSelector
	bad := map[string]bool{
		"Parameters":       !hasParams && len(st.Parameters) > 0,
		"ResultPath":       !hasResult && !st.ResultPath.IsZero(),
		"ResultSelector":   !hasSelector && len(st.ResultSelector) > 0,
		"Retry":            !errHandling && st.Retry != nil,
		"Catch":            !errHandling && st.Catch != nil,
		"Result":           st.Type != TypePass && len(st.Result) > 0,
		"Resource":         st.Type != TypeTask && st.Resource != "",
		"TimeoutSeconds":   st.Type != TypeTask && st.TimeoutSeconds != nil,
		"HeartbeatSeconds": st.Type != TypeTask && st.HeartbeatSeconds != nil,
		"Choices":          st.Type != TypeChoice && st.Choices != nil,
		"Default":          st.Type != TypeChoice && st.Default != "",
		"Seconds":          st.Type != TypeWait && st.Seconds != nil,
		"SecondsPath":      st.Type != TypeWait && st.SecondsPath != "",
		"Timestamp":        st.Type != TypeWait && st.Timestamp != "",
		"TimestampPath":    st.Type != TypeWait && st.TimestampPath != "",
		"Error":            st.Type != TypeFail && st.Error != "",
		"ErrorPath":        st.Type != TypeFail && st.ErrorPath != "",
		"Cause":            st.Type != TypeFail && st.Cause != "",
		"CausePath":        st.Type != TypeFail && st.CausePath != "",
		"Branches":         st.Type != TypeParallel && st.Branches != nil,
		"ItemsPath":        st.Type != TypeMap && st.ItemsPath != "",
		"ItemSelector":     st.Type != TypeMap && len(st.ItemSelector) > 0,
		"ItemProcessor":    st.Type != TypeMap && st.ItemProcessor != nil,
		"Iterator":         st.Type != TypeMap && st.Iterator != nil,
		"MaxConcurrency":   st.Type != TypeMap && st.MaxConcurrency != nil,
	}
	for k, b := range notIO {
		bad[k] = b
	}
	v.forbid(scope, name, st, bad)

	for _, raw := range []struct {
		field string
		val   json.RawMessage
	}{{"Parameters", st.Parameters}, {"ResultSelector", st.ResultSelector}, {"ItemSelector", st.ItemSelector}} {
		if len(raw.val) > 0 && !isObject(raw.val) {
			v.add(scope, name, raw.field+" must be a JSON object")
		}
	}

	switch st.Type {
	case TypeTask:
		if st.Resource == "" {
			v.add(scope, name, "Resource is required")
		}
		if st.TimeoutSeconds != nil && st.TimeoutSecondsPath != "" {
			v.add(scope, name, "TimeoutSeconds and TimeoutSecondsPath are mutually exclusive")
		}
		if st.HeartbeatSeconds != nil && st.HeartbeatSecondsPath != "" {
			v.add(scope, name, "HeartbeatSeconds and HeartbeatSecondsPath are mutually exclusive")
		}
		if st.TimeoutSeconds != nil && *st.TimeoutSeconds <= 0 {
			v.add(scope, name, "TimeoutSeconds must be a positive integer")
		}
		if st.HeartbeatSeconds != nil && *st.HeartbeatSeconds <= 0 {
			v.add(scope, name, "HeartbeatSeconds must be a positive integer")
		}
		if st.TimeoutSeconds != nil && st.HeartbeatSeconds != nil && *st.HeartbeatSeconds >= *st.TimeoutSeconds {
			v.add(scope, name, "HeartbeatSeconds must be smaller than TimeoutSeconds")
		}
	case TypeChoice:
		if len(st.Choices) == 0 {
			v.add(scope, name, "Choices must be a non-empty array")
		}
		for i, c := range st.Choices {
			v.choiceRule(scope, name, fmt.Sprintf("Choices[%d]", i), c, true, states)
		}
		if st.Default != "" {
			v.target(scope, name, "Default", st.Default, states)
		}
	case TypeWait:
		n := 0
		if st.Seconds != nil {
			n++
			if *st.Seconds < 0 {
				v.add(scope, name, "Seconds must not be negative")
			}
		}
		for _, s := range []string{st.SecondsPath, st.Timestamp, st.TimestampPath} {
			if s != "" {
				n++
			}
		}
		if n != 1 {
			v.add(scope, name, "exactly one of Seconds, SecondsPath, Timestamp, TimestampPath is required")
		}
	case TypeFail:
		if st.Error != "" && st.ErrorPath != "" {
			v.add(scope, name, "Error and ErrorPath are mutually exclusive")
		}
		if st.Cause != "" && st.CausePath != "" {
			v.add(scope, name, "Cause and CausePath are mutually exclusive")
		}
	case TypeParallel:
		if len(st.Branches) == 0 {
			v.add(scope, name, "Branches must be a non-empty array")
		}
		for i, b := range st.Branches {
			sub := joinScope(scope, fmt.Sprintf("%s/branch[%d]", name, i))
			if b == nil {
				v.add(sub, "", "branch is null")
				continue
			}
			v.graph(sub, b.StartAt, b.States)
		}
	case TypeMap:
		if st.ItemProcessor != nil && st.Iterator != nil {
			v.add(scope, name, "ItemProcessor and Iterator are mutually exclusive")
		}
		if st.MaxConcurrency != nil && *st.MaxConcurrency < 0 {
			v.add(scope, name, "MaxConcurrency must not be negative")
		}
		p := st.Processor()
		if p == nil {
			v.add(scope, name, "ItemProcessor is required")
		} else {
			if st.ItemProcessor != nil && st.ItemProcessor.ProcessorConfig != nil {
				if m := st.ItemProcessor.ProcessorConfig.Mode; m != "" && m != "INLINE" {
					v.add(scope, name, fmt.Sprintf("ProcessorConfig.Mode %q is not supported (only INLINE)", m))
				}
			}
			v.graph(joinScope(scope, name+"/processor"), p.StartAt, p.States)
		}
		if len(st.ItemReader) > 0 || len(st.ResultWriter) > 0 || len(st.ItemBatcher) > 0 {
			v.add(scope, name, "ItemReader, ItemBatcher and ResultWriter (distributed Map) are not supported")
		}
	}

	for i, r := range st.Retry {
		if r == nil {
			v.add(scope, name, fmt.Sprintf("Retry[%d] is null", i))
			continue
		}
		v.errorEquals(scope, name, fmt.Sprintf("Retry[%d]", i), r.ErrorEquals, i == len(st.Retry)-1)
		if r.IntervalSeconds != nil && *r.IntervalSeconds < 1 {
			v.add(scope, name, fmt.Sprintf("Retry[%d].IntervalSeconds must be a positive integer", i))
		}
		if r.MaxAttempts != nil && *r.MaxAttempts < 0 {
			v.add(scope, name, fmt.Sprintf("Retry[%d].MaxAttempts must not be negative", i))
		}
		if r.BackoffRate != nil && *r.BackoffRate < 1 {
			v.add(scope, name, fmt.Sprintf("Retry[%d].BackoffRate must be at least 1.0", i))
		}
		if r.MaxDelaySeconds != nil && *r.MaxDelaySeconds < 1 {
			v.add(scope, name, fmt.Sprintf("Retry[%d].MaxDelaySeconds must be a positive integer", i))
		}
		if r.JitterStrategy != "" && r.JitterStrategy != "FULL" && r.JitterStrategy != "NONE" {
			v.add(scope, name, fmt.Sprintf("Retry[%d].JitterStrategy must be FULL or NONE", i))
		}
	}
	for i, c := range st.Catch {
		if c == nil {
			v.add(scope, name, fmt.Sprintf("Catch[%d] is null", i))
			continue
		}
		v.errorEquals(scope, name, fmt.Sprintf("Catch[%d]", i), c.ErrorEquals, i == len(st.Catch)-1)
		v.target(scope, name, fmt.Sprintf("Catch[%d].Next", i), c.Next, states)
	}
}

func (v *validator) errorEquals(scope, name, where string, errs []string, last bool) {
	if len(errs) == 0 {
		v.add(scope, name, where+".ErrorEquals must be a non-empty array")
		return
	}
	for _, e := range errs {
		if e == "States.ALL" && (len(errs) != 1 || !last) {
			v.add(scope, name, where+": States.ALL must appear alone in the last element's ErrorEquals")
		}
	}
}

func (v *validator) choiceRule(scope, name, where string, c *ChoiceRule, top bool, states map[string]*State) {
	if c == nil {
		v.add(scope, name, where+" is null")
		return
	}
	if top {
		v.target(scope, name, where+".Next", c.Next, states)
	} else if c.Next != "" {
		v.add(scope, name, where+": a nested rule cannot have Next")
	}
	ops := c.Operators()
	boolOps := 0
	if c.And != nil {
		boolOps++
	}
	if c.Or != nil {
		boolOps++
	}
	if c.Not != nil {
		boolOps++
	}
	switch {
	case boolOps+len(ops) == 0:
		v.add(scope, name, where+": no comparison operator")
	case boolOps+len(ops) > 1:
		v.add(scope, name, where+": more than one comparison operator")
	case boolOps == 1:
		if c.Variable != "" {
			v.add(scope, name, where+": And/Or/Not cannot have Variable")
		}
		if c.And != nil && len(c.And) == 0 || c.Or != nil && len(c.Or) == 0 {
			v.add(scope, name, where+": And/Or must be a non-empty array")
		}
		for i, s := range c.And {
			v.choiceRule(scope, name, fmt.Sprintf("%s.And[%d]", where, i), s, false, states)
		}
		for i, s := range c.Or {
			v.choiceRule(scope, name, fmt.Sprintf("%s.Or[%d]", where, i), s, false, states)
		}
		if c.Not != nil {
			v.choiceRule(scope, name, where+".Not", c.Not, false, states)
		}
	default:
		if c.Variable == "" {
			v.add(scope, name, where+": Variable is required")
		}
	}
}

// Operators returns the names of the comparison operators set on the rule
// (excluding And, Or, Not), in declaration order.
func (c *ChoiceRule) Operators() []string {
	var out []string
	add := func(name string, set bool) {
		if set {
			out = append(out, name)
		}
	}
	add("StringEquals", c.StringEquals != nil)
	add("StringEqualsPath", c.StringEqualsPath != "")
	add("StringLessThan", c.StringLessThan != nil)
	add("StringLessThanPath", c.StringLessThanPath != "")
	add("StringGreaterThan", c.StringGreaterThan != nil)
	add("StringGreaterThanPath", c.StringGreaterThanPath != "")
	add("StringLessThanEquals", c.StringLessThanEquals != nil)
	add("StringLessThanEqualsPath", c.StringLessThanEqualsPath != "")
	add("StringGreaterThanEquals", c.StringGreaterThanEquals != nil)
	add("StringGreaterThanEqualsPath", c.StringGreaterThanEqualsPath != "")
	add("StringMatches", c.StringMatches != nil)
	add("NumericEquals", c.NumericEquals != nil)
	add("NumericEqualsPath", c.NumericEqualsPath != "")
	add("NumericLessThan", c.NumericLessThan != nil)
	add("NumericLessThanPath", c.NumericLessThanPath != "")
	add("NumericGreaterThan", c.NumericGreaterThan != nil)
	add("NumericGreaterThanPath", c.NumericGreaterThanPath != "")
	add("NumericLessThanEquals", c.NumericLessThanEquals != nil)
	add("NumericLessThanEqualsPath", c.NumericLessThanEqualsPath != "")
	add("NumericGreaterThanEquals", c.NumericGreaterThanEquals != nil)
	add("NumericGreaterThanEqualsPath", c.NumericGreaterThanEqualsPath != "")
	add("BooleanEquals", c.BooleanEquals != nil)
	add("BooleanEqualsPath", c.BooleanEqualsPath != "")
	add("TimestampEquals", c.TimestampEquals != nil)
	add("TimestampEqualsPath", c.TimestampEqualsPath != "")
	add("TimestampLessThan", c.TimestampLessThan != nil)
	add("TimestampLessThanPath", c.TimestampLessThanPath != "")
	add("TimestampGreaterThan", c.TimestampGreaterThan != nil)
	add("TimestampGreaterThanPath", c.TimestampGreaterThanPath != "")
	add("TimestampLessThanEquals", c.TimestampLessThanEquals != nil)
	add("TimestampLessThanEqualsPath", c.TimestampLessThanEqualsPath != "")
	add("TimestampGreaterThanEquals", c.TimestampGreaterThanEquals != nil)
	add("TimestampGreaterThanEqualsPath", c.TimestampGreaterThanEqualsPath != "")
	add("IsNull", c.IsNull != nil)
	add("IsPresent", c.IsPresent != nil)
	add("IsNumeric", c.IsNumeric != nil)
	add("IsString", c.IsString != nil)
	add("IsBoolean", c.IsBoolean != nil)
	add("IsTimestamp", c.IsTimestamp != nil)
	return out
}

func joinScope(scope, s string) string {
	if scope == "" {
		return s
	}
	return scope + "/" + s
}

func isObject(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && t[0] == '{'
}
