package asl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
)

// Diagnostic codes, as ValidateStateMachineDefinition reports them.
const (
	CodeInvalidJSON       = "INVALID_JSON_DESCRIPTION"
	CodeSchema            = "SCHEMA_VALIDATION_FAILED"
	CodeMissingTarget     = "MISSING_TRANSITION_TARGET"
	CodeUnreachable       = "UNREACHABLE_STATE"
	CodeInvalidQuery      = "INVALID_QUERY_LANGUAGE_FIELD"
	CodeInvalidVariable   = "INVALID_VARIABLE"
	CodeInvalidExpression = "INVALID_JSONATA_EXPRESSION"
	CodeInvalidPath       = "INVALID_JSON_PATH"
)

// ValidationError is one problem in a definition. State names the
// offending state (empty for machine-level problems); Scope is the path of
// enclosing Parallel/Map states, e.g. "Fan/branch[1]". Code and Location
// are what ValidateStateMachineDefinition reports: a diagnostic code and a
// JSON pointer into the definition such as /States/Fan/Branches/1/States/A/Next.
type ValidationError struct {
	Scope    string
	State    string
	Msg      string
	Code     string
	Location string
	// Warning marks a diagnostic that does not prevent creating the
	// state machine.
	Warning bool
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
	msgs := make([]string, 0, len(es))
	for _, e := range es {
		if !e.Warning {
			msgs = append(msgs, e.Error())
		}
	}
	return "invalid state machine: " + strings.Join(msgs, "; ")
}

// Errors returns the diagnostics that are errors (not warnings), or nil.
func (es ValidationErrors) Errors() ValidationErrors {
	var out ValidationErrors
	for _, e := range es {
		if !e.Warning {
			out = append(out, e)
		}
	}
	return out
}

// Parse decodes an ASL definition and validates its structure. Problems
// (unknown fields included) are returned as ValidationErrors.
func Parse(data []byte) (*StateMachine, error) {
	sm, diags := Check(data)
	if errs := diags.Errors(); len(errs) > 0 {
		return nil, errs
	}
	return sm, nil
}

// Check decodes and validates a definition and returns every diagnostic,
// warnings included. The machine is nil when the definition could not be
// decoded.
func Check(data []byte) (*StateMachine, ValidationErrors) {
	var raw any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, ValidationErrors{{Msg: "the definition is not valid JSON: " + err.Error(), Code: CodeInvalidJSON}}
	}
	if dec.More() {
		return nil, ValidationErrors{{Msg: "the definition is not valid JSON: trailing data after the definition", Code: CodeInvalidJSON}}
	}
	top, ok := raw.(map[string]any)
	if !ok {
		return nil, ValidationErrors{{Msg: "the definition must be a JSON object", Code: CodeSchema}}
	}
	v := &validator{}
	v.unknownFields(top, machineType, "")
	if len(v.errs) > 0 {
		return nil, v.errs
	}
	var sm StateMachine
	if err := json.Unmarshal(data, &sm); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			v.errs = append(v.errs, &ValidationError{Msg: fmt.Sprintf("field %s must be %s, got %s", lastField(te.Field), kindName(te.Type), te.Value),
				Code: CodeSchema, Location: "/" + strings.ReplaceAll(te.Field, ".", "/")})
		} else {
			v.errs = append(v.errs, &ValidationError{Msg: "decode state machine: " + err.Error(), Code: CodeSchema})
		}
		return nil, v.errs
	}
	v.machine(&sm)
	return &sm, v.errs
}

