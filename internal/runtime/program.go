package runtime

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/turbocat/turbocat/internal/asl"
)

// program is a compiled, immutable state machine.
type program struct {
	sm      *asl.StateMachine
	root    *graph
	timeout time.Duration
	// usesVars is set when any state assigns variables: executions then
	// keep variable scopes.
	usesVars bool
}

type graph struct {
	startAt string
	states  map[string]*cstate
}

type resKind int

const (
	resLambdaInvoke   resKind = iota // arn:aws:states:::lambda:invoke
	resLambda                        // Lambda function ARN or bare name
	resService                       // other arn:aws:states::: integration
	resStartExecution                // arn:aws:states:::states:startExecution[.sync[:2]]
	resActivity                      // arn:aws:states:<region>:<account>:activity:<name>
)

func isActivityArn(s string) bool {
	kind, ok := parseArn(s)
	return ok && kind == "activity"
}

type cstate struct {
	name                  string
	st                    *asl.State
	enteredTyp, exitedTyp string
	jsonata               bool // the state's query language is JSONata

	inputPath, outputPath, resultPath *jsonPath
	inputNull, outputNull, resultNull bool

	params, resultSelector, itemSelector *tmpl
	result                               any
	hasResult                            bool

	choices []*choice

	secondsPath, timestampPath, itemsPath *jsonPath
	errorExpr, causeExpr                  *tmpl
	timeoutPath, heartbeatPath            *jsonPath
	maxConcPath                           *jsonPath
	timestamp                             time.Time

	// JSONata fields.
	jArgs, jOutput, jItems, jItemSelector *jtmpl
	jError, jCause, jTimestamp            *jtmpl
	jNumbers                              map[string]*jtmpl // TimeoutSeconds, HeartbeatSeconds, Seconds, MaxConcurrency

	assign      *assignment
	catchAssign []*assignment
	catchOutput []*jtmpl

	branches  []*graph
	processor *graph

	res          resKind
	resName      string // function name (resLambda) or integration ARN (resService)
	resourceType string
	resource     string
	token        bool
	syncMode     string        // startExecution: "", ".sync" or ".sync:2"
	resDetails   *EventDetails // {ResourceType, Resource}, shared by this state's events; never mutated

	catchPaths []*jsonPath
	catchNull  []bool
}

// compiler compiles a definition, collecting located diagnostics and the
// variable flow for the static checks.
type compiler struct {
	errs     asl.ValidationErrors
	usesVars bool
	ql       string // the machine's query language, which nested states inherit
}

func (c *compiler) fail(loc, state, format string, args ...any) {
	c.errs = append(c.errs, &asl.ValidationError{State: state, Code: asl.CodeSchema, Location: loc, Msg: fmt.Sprintf(format, args...)})
}

// compileProgram compiles a parsed definition. The diagnostics cover what
// asl's structural validation cannot see: JSONPath and JSONata syntax,
// intrinsic functions, and variables read where they are not assigned on
// every path.
func compileProgram(sm *asl.StateMachine) (*program, asl.ValidationErrors) {
	return compile(sm, true)
}

// compile compiles sm; checkVars runs the static variable checks (TestState
// skips them: its variables come with the request).
func compile(sm *asl.StateMachine, checkVars bool) (*program, asl.ValidationErrors) {
	c := &compiler{ql: sm.QueryLanguage}
	if c.ql == "" {
		c.ql = asl.QueryLanguageJSONPath
	}
	g, vg := c.graph("", sm.StartAt, sm.States)
	if len(c.errs) > 0 {
		return nil, c.errs
	}
	if checkVars {
		if errs := checkVariables(vg); len(errs) > 0 {
			return nil, errs
		}
	}
	p := &program{sm: sm, root: g, usesVars: c.usesVars}
	if sm.TimeoutSeconds != nil {
		p.timeout = time.Duration(*sm.TimeoutSeconds) * time.Second
	}
	return p, nil
}

func (c *compiler) graph(base, startAt string, states map[string]*asl.State) (*graph, *varGraph) {
	g := &graph{startAt: startAt, states: make(map[string]*cstate, len(states))}
	vg := &varGraph{startAt: startAt, nodes: map[string]*varNode{}, base: base}
	for _, name := range sortedStateNames(states) {
		st := states[name]
		loc := base + "/States/" + name
		cs, vn := c.state(loc, name, st)
		g.states[name] = cs
		vg.nodes[name] = vn
	}
	return g, vg
}

