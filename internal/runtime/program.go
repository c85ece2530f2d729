package runtime

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/turbocat/turbocat/internal/asl"
)

// program is a compiled, immutable state machine.
type program struct {
	sm      *asl.StateMachine
	root    *graph
	timeout time.Duration
}

type graph struct {
	startAt string
	states  map[string]*cstate
}

type resKind int

const (
	resLambdaInvoke resKind = iota // arn:aws:states:::lambda:invoke
	resLambda                      // Lambda function ARN or bare name
	resService                     // other arn:aws:states::: integration
)

type cstate struct {
	name                  string
	st                    *asl.State
	enteredTyp, exitedTyp string

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

	branches  []*graph
	processor *graph

	res          resKind
	resName      string // function name (resLambda) or integration ARN (resService)
	resourceType string
	resource     string
	token        bool
	resDetails   *EventDetails // {ResourceType, Resource}, shared by this state's events; never mutated

	catchPaths []*jsonPath
	catchNull  []bool
}

func compileProgram(sm *asl.StateMachine) (*program, error) {
	g, err := compileGraph(sm.StartAt, sm.States)
	if err != nil {
		return nil, err
	}
	p := &program{sm: sm, root: g}
	if sm.TimeoutSeconds != nil {
		p.timeout = time.Duration(*sm.TimeoutSeconds) * time.Second
	}
	return p, nil
}

func compileGraph(startAt string, states map[string]*asl.State) (*graph, error) {
	g := &graph{startAt: startAt, states: make(map[string]*cstate, len(states))}
	for name, st := range states {
		cs, err := compileState(name, st)
		if err != nil {
			return nil, fmt.Errorf("state %q: %w", name, err)
		}
		g.states[name] = cs
	}
	return g, nil
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

func compileState(name string, st *asl.State) (*cstate, error) {
	cs := &cstate{name: name, st: st, enteredTyp: enteredType(st.Type), exitedTyp: exitedType(st.Type)}
	if usesAssign(st) {
		return nil, fmt.Errorf("Assign (workflow variables) is not supported by the local runtime")
	}
	var err error
	if cs.inputPath, cs.inputNull, err = optPath(st.InputPath); err != nil {
		return nil, err
	}
	if cs.outputPath, cs.outputNull, err = optPath(st.OutputPath); err != nil {
		return nil, err
	}
	if cs.resultPath, cs.resultNull, err = optPath(st.ResultPath); err != nil {
		return nil, err
	}
	if cs.resultPath != nil && (!cs.resultPath.definite || cs.resultPath.context) {
		return nil, fmt.Errorf("ResultPath %q must be a reference path", st.ResultPath.String())
	}
	if cs.params, err = compileTemplate(st.Parameters); err != nil {
		return nil, fmt.Errorf("Parameters: %w", err)
	}
	if cs.resultSelector, err = compileTemplate(st.ResultSelector); err != nil {
		return nil, fmt.Errorf("ResultSelector: %w", err)
	}
	if cs.itemSelector, err = compileTemplate(st.ItemSelector); err != nil {
		return nil, fmt.Errorf("ItemSelector: %w", err)
	}
	if len(st.Result) > 0 {
		if cs.result, err = decodeJSON(st.Result); err != nil {
			return nil, fmt.Errorf("Result: %w", err)
		}
		cs.hasResult = true
	}
	for _, c := range st.Choices {
		cc, err := compileChoice(c)
		if err != nil {
			return nil, fmt.Errorf("Choices: %w", err)
		}
		cs.choices = append(cs.choices, cc)
	}
	for _, x := range []struct {
		dst **jsonPath
		src string
	}{
		{&cs.secondsPath, st.SecondsPath}, {&cs.timestampPath, st.TimestampPath}, {&cs.itemsPath, st.ItemsPath},
		{&cs.timeoutPath, st.TimeoutSecondsPath}, {&cs.heartbeatPath, st.HeartbeatSecondsPath},
		{&cs.maxConcPath, st.MaxConcurrencyPath},
	} {
		if *x.dst, err = refPath(x.src); err != nil {
			return nil, err
		}
	}
	if cs.errorExpr, err = compileExpr(st.ErrorPath); err != nil {
		return nil, fmt.Errorf("ErrorPath: %w", err)
	}
	if cs.causeExpr, err = compileExpr(st.CausePath); err != nil {
		return nil, fmt.Errorf("CausePath: %w", err)
	}
	if st.Timestamp != "" {
		t, ok := parseTimestamp(st.Timestamp)
		if !ok {
			return nil, fmt.Errorf("Timestamp %q is not an RFC 3339 timestamp", st.Timestamp)
		}
		cs.timestamp = t
	}
	for _, b := range st.Branches {
		g, err := compileGraph(b.StartAt, b.States)
		if err != nil {
			return nil, err
		}
		cs.branches = append(cs.branches, g)
	}
	if p := st.Processor(); p != nil {
		if cs.processor, err = compileGraph(p.StartAt, p.States); err != nil {
			return nil, err
		}
		if cs.itemSelector == nil && st.Type == asl.TypeMap {
			cs.itemSelector = cs.params // legacy Parameters on Map
		}
	}
	for _, c := range st.Catch {
		jp, null, err := optPath(c.ResultPath)
		if err != nil {
			return nil, err
		}
		cs.catchPaths = append(cs.catchPaths, jp)
		cs.catchNull = append(cs.catchNull, null)
	}
	if st.Type == asl.TypeTask {
		cs.parseResource(st.Resource)
		cs.resDetails = &EventDetails{ResourceType: cs.resourceType, Resource: cs.resource}
	}
	return cs, nil
}

func (cs *cstate) parseResource(res string) {
	base := res
	for _, suf := range []string{".waitForTaskToken", ".sync:2", ".sync"} {
		if strings.HasSuffix(base, suf) {
			base = strings.TrimSuffix(base, suf)
			cs.token = suf == ".waitForTaskToken"
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

func usesAssign(st *asl.State) bool {
	if len(st.Assign) > 0 {
		return true
	}
	for _, c := range st.Catch {
		if c != nil && len(c.Assign) > 0 {
			return true
		}
	}
	rule := func(r *asl.ChoiceRule) bool { return r != nil && len(r.Assign) > 0 }
	for _, c := range st.Choices {
		if rule(c) {
			return true
		}
	}
	return false
}