func lastField(f string) string {
	if i := strings.LastIndexByte(f, '.'); i >= 0 {
		return f[i+1:]
	}
	return f
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

// Validate checks the structure of the definition: StartAt and every Next,
// Default and Catch target exist in the same scope, terminal rules, fields
// allowed per state type and query language, Retry/Catch placement,
// States.ALL placement, Assign variable names, and that every state is
// reachable. It returns ValidationErrors or nil.
func (sm *StateMachine) Validate() error {
	v := &validator{}
	v.machine(sm)
	if errs := v.errs.Errors(); len(errs) > 0 {
		return errs
	}
	return nil
}

type validator struct {
	errs ValidationErrors
	ql   string // the machine's query language
}

func (v *validator) machine(sm *StateMachine) {
	v.ql = QueryLanguageJSONPath
	switch sm.QueryLanguage {
	case "", QueryLanguageJSONPath:
	case QueryLanguageJSONata:
		v.ql = QueryLanguageJSONata
	default:
		v.errs = append(v.errs, &ValidationError{Msg: fmt.Sprintf("QueryLanguage %q is not supported (JSONPath or JSONata)", sm.QueryLanguage),
			Code: CodeSchema, Location: "/QueryLanguage"})
	}
	if sm.TimeoutSeconds != nil && *sm.TimeoutSeconds <= 0 {
		v.errs = append(v.errs, &ValidationError{Msg: "TimeoutSeconds must be a positive integer", Code: CodeSchema, Location: "/TimeoutSeconds"})
	}
	v.graph("", "", sm.StartAt, sm.States)
}

// at records a problem at loc (a JSON pointer) in scope/state.
func (v *validator) at(code, loc, scope, state, msg string) {
	v.errs = append(v.errs, &ValidationError{Scope: scope, State: state, Msg: msg, Code: code, Location: loc})
}

func sortedNames(states map[string]*State) []string {
	names := make([]string, 0, len(states))
	for n := range states {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// graph validates the states of one scope; base is the scope's location
// ("" for the top level, "/States/P/Branches/0" for a branch).
func (v *validator) graph(base, scope, startAt string, states map[string]*State) {
	if len(states) == 0 {
		v.at(CodeSchema, base+"/States", scope, "", "States must contain at least one state")
		return
	}
	if startAt == "" {
		v.at(CodeSchema, base+"/StartAt", scope, "", "StartAt is required")
	} else if _, ok := states[startAt]; !ok {
		v.at(CodeMissingTarget, base+"/StartAt", scope, "", fmt.Sprintf("StartAt %q is not a state", startAt))
	}
	names := sortedNames(states)
	for _, name := range names {
		st := states[name]
		loc := base + "/States/" + escapePointer(name)
		if st == nil {
			v.at(CodeSchema, loc, scope, name, "state is null")
			continue
		}
		if len(name) > 80 {
			v.at(CodeSchema, loc, scope, name, "state name is longer than 80 characters")
		}
		v.state(loc, scope, name, st, states)
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
			v.at(CodeUnreachable, base+"/States/"+escapePointer(name), scope, name, "state is not reachable from StartAt")
		}
	}
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
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

func (v *validator) target(loc, scope, name, field, next string, states map[string]*State) {
	if next == "" {
		v.at(CodeSchema, loc, scope, name, field+" is required")
		return
	}
	if _, ok := states[next]; !ok {
		v.at(CodeMissingTarget, loc, scope, name, fmt.Sprintf("%s %q is not a state in this scope", field, next))
	}
}

func (v *validator) forbid(loc, scope, name string, st *State, set map[string]bool) {
	fields := make([]string, 0, len(set))
	for f, isSet := range set {
		if isSet {
			fields = append(fields, f)
		}
	}
	sort.Strings(fields)
	for _, f := range fields {
		v.at(CodeSchema, loc+"/"+f, scope, name, fmt.Sprintf("field %s is not allowed in a %s state", f, st.Type))
	}
}

// jsonataReplacement names the JSONata field that replaces a JSONPath one.
var jsonataReplacement = map[string]string{
	"InputPath": "Arguments or Output", "Parameters": "Arguments", "ResultSelector": "Output", "ResultPath": "Output or Assign",
	"OutputPath": "Output", "Result": "Output", "ItemsPath": "Items", "SecondsPath": "Seconds", "TimestampPath": "Timestamp",
	"TimeoutSecondsPath": "TimeoutSeconds", "HeartbeatSecondsPath": "HeartbeatSeconds", "MaxConcurrencyPath": "MaxConcurrency",
	"ErrorPath": "Error", "CausePath": "Cause", "ToleratedFailureCountPath": "ToleratedFailureCount",
	"ToleratedFailurePercentagePath": "ToleratedFailurePercentage", "Iterator": "ItemProcessor",
}

// queryLanguage returns the state's effective query language, reporting a
// state that sets an unsupported one.
func (v *validator) queryLanguage(loc, scope, name string, st *State) string {
	switch st.QueryLanguage {
	case "":
		return v.ql
	case QueryLanguageJSONata:
		return QueryLanguageJSONata
	case QueryLanguageJSONPath:
		if v.ql == QueryLanguageJSONata {
			v.at(CodeInvalidQuery, loc+"/QueryLanguage", scope, name, "a state cannot use JSONPath when the state machine's QueryLanguage is JSONata")
		}
		return QueryLanguageJSONPath
	}
	v.at(CodeSchema, loc+"/QueryLanguage", scope, name, fmt.Sprintf("QueryLanguage %q is not supported (JSONPath or JSONata)", st.QueryLanguage))
	return v.ql
}

func (v *validator) state(loc, scope, name string, st *State, states map[string]*State) {
	// Transition rules.
	switch st.Type {
	case TypeChoice, TypeSucceed, TypeFail:
		if st.Next != "" {
			v.at(CodeSchema, loc+"/Next", scope, name, fmt.Sprintf("a %s state cannot have Next", st.Type))
		}
		if st.End {
			v.at(CodeSchema, loc+"/End", scope, name, fmt.Sprintf("a %s state cannot have End", st.Type))
		}
	case TypePass, TypeTask, TypeWait, TypeParallel, TypeMap:
		switch {
		case st.Next != "" && st.End:
			v.at(CodeSchema, loc, scope, name, "Next and End cannot both be set")
		case st.Next == "" && !st.End:
			v.at(CodeSchema, loc, scope, name, "one of Next or End is required")
		case st.Next != "":
			v.target(loc+"/Next", scope, name, "Next", st.Next, states)
		}
	case "":
		v.at(CodeSchema, loc+"/Type", scope, name, "Type is required")
		return
	default:
		v.at(CodeSchema, loc+"/Type", scope, name, fmt.Sprintf("unknown state Type %q", st.Type))
		return
	}
	ql := v.queryLanguage(loc, scope, name, st)
	jsonata := ql == QueryLanguageJSONata

	// Fields allowed per type.
	hasResult := st.Type == TypePass || st.Type == TypeTask || st.Type == TypeParallel || st.Type == TypeMap
	hasParams := hasResult
	hasSelector := st.Type == TypeTask || st.Type == TypeParallel || st.Type == TypeMap
	errHandling := hasSelector
	expr := func(field string) bool { _, ok := st.Exprs[field]; return ok }
	bad := map[string]bool{
		"InputPath":        st.Type == TypeFail && !st.InputPath.IsZero(),
		"OutputPath":       st.Type == TypeFail && !st.OutputPath.IsZero(),
		"Parameters":       !hasParams && len(st.Parameters) > 0,
		"ResultPath":       !hasResult && !st.ResultPath.IsZero(),
		"ResultSelector":   !hasSelector && len(st.ResultSelector) > 0,
		"Retry":            !errHandling && st.Retry != nil,
		"Catch":            !errHandling && st.Catch != nil,
		"Result":           st.Type != TypePass && len(st.Result) > 0,
		"Resource":         st.Type != TypeTask && st.Resource != "",
		"TimeoutSeconds":   st.Type != TypeTask && (st.TimeoutSeconds != nil || expr("TimeoutSeconds")),
		"HeartbeatSeconds": st.Type != TypeTask && (st.HeartbeatSeconds != nil || expr("HeartbeatSeconds")),
		"Choices":          st.Type != TypeChoice && st.Choices != nil,
		"Default":          st.Type != TypeChoice && st.Default != "",
		"Seconds":          st.Type != TypeWait && (st.Seconds != nil || expr("Seconds")),
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
		"MaxConcurrency":   st.Type != TypeMap && (st.MaxConcurrency != nil || expr("MaxConcurrency")),
		"Arguments":        st.Type != TypeTask && st.Type != TypeParallel && len(st.Arguments) > 0,
		"Output":           st.Type == TypeFail && len(st.Output) > 0,
		"Items":            st.Type != TypeMap && len(st.Items) > 0,
		"Assign":           (st.Type == TypeSucceed || st.Type == TypeFail) && len(st.Assign) > 0,
	}
	v.forbid(loc, scope, name, st, bad)

	// Fields of the other query language.
	if jsonata {
		set := map[string]bool{
			"InputPath": !st.InputPath.IsZero(), "Parameters": len(st.Parameters) > 0, "ResultSelector": len(st.ResultSelector) > 0,
			"ResultPath": !st.ResultPath.IsZero(), "OutputPath": !st.OutputPath.IsZero(), "Result": len(st.Result) > 0,
			"ItemsPath": st.ItemsPath != "", "SecondsPath": st.SecondsPath != "", "TimestampPath": st.TimestampPath != "",
			"TimeoutSecondsPath": st.TimeoutSecondsPath != "", "HeartbeatSecondsPath": st.HeartbeatSecondsPath != "",
			"MaxConcurrencyPath": st.MaxConcurrencyPath != "", "ErrorPath": st.ErrorPath != "", "CausePath": st.CausePath != "",
			"ToleratedFailureCountPath": st.ToleratedFailureCountPath != "", "ToleratedFailurePercentagePath": st.ToleratedFailurePercentagePath != "",
			"Iterator": st.Iterator != nil,
		}
		for _, f := range sortedKeys(set) {
			if set[f] {
				v.at(CodeInvalidQuery, loc+"/"+f, scope, name, fmt.Sprintf("field %s is not supported in JSONata states; use %s", f, jsonataReplacement[f]))
			}
		}
	} else {
		set := map[string]bool{"Arguments": len(st.Arguments) > 0, "Output": len(st.Output) > 0, "Items": len(st.Items) > 0}
		for f := range st.Exprs {
			set[f] = true
		}
		for _, f := range sortedKeys(set) {
			if set[f] {
				msg := fmt.Sprintf("field %s is only supported in JSONata states (set QueryLanguage to JSONata)", f)
				if _, isNum := st.Exprs[f]; isNum {
					msg = fmt.Sprintf("field %s must be a number in JSONPath states (expressions need QueryLanguage JSONata)", f)
				}
				v.at(CodeInvalidQuery, loc+"/"+f, scope, name, msg)
			}
		}
	}
	for f, e := range st.Exprs {
		if !IsJSONata(e) {
			v.at(CodeSchema, loc+"/"+f, scope, name, fmt.Sprintf("field %s must be a number or a JSONata expression {%% ... %%}", f))
		}
	}

	for _, raw := range []struct {
		field string
		val   json.RawMessage
	}{{"Parameters", st.Parameters}, {"ResultSelector", st.ResultSelector}, {"ItemSelector", st.ItemSelector}} {
		if len(raw.val) > 0 && !isObject(raw.val) && !(jsonata && raw.field == "ItemSelector" && isExprString(raw.val)) {
			v.at(CodeSchema, loc+"/"+raw.field, scope, name, raw.field+" must be a JSON object")
		}
	}
	if len(st.Assign) > 0 {
		v.assign(loc+"/Assign", scope, name, st.Assign, jsonata)
	}
	if len(st.Items) > 0 && !isExprString(st.Items) && !isArray(st.Items) {
		v.at(CodeSchema, loc+"/Items", scope, name, "Items must be a JSON array or a JSONata expression")
	}

	switch st.Type {
	case TypeTask:
		if st.Resource == "" {
			v.at(CodeSchema, loc+"/Resource", scope, name, "Resource is required")
		}
		if (st.TimeoutSeconds != nil || expr("TimeoutSeconds")) && st.TimeoutSecondsPath != "" {
			v.at(CodeSchema, loc+"/TimeoutSeconds", scope, name, "TimeoutSeconds and TimeoutSecondsPath are mutually exclusive")
		}
		if (st.HeartbeatSeconds != nil || expr("HeartbeatSeconds")) && st.HeartbeatSecondsPath != "" {
			v.at(CodeSchema, loc+"/HeartbeatSeconds", scope, name, "HeartbeatSeconds and HeartbeatSecondsPath are mutually exclusive")
		}
		if st.TimeoutSeconds != nil && *st.TimeoutSeconds <= 0 {
			v.at(CodeSchema, loc+"/TimeoutSeconds", scope, name, "TimeoutSeconds must be a positive integer")
		}
		if st.HeartbeatSeconds != nil && *st.HeartbeatSeconds <= 0 {
			v.at(CodeSchema, loc+"/HeartbeatSeconds", scope, name, "HeartbeatSeconds must be a positive integer")
		}
		if st.TimeoutSeconds != nil && st.HeartbeatSeconds != nil && *st.HeartbeatSeconds >= *st.TimeoutSeconds {
			v.at(CodeSchema, loc+"/HeartbeatSeconds", scope, name, "HeartbeatSeconds must be smaller than TimeoutSeconds")
		}
	case TypeChoice:
		if len(st.Choices) == 0 {
			v.at(CodeSchema, loc+"/Choices", scope, name, "Choices must be a non-empty array")
		}
		for i, c := range st.Choices {
			v.choiceRule(fmt.Sprintf("%s/Choices/%d", loc, i), scope, name, fmt.Sprintf("Choices[%d]", i), c, true, states, jsonata)
		}
		if st.Default != "" {
			v.target(loc+"/Default", scope, name, "Default", st.Default, states)
		}
	case TypeWait:
		n := 0
		if st.Seconds != nil || expr("Seconds") {
			n++
			if st.Seconds != nil && *st.Seconds < 0 {
				v.at(CodeSchema, loc+"/Seconds", scope, name, "Seconds must not be negative")
			}
		}
		for _, s := range []string{st.SecondsPath, st.Timestamp, st.TimestampPath} {
			if s != "" {
				n++
			}
		}
		if n != 1 {
			v.at(CodeSchema, loc, scope, name, "exactly one of Seconds, SecondsPath, Timestamp, TimestampPath is required")
		}
	case TypeFail:
		if st.Error != "" && st.ErrorPath != "" {
			v.at(CodeSchema, loc+"/Error", scope, name, "Error and ErrorPath are mutually exclusive")
		}
		if st.Cause != "" && st.CausePath != "" {
			v.at(CodeSchema, loc+"/Cause", scope, name, "Cause and CausePath are mutually exclusive")
		}
	case TypeParallel:
		if len(st.Branches) == 0 {
			v.at(CodeSchema, loc+"/Branches", scope, name, "Branches must be a non-empty array")
		}
		for i, b := range st.Branches {
			sub := joinScope(scope, fmt.Sprintf("%s/branch[%d]", name, i))
			bloc := fmt.Sprintf("%s/Branches/%d", loc, i)
			if b == nil {
				v.at(CodeSchema, bloc, sub, "", "branch is null")
				continue
			}
			v.graph(bloc, sub, b.StartAt, b.States)
		}
	case TypeMap:
		if st.ItemProcessor != nil && st.Iterator != nil {
			v.at(CodeSchema, loc+"/Iterator", scope, name, "ItemProcessor and Iterator are mutually exclusive")
		}
		if st.MaxConcurrency != nil && *st.MaxConcurrency < 0 {
			v.at(CodeSchema, loc+"/MaxConcurrency", scope, name, "MaxConcurrency must not be negative")
		}
		p := st.Processor()
		if p == nil {
			v.at(CodeSchema, loc+"/ItemProcessor", scope, name, "ItemProcessor is required")
		} else {
			ploc := loc + "/ItemProcessor"
			if st.Iterator != nil {
				ploc = loc + "/Iterator"
			}
			if st.ItemProcessor != nil && st.ItemProcessor.ProcessorConfig != nil {
				if m := st.ItemProcessor.ProcessorConfig.Mode; m != "" && m != "INLINE" {
					v.at(CodeSchema, ploc+"/ProcessorConfig/Mode", scope, name, fmt.Sprintf("ProcessorConfig.Mode %q is not supported (only INLINE)", m))
				}
			}
			v.graph(ploc, joinScope(scope, name+"/processor"), p.StartAt, p.States)
		}
		if len(st.ItemReader) > 0 || len(st.ResultWriter) > 0 || len(st.ItemBatcher) > 0 {
			v.at(CodeSchema, loc, scope, name, "ItemReader, ItemBatcher and ResultWriter (distributed Map) are not supported")
		}
	}

	for i, r := range st.Retry {
		rloc := fmt.Sprintf("%s/Retry/%d", loc, i)
		if r == nil {
			v.at(CodeSchema, rloc, scope, name, fmt.Sprintf("Retry[%d] is null", i))
			continue
		}
		v.errorEquals(rloc, scope, name, fmt.Sprintf("Retry[%d]", i), r.ErrorEquals, i == len(st.Retry)-1)
		if r.IntervalSeconds != nil && *r.IntervalSeconds < 1 {
			v.at(CodeSchema, rloc+"/IntervalSeconds", scope, name, fmt.Sprintf("Retry[%d].IntervalSeconds must be a positive integer", i))
		}
		if r.MaxAttempts != nil && *r.MaxAttempts < 0 {
			v.at(CodeSchema, rloc+"/MaxAttempts", scope, name, fmt.Sprintf("Retry[%d].MaxAttempts must not be negative", i))
		}
		if r.BackoffRate != nil && *r.BackoffRate < 1 {
			v.at(CodeSchema, rloc+"/BackoffRate", scope, name, fmt.Sprintf("Retry[%d].BackoffRate must be at least 1.0", i))
		}
		if r.MaxDelaySeconds != nil && *r.MaxDelaySeconds < 1 {
			v.at(CodeSchema, rloc+"/MaxDelaySeconds", scope, name, fmt.Sprintf("Retry[%d].MaxDelaySeconds must be a positive integer", i))
		}
		if r.JitterStrategy != "" && r.JitterStrategy != "FULL" && r.JitterStrategy != "NONE" {
			v.at(CodeSchema, rloc+"/JitterStrategy", scope, name, fmt.Sprintf("Retry[%d].JitterStrategy must be FULL or NONE", i))
		}
	}
	for i, c := range st.Catch {
		cloc := fmt.Sprintf("%s/Catch/%d", loc, i)
		if c == nil {
			v.at(CodeSchema, cloc, scope, name, fmt.Sprintf("Catch[%d] is null", i))
			continue
		}
		v.errorEquals(cloc, scope, name, fmt.Sprintf("Catch[%d]", i), c.ErrorEquals, i == len(st.Catch)-1)
		v.target(cloc+"/Next", scope, name, fmt.Sprintf("Catch[%d].Next", i), c.Next, states)
		if jsonata && !c.ResultPath.IsZero() {
			v.at(CodeInvalidQuery, cloc+"/ResultPath", scope, name, fmt.Sprintf("Catch[%d]: field ResultPath is not supported in JSONata states; use Output", i))
		}
		if !jsonata && len(c.Output) > 0 {
			v.at(CodeInvalidQuery, cloc+"/Output", scope, name, fmt.Sprintf("Catch[%d]: field Output is only supported in JSONata states", i))
		}
		if len(c.Assign) > 0 {
			v.assign(cloc+"/Assign", scope, name, c.Assign, jsonata)
		}
	}
}

// variableName is the syntax of a variable name (as a JSONata variable
// without its $).
var variableName = regexp.MustCompile(`^[\p{L}_][\p{L}\p{N}_]*$`)

// MaxVariableNameLength bounds variable names.
const MaxVariableNameLength = 80

// AssignNames returns the variable names an Assign object sets: its keys,
// without the ".$" suffix in JSONPath states.
func AssignNames(raw json.RawMessage, jsonata bool) []string {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	names := make([]string, 0, len(m))
	for k := range m {
		if !jsonata {
			k = strings.TrimSuffix(k, ".$")
		}
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func (v *validator) assign(loc, scope, name string, raw json.RawMessage, jsonata bool) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		v.at(CodeSchema, loc, scope, name, "Assign must be a JSON object")
		return
	}
	seen := map[string]string{}
	for _, k := range sortedKeys(m) {
		varName := k
		if !jsonata {
			varName = strings.TrimSuffix(k, ".$")
		}
		switch {
		case varName == "states":
			v.at(CodeInvalidVariable, loc+"/"+escapePointer(k), scope, name, "states is a reserved variable name ($states)")
		case len(varName) > MaxVariableNameLength:
			v.at(CodeInvalidVariable, loc+"/"+escapePointer(k), scope, name, fmt.Sprintf("variable name %q is longer than %d characters", varName, MaxVariableNameLength))
		case !variableName.MatchString(varName):
			v.at(CodeInvalidVariable, loc+"/"+escapePointer(k), scope, name, fmt.Sprintf("%q is not a valid variable name (a letter or _, then letters, digits or _)", varName))
		}
		if other, dup := seen[varName]; dup {
			v.at(CodeInvalidVariable, loc+"/"+escapePointer(k), scope, name, fmt.Sprintf("variable %s is assigned twice (%q and %q)", varName, other, k))
		}
		seen[varName] = k
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (v *validator) errorEquals(loc, scope, name, where string, errs []string, last bool) {
	if len(errs) == 0 {
		v.at(CodeSchema, loc+"/ErrorEquals", scope, name, where+".ErrorEquals must be a non-empty array")
		return
	}
	for _, e := range errs {
		if e == "States.ALL" && (len(errs) != 1 || !last) {
			v.at(CodeSchema, loc+"/ErrorEquals", scope, name, where+": States.ALL must appear alone in the last element's ErrorEquals")
		}
	}
}

func (v *validator) choiceRule(loc, scope, name, where string, c *ChoiceRule, top bool, states map[string]*State, jsonata bool) {
	if c == nil {
		v.at(CodeSchema, loc, scope, name, where+" is null")
		return
	}
	if top {
		v.target(loc+"/Next", scope, name, where+".Next", c.Next, states)
		if len(c.Assign) > 0 {
			v.assign(loc+"/Assign", scope, name, c.Assign, jsonata)
		}
	} else if c.Next != "" {
		v.at(CodeSchema, loc+"/Next", scope, name, where+": a nested rule cannot have Next")
	}
	ops := c.Operators()
	if jsonata {
		if len(c.Condition) == 0 {
			v.at(CodeSchema, loc+"/Condition", scope, name, where+": Condition is required in JSONata states")
		} else if !isExprString(c.Condition) && !isBool(c.Condition) {
			v.at(CodeSchema, loc+"/Condition", scope, name, where+": Condition must be a JSONata expression {% ... %} or a boolean")
		}
		if c.Variable != "" || len(ops) > 0 || c.And != nil || c.Or != nil || c.Not != nil {
			v.at(CodeInvalidQuery, loc, scope, name, where+": Variable, comparison operators, And, Or and Not are not supported in JSONata states; use Condition")
		}
		return
	}
	if len(c.Condition) > 0 {
		v.at(CodeInvalidQuery, loc+"/Condition", scope, name, where+": Condition is only supported in JSONata states")
	}
	if len(c.Output) > 0 {
		v.at(CodeInvalidQuery, loc+"/Output", scope, name, where+": Output is only supported in JSONata states")
	}
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
		v.at(CodeSchema, loc, scope, name, where+": no comparison operator")
	case boolOps+len(ops) > 1:
		v.at(CodeSchema, loc, scope, name, where+": more than one comparison operator")
	case boolOps == 1:
		if c.Variable != "" {
			v.at(CodeSchema, loc+"/Variable", scope, name, where+": And/Or/Not cannot have Variable")
		}
		if c.And != nil && len(c.And) == 0 || c.Or != nil && len(c.Or) == 0 {
			v.at(CodeSchema, loc, scope, name, where+": And/Or must be a non-empty array")
		}
		for i, s := range c.And {
			v.choiceRule(fmt.Sprintf("%s/And/%d", loc, i), scope, name, fmt.Sprintf("%s.And[%d]", where, i), s, false, states, false)
		}
		for i, s := range c.Or {
			v.choiceRule(fmt.Sprintf("%s/Or/%d", loc, i), scope, name, fmt.Sprintf("%s.Or[%d]", where, i), s, false, states, false)
		}
		if c.Not != nil {
			v.choiceRule(loc+"/Not", scope, name, where+".Not", c.Not, false, states, false)
		}
	default:
		if c.Variable == "" {
			v.at(CodeSchema, loc+"/Variable", scope, name, where+": Variable is required")
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

func isArray(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && t[0] == '['
}

func isBool(raw json.RawMessage) bool {
	t := string(bytes.TrimSpace(raw))
	return t == "true" || t == "false"
}

func isExprString(raw json.RawMessage) bool {
	var s string
	return json.Unmarshal(raw, &s) == nil && IsJSONata(s)
}

// Object kinds for the unknown-field check.
type objectKind int

const (
	machineType objectKind = iota
	stateType
	branchType
	processorType
	processorConfigType
	retrierType
	catcherType
	choiceRuleType
)

// fieldSets maps each object kind's field names to the JSON kind they
// hold: "string", "boolean", "number", "array", "object", "path" (string
// or null), "numberOrString" or "" (any).
var fieldSets = map[objectKind]map[string]string{
	machineType:         jsonFields(reflect.TypeOf(StateMachine{})),
	stateType:           jsonFields(reflect.TypeOf(State{})),
	branchType:          {"Comment": "string", "StartAt": "string", "States": "object"},
	processorType:       jsonFields(reflect.TypeOf(ItemProcessor{})),
	processorConfigType: jsonFields(reflect.TypeOf(ProcessorConfig{})),
	retrierType:         jsonFields(reflect.TypeOf(Retrier{})),
	catcherType:         jsonFields(reflect.TypeOf(Catcher{})),
	choiceRuleType:      jsonFields(reflect.TypeOf(ChoiceRule{})),
}

var pathType = reflect.TypeOf(Path{})

func jsonFields(t reflect.Type) map[string]string {
	out := map[string]string{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "" || name == "-" {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		kind := ""
		switch {
		case ft == pathType:
			kind = "path"
		case ft == reflect.TypeOf(json.RawMessage{}):
			kind = ""
		case ft.Kind() == reflect.String:
			kind = "string"
		case ft.Kind() == reflect.Bool:
			kind = "boolean"
		case ft.Kind() == reflect.Int || ft.Kind() == reflect.Float64:
			kind = "number"
		case ft.Kind() == reflect.Slice:
			kind = "array"
		case ft.Kind() == reflect.Map || ft.Kind() == reflect.Struct:
			kind = "object"
		}
		out[name] = kind
	}
	if t == reflect.TypeOf(State{}) {
		for _, f := range numericFields {
			out[f] = "numberOrString"
		}
	}
	return out
}

// jsonKind names the JSON kind of a decoded value.
func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	case nil:
		return "null"
	}
	return "unknown"
}

func kindAllowed(want string, v any) bool {
	got := jsonKind(v)
	switch want {
	case "":
		return true
	case "path":
		return got == "string" || got == "null"
	case "numberOrString":
		return got == "number" || got == "string"
	case "number":
		if got != "number" {
			return false
		}
		// Integer fields reject fractions; Go's decoder would too.
		return true
	}
	return got == want
}

// unknownFields reports object keys the Amazon States Language does not
// define, walking the decoded definition.
func (v *validator) unknownFields(obj map[string]any, kind objectKind, loc string) {
	known := fieldSets[kind]
	for _, k := range sortedKeys(obj) {
		want, ok := known[k]
		if !ok {
			v.at(CodeSchema, loc+"/"+escapePointer(k), "", "", fmt.Sprintf("%s: field %q is not supported", locOrRoot(loc), k))
			continue
		}
		child := obj[k]
		childLoc := loc + "/" + escapePointer(k)
		if !kindAllowed(want, child) {
			what := want
			switch want {
			case "path":
				what = "string or null"
			case "numberOrString":
				what = "number"
			}
			v.at(CodeSchema, childLoc, "", "", fmt.Sprintf("%s: field %s must be a %s, got %s", locOrRoot(loc), k, what, jsonKind(child)))
			continue
		}
		switch {
		case k == "States" && (kind == machineType || kind == branchType || kind == processorType):
			if states, ok := child.(map[string]any); ok {
				for _, name := range sortedKeys(states) {
					if st, ok := states[name].(map[string]any); ok {
						v.unknownFields(st, stateType, childLoc+"/"+escapePointer(name))
					}
				}
			}
		case kind == stateType:
			switch k {
			case "Branches":
				eachObject(child, childLoc, func(o map[string]any, l string) { v.unknownFields(o, branchType, l) })
			case "Iterator":
				if o, ok := child.(map[string]any); ok {
					v.unknownFields(o, branchType, childLoc)
				}
			case "ItemProcessor":
				if o, ok := child.(map[string]any); ok {
					v.unknownFields(o, processorType, childLoc)
				}
			case "Retry":
				eachObject(child, childLoc, func(o map[string]any, l string) { v.unknownFields(o, retrierType, l) })
			case "Catch":
				eachObject(child, childLoc, func(o map[string]any, l string) { v.unknownFields(o, catcherType, l) })
			case "Choices":
				eachObject(child, childLoc, func(o map[string]any, l string) { v.unknownFields(o, choiceRuleType, l) })
			}
		case kind == processorType && k == "ProcessorConfig":
			if o, ok := child.(map[string]any); ok {
				v.unknownFields(o, processorConfigType, childLoc)
			}
		case kind == choiceRuleType && (k == "And" || k == "Or"):
			eachObject(child, childLoc, func(o map[string]any, l string) { v.unknownFields(o, choiceRuleType, l) })
		case kind == choiceRuleType && k == "Not":
			if o, ok := child.(map[string]any); ok {
				v.unknownFields(o, choiceRuleType, childLoc)
			}
		}
	}
}

func locOrRoot(loc string) string {
	if loc == "" {
		return "/"
	}
	return loc
}

func eachObject(v any, loc string, fn func(map[string]any, string)) {
	arr, ok := v.([]any)
	if !ok {
		return
	}
	for i, it := range arr {
		if o, ok := it.(map[string]any); ok {
			fn(o, fmt.Sprintf("%s/%d", loc, i))
		}
	}
}