func sortedStateNames(states map[string]*asl.State) []string {
	names := make([]string, 0, len(states))
	for n := range states {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func optPath(p asl.Path) (*jsonPath, bool, error) {
	if p.IsZero() {
		return nil, false, nil
	}
	if p.IsNull() {
		return nil, true, nil
	}
	jp, err := parsePath(p.String())
	return jp, false, err
}

func refPath(s string) (*jsonPath, error) {
	if s == "" {
		return nil, nil
	}
	return parsePath(s)
}

func (c *compiler) state(loc, name string, st *asl.State) (*cstate, *varNode) {
	cs := &cstate{name: name, st: st, enteredTyp: enteredType(st.Type), exitedTyp: exitedType(st.Type)}
	ql := c.ql
	if st.QueryLanguage != "" {
		ql = st.QueryLanguage
	}
	cs.jsonata = ql == asl.QueryLanguageJSONata
	vn := &varNode{name: name, loc: loc}
	seenRead := map[varRead]bool{}
	read := func(field string, names ...string) {
		for _, n := range names {
			r := varRead{name: n, field: field}
			if n == "eval" && cs.jsonata {
				c.fail(loc+"/"+field, name, "%s: $eval is not available in Step Functions; use $parse", field)
				continue
			}
			if !seenRead[r] {
				seenRead[r] = true
				vn.reads = append(vn.reads, r)
			}
		}
	}
	failf := func(field, format string, args ...any) {
		l := loc
		if field != "" {
			l += "/" + field
		}
		c.fail(l, name, format, args...)
	}
	if cs.jsonata {
		c.jsonataFields(cs, st, read, failf)
	} else {
		c.jsonPathFields(cs, st, read, failf)
	}

	// Assign: state level, per catcher, per choice rule.
	var err error
	var reads []string
	if cs.assign, reads, err = compileAssign(st.Assign, cs.jsonata, "Assign"); err != nil {
		failf("Assign", "%v", err)
	}
	read("Assign", reads...)
	stateAssigns := asl.AssignNames(st.Assign, cs.jsonata)
	if len(st.Assign) > 0 {
		c.usesVars = true
	}
	for i, ct := range st.Catch {
		a, reads, err := compileAssign(ct.Assign, cs.jsonata, fmt.Sprintf("Catch/%d/Assign", i))
		if err != nil {
			failf(fmt.Sprintf("Catch/%d/Assign", i), "%v", err)
		}
		read(fmt.Sprintf("Catch/%d/Assign", i), reads...)
		cs.catchAssign = append(cs.catchAssign, a)
		var out *jtmpl
		if cs.jsonata {
			if out, err = compileJSONata(ct.Output, fmt.Sprintf("Catch/%d/Output", i)); err != nil {
				failf(fmt.Sprintf("Catch/%d/Output", i), "%v", err)
			}
			read(fmt.Sprintf("Catch/%d/Output", i), out.variables()...)
		} else {
			jp, null, err := optPath(ct.ResultPath)
			if err != nil {
				failf(fmt.Sprintf("Catch/%d/ResultPath", i), "%v", err)
			} else if jp != nil && (jp.variable != "" || jp.context || !jp.definite) {
				failf(fmt.Sprintf("Catch/%d/ResultPath", i), "ResultPath %q must be a reference path", ct.ResultPath.String())
			}
			cs.catchPaths = append(cs.catchPaths, jp)
			cs.catchNull = append(cs.catchNull, null)
		}
		cs.catchOutput = append(cs.catchOutput, out)
		names := asl.AssignNames(ct.Assign, cs.jsonata)
		if len(ct.Assign) > 0 {
			c.usesVars = true
		}
		vn.edges = append(vn.edges, varEdge{to: ct.Next, assign: names})
		vn.assigns = append(vn.assigns, names...)
	}
	vn.assigns = append(vn.assigns, stateAssigns...)

	// Edges of the variable flow.
	if st.Next != "" {
		vn.edges = append(vn.edges, varEdge{to: st.Next, assign: stateAssigns})
	}
	if st.Default != "" {
		vn.edges = append(vn.edges, varEdge{to: st.Default, assign: stateAssigns})
	}
	for i, r := range st.Choices {
		if r == nil {
			continue
		}
		names := asl.AssignNames(r.Assign, cs.jsonata)
		if len(r.Assign) > 0 {
			c.usesVars = true
		}
		vn.edges = append(vn.edges, varEdge{to: r.Next, assign: names})
		vn.assigns = append(vn.assigns, names...)
		if i < len(cs.choices) {
			a, reads, err := compileAssign(r.Assign, cs.jsonata, fmt.Sprintf("Choices/%d/Assign", i))
			if err != nil {
				failf(fmt.Sprintf("Choices/%d/Assign", i), "%v", err)
			}
			read(fmt.Sprintf("Choices/%d/Assign", i), reads...)
			cs.choices[i].assign = a
		}
	}

	// Nested scopes.
	for i, b := range st.Branches {
		if b == nil {
			continue
		}
		g, vg := c.graph(fmt.Sprintf("%s/Branches/%d", loc, i), b.StartAt, b.States)
		cs.branches = append(cs.branches, g)
		vn.inner = append(vn.inner, vg)
	}
	if p := st.Processor(); p != nil {
		field := "ItemProcessor"
		if st.Iterator != nil {
			field = "Iterator"
		}
		var vg *varGraph
		cs.processor, vg = c.graph(loc+"/"+field, p.StartAt, p.States)
		vn.inner = append(vn.inner, vg)
		if cs.itemSelector == nil && st.Type == asl.TypeMap && !cs.jsonata {
			cs.itemSelector = cs.params // legacy Parameters on Map
		}
	}
	if st.Type == asl.TypeTask {
		cs.parseResource(st.Resource)
		cs.resDetails = &EventDetails{ResourceType: cs.resourceType, Resource: cs.resource}
	}
	return cs, vn
}

func (c *compiler) jsonPathFields(cs *cstate, st *asl.State, read func(string, ...string), failf func(string, string, ...any)) {
	var err error
	if cs.inputPath, cs.inputNull, err = optPath(st.InputPath); err != nil {
		failf("InputPath", "%v", err)
	}
	read("InputPath", pathVariable(cs.inputPath)...)
	if cs.outputPath, cs.outputNull, err = optPath(st.OutputPath); err != nil {
		failf("OutputPath", "%v", err)
	}
	read("OutputPath", pathVariable(cs.outputPath)...)
	if cs.resultPath, cs.resultNull, err = optPath(st.ResultPath); err != nil {
		failf("ResultPath", "%v", err)
	}
	if cs.resultPath != nil && (!cs.resultPath.definite || cs.resultPath.context || cs.resultPath.variable != "") {
		failf("ResultPath", "ResultPath %q must be a reference path", st.ResultPath.String())
	}
	for _, t := range []struct {
		dst   **tmpl
		raw   json.RawMessage
		field string
	}{{&cs.params, st.Parameters, "Parameters"}, {&cs.resultSelector, st.ResultSelector, "ResultSelector"}, {&cs.itemSelector, st.ItemSelector, "ItemSelector"}} {
		if *t.dst, err = compileTemplate(t.raw); err != nil {
			failf(t.field, "%s: %v", t.field, err)
			continue
		}
		read(t.field, (*t.dst).variables()...)
	}
	if len(st.Result) > 0 {
		if cs.result, err = decodeJSON(st.Result); err != nil {
			failf("Result", "Result: %v", err)
		}
		cs.hasResult = true
	}
	for i, r := range st.Choices {
		cc, err := compileChoice(r)
		if err != nil {
			failf(fmt.Sprintf("Choices/%d", i), "Choices: %v", err)
			cc = &choice{rule: r, next: r.Next}
		}
		read(fmt.Sprintf("Choices/%d", i), cc.variables()...)
		cs.choices = append(cs.choices, cc)
	}
	for _, x := range []struct {
		dst   **jsonPath
		src   string
		field string
	}{
		{&cs.secondsPath, st.SecondsPath, "SecondsPath"}, {&cs.timestampPath, st.TimestampPath, "TimestampPath"}, {&cs.itemsPath, st.ItemsPath, "ItemsPath"},
		{&cs.timeoutPath, st.TimeoutSecondsPath, "TimeoutSecondsPath"}, {&cs.heartbeatPath, st.HeartbeatSecondsPath, "HeartbeatSecondsPath"},
		{&cs.maxConcPath, st.MaxConcurrencyPath, "MaxConcurrencyPath"},
	} {
		if *x.dst, err = refPath(x.src); err != nil {
			failf(x.field, "%v", err)
		}
		read(x.field, pathVariable(*x.dst)...)
	}
	if cs.errorExpr, err = compileExpr(st.ErrorPath); err != nil {
		failf("ErrorPath", "ErrorPath: %v", err)
	}
	read("ErrorPath", cs.errorExpr.variables()...)
	if cs.causeExpr, err = compileExpr(st.CausePath); err != nil {
		failf("CausePath", "CausePath: %v", err)
	}
	read("CausePath", cs.causeExpr.variables()...)
	if st.Timestamp != "" {
		t, ok := parseTimestamp(st.Timestamp)
		if !ok {
			failf("Timestamp", "Timestamp %q is not an RFC 3339 timestamp", st.Timestamp)
		}
		cs.timestamp = t
	}
}

func (c *compiler) jsonataFields(cs *cstate, st *asl.State, read func(string, ...string), failf func(string, string, ...any)) {
	for _, t := range []struct {
		dst   **jtmpl
		raw   json.RawMessage
		field string
	}{{&cs.jArgs, st.Arguments, "Arguments"}, {&cs.jOutput, st.Output, "Output"}, {&cs.jItems, st.Items, "Items"}, {&cs.jItemSelector, st.ItemSelector, "ItemSelector"}} {
		var err error
		if *t.dst, err = compileJSONata(t.raw, t.field); err != nil {
			failf(t.field, "%v", err)
			continue
		}
		read(t.field, (*t.dst).variables()...)
	}
	for _, s := range []struct {
		dst   **jtmpl
		src   string
		field string
	}{{&cs.jError, st.Error, "Error"}, {&cs.jCause, st.Cause, "Cause"}, {&cs.jTimestamp, st.Timestamp, "Timestamp"}} {
		if s.src == "" {
			continue
		}
		t, err := compileJSONataValue(s.src, s.field)
		if err != nil {
			failf(s.field, "%v", err)
			continue
		}
		*s.dst = t
		read(s.field, t.variables()...)
	}
	if cs.jTimestamp != nil && cs.jTimestamp.kind == tmplLiteral {
		t, ok := parseTimestamp(st.Timestamp)
		if !ok {
			failf("Timestamp", "Timestamp %q is not an RFC 3339 timestamp", st.Timestamp)
		}
		cs.timestamp = t
	}
	for field, src := range st.Exprs {
		t, err := compileJSONataValue(src, field)
		if err != nil {
			failf(field, "%v", err)
			continue
		}
		if cs.jNumbers == nil {
			cs.jNumbers = map[string]*jtmpl{}
		}
		cs.jNumbers[field] = t
		read(field, t.variables()...)
	}
	for i, r := range st.Choices {
		cc := &choice{rule: r, next: r.Next}
		field := fmt.Sprintf("Choices/%d/Condition", i)
		var err error
		if cc.cond, err = compileJSONata(r.Condition, field); err != nil {
			failf(field, "%v", err)
		}
		read(field, cc.cond.variables()...)
		ofield := fmt.Sprintf("Choices/%d/Output", i)
		if cc.output, err = compileJSONata(r.Output, ofield); err != nil {
			failf(ofield, "%v", err)
		}
		read(ofield, cc.output.variables()...)
		cs.choices = append(cs.choices, cc)
	}
}

func (cs *cstate) parseResource(res string) {
	base := res
	for _, suf := range []string{".waitForTaskToken", ".sync:2", ".sync"} {
		if strings.HasSuffix(base, suf) {
			base = strings.TrimSuffix(base, suf)
			cs.token = suf == ".waitForTaskToken"
			if suf != ".waitForTaskToken" {
				cs.syncMode = suf
			}
			break
		}
	}
	switch {
	case base == "arn:aws:states:::lambda:invoke":
		cs.res = resLambdaInvoke
		cs.resourceType = "lambda"
		cs.resource = strings.TrimPrefix(res, "arn:aws:states:::lambda:")
	case strings.HasPrefix(base, "arn:aws:lambda:"):
		cs.res = resLambda
		cs.resName = functionName(base)
		cs.resourceType = "lambda"
		cs.resource = res
	case isActivityArn(base):
		cs.res = resActivity
		cs.token = true
		cs.resourceType = "activity"
		cs.resource = res
	case base == "arn:aws:states:::states:startExecution":
		cs.res = resStartExecution
		cs.resName = base
		cs.resourceType = "states"
		cs.resource = strings.TrimPrefix(res, "arn:aws:states:::states:")
	case strings.HasPrefix(base, "arn:aws:states:::"):
		cs.res = resService
		cs.resName = base
		parts := strings.SplitN(strings.TrimPrefix(res, "arn:aws:states:::"), ":", 2)
		cs.resourceType = parts[0]
		if len(parts) > 1 {
			cs.resource = parts[1]
		}
	default:
		cs.res = resLambda
		cs.resName = functionName(base)
		cs.resourceType = "lambda"
		cs.resource = res
	}
}

// functionName extracts the function name from a Lambda function name,
// partial ARN or full ARN, dropping any version or alias qualifier.
func functionName(s string) string {
	if i := strings.Index(s, ":function:"); i >= 0 {
		s = s[i+len(":function:"):]
	}
	if i := strings.IndexByte(s, ':'); i >= 0 {
		s = s[:i]
	}
	return s
}

// rawJSON marshals a value for a function payload.
func rawJSON(v any) (json.RawMessage, error) {
	return encodeJSON(v)
}

// compileExpr compiles a reference path or intrinsic function call.
func compileExpr(src string) (*tmpl, error) {
	if src == "" {
		return nil, nil
	}
	if strings.HasPrefix(src, "States.") {
		fn, err := parseIntrinsic(src)
		if err != nil {
			return nil, err
		}
		return &tmpl{kind: tmplIntrinsic, fn: fn}, nil
	}
	p, err := parsePath(src)
	if err != nil {
		return nil, err
	}
	return &tmpl{kind: tmplPath, path: p}, nil
}
