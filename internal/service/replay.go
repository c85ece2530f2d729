package service

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"

	"github.com/turbocat/turbocat/internal/turbocat"
)

// ReplayInput is the body of POST /executions/{id}/replay.
type ReplayInput struct {
	// Version is the workflow version to replay (default: the workflow's
	// current version).
	Version *int `json:"version"`
}

// Replay starts a replay of one of the actor's finished runs: a new run of
// a version of its workflow (the current one by default) with the run's
// input, whose api and llm steps take the run's recorded outputs instead
// of calling out (no paid calls, no side effects) and whose code steps run.
// ReplayReport compares the two step by step. ECONFLICT when the run has
// not finished; EVALIDATION for a version the workflow does not have.
func (s *Executions) Replay(ctx context.Context, actor *turbocat.Actor, id string, in ReplayInput) (*turbocat.Execution, error) {
	src, err := s.Store.Execution(ctx, actor.UserID, id)
	if err != nil {
		return nil, err
	}
	if _, err := s.engine(); err != nil {
		return nil, err
	}
	if !Finished(src.Status) {
		return nil, turbocat.Errorf(turbocat.ECONFLICT,
			"execution %s is %s: only a finished run can be replayed; wait for it to end (GET /api/v1/executions/%s?wait=…) or cancel it, then replay it", src.ID, src.Status, src.ID)
	}
	var w *turbocat.Workflow
	if in.Version != nil {
		if *in.Version < 1 {
			return nil, turbocat.ValidationError("invalid version", turbocat.FieldError{Field: "version", Message: "must be a version of the workflow (1 or more)"})
		}
		w, err = s.Workflows.WorkflowVersion(ctx, actor.UserID, src.WorkflowID, *in.Version)
		if turbocat.ErrorCodeOf(err) == turbocat.ENOTFOUND {
			return nil, turbocat.ValidationError("invalid version", turbocat.FieldError{Field: "version",
				Message: fmt.Sprintf("workflow %s has no version %d; leave version out to replay its current version", src.WorkflowID, *in.Version)})
		}
	} else {
		w, err = s.Workflows.Workflow(ctx, actor.UserID, src.WorkflowID)
	}
	if err != nil {
		return nil, err
	}
	input := src.InputData
	if len(input) == 0 || string(input) == "null" {
		input = json.RawMessage(`{}`)
	}
	if err := validateInput(w.InputSchema, input); err != nil {
		return nil, err
	}
	srcID := src.ID
	return s.start(ctx, w, turbocat.NewExecution{WorkflowID: w.ID, WorkflowVersion: w.Version, UserID: actor.UserID,
		Trigger: turbocat.TriggerReplay, Input: input, ReplayOf: &srcID}, "")
}

// ReplayReport is how a replay's steps compare with the run it replays.
type ReplayReport struct {
	ReplayExecutionID string `json:"replayExecutionId"`
	SourceExecutionID string `json:"sourceExecutionId"`
	WorkflowID        string `json:"workflowId"`
	// Version is the workflow version the replay ran, SourceVersion the
	// one the source ran.
	Version       int `json:"version"`
	SourceVersion int `json:"sourceVersion"`
	// Status is the replay's status; until it is final (Finished), the
	// steps still running compare as "pending".
	Status   string       `json:"status"`
	Finished bool         `json:"finished"`
	Steps    []ReplayStep `json:"steps"`
	// ChangedSteps are the keys of the steps whose outcome differs.
	ChangedSteps []string `json:"changedSteps"`
}

// Replay step comparisons (ReplayStep.Status).
const (
	ReplaySame    = "same"
	ReplayChanged = "changed"
	ReplayAdded   = "added"   // only the replay has the step
	ReplayRemoved = "removed" // only the source has the step
	ReplayPending = "pending" // the replay has not finished the step yet
)

// ReplayStep compares one step of a replay with the same step of its
// source.
type ReplayStep struct {
	Key string `json:"key"`
	// Status is same, changed, added, removed or pending.
	Status string `json:"status"`
	// Changed: the step's status, output or error differs (added and
	// removed steps are changed).
	Changed bool `json:"changed"`
	// InputChanged: the step's resolved input differs (a changed prompt
	// or request shows here even where the output is the recorded one).
	InputChanged bool        `json:"inputChanged"`
	Source       *ReplaySide `json:"source"`
	Replay       *ReplaySide `json:"replay"`
	// Diff lists the differences of the outputs, path by path.
	Diff []Difference `json:"diff,omitempty"`
}

// ReplaySide is a step's outcome in one of the two runs.
type ReplaySide struct {
	Status string          `json:"status"`
	Input  json.RawMessage `json:"input,omitempty"`
	Output json.RawMessage `json:"output"`
	Error  json.RawMessage `json:"error,omitempty"`
}

// Difference is one difference of two JSON documents: the value at Path
// (a JSONPath such as $.items[0].name) was Old and is New; a missing side
// is left out.
type Difference struct {
	Path string          `json:"path"`
	Old  json.RawMessage `json:"old,omitempty"`
	New  json.RawMessage `json:"new,omitempty"`
}

// ReplayReport compares one of the actor's replays with the run it
// replays, step by step. ENOTFOUND for another user's execution;
// EVALIDATION for an execution that is not a replay; ECONFLICT when the
// source run has been deleted.
func (s *Executions) ReplayReport(ctx context.Context, actor *turbocat.Actor, id string) (*ReplayReport, error) {
	rep, err := s.Store.Execution(ctx, actor.UserID, id)
	if err != nil {
		return nil, err
	}
	if rep.Trigger != turbocat.TriggerReplay {
		return nil, turbocat.Errorf(turbocat.EVALIDATION, "execution %s is not a replay; POST /api/v1/executions/%s/replay replays it", rep.ID, rep.ID)
	}
	if rep.ReplayOf == nil {
		return nil, turbocat.Errorf(turbocat.ECONFLICT, "the run replay %s replayed has been deleted: there is nothing to compare it with", rep.ID)
	}
	src, err := s.Store.Execution(ctx, actor.UserID, *rep.ReplayOf)
	if err != nil {
		return nil, err
	}
	repSteps, err := s.Store.ExecutionSteps(ctx, actor.UserID, rep.ID)
	if err != nil {
		return nil, err
	}
	srcSteps, err := s.Store.ExecutionSteps(ctx, actor.UserID, src.ID)
	if err != nil {
		return nil, err
	}
	w, err := s.Workflows.WorkflowVersion(ctx, actor.UserID, rep.WorkflowID, rep.WorkflowVersion)
	if err != nil {
		return nil, err
	}
	out := &ReplayReport{ReplayExecutionID: rep.ID, SourceExecutionID: src.ID, WorkflowID: rep.WorkflowID, Version: rep.WorkflowVersion,
		SourceVersion: src.WorkflowVersion, Status: rep.Status, Finished: Finished(rep.Status), ChangedSteps: []string{}}
	out.Steps = compareSteps(w, srcSteps, repSteps, out.Finished)
	for _, st := range out.Steps {
		if st.Changed {
			out.ChangedSteps = append(out.ChangedSteps, st.Key)
		}
	}
	return out, nil
}

// compareSteps compares the steps of a replay (of workflow version w) with
// its source's: the version's steps in order, then those only the source
// has.
func compareSteps(w *turbocat.Workflow, source, replay []*turbocat.ExecutionStep, finished bool) []ReplayStep {
	src, rep := map[string]*turbocat.ExecutionStep{}, map[string]*turbocat.ExecutionStep{}
	for _, s := range source {
		src[s.StepKey] = s
	}
	for _, s := range replay {
		rep[s.StepKey] = s
	}
	var keys []string
	types := map[string]string{}
	for i := range w.Steps {
		keys = append(keys, w.Steps[i].Key)
		types[w.Steps[i].Key] = w.Steps[i].StepType()
	}
	for _, s := range source {
		if !slices.Contains(keys, s.StepKey) {
			keys = append(keys, s.StepKey)
		}
	}
	out := make([]ReplayStep, 0, len(keys))
	for _, k := range keys {
		a, b := src[k], rep[k]
		st := ReplayStep{Key: k, Source: side(a), Replay: side(b)}
		switch {
		case a == nil && b == nil:
			continue // in neither run (a branch not taken in both)
		case b == nil && !finished && types[k] != "":
			st.Status = ReplayPending // a step of the replayed version it has not reached yet
		case a == nil:
			st.Status, st.Changed = ReplayAdded, true
		case b == nil:
			st.Status, st.Changed = ReplayRemoved, true
		case !finished && !stepDone(b.Status):
			st.Status = ReplayPending
		default:
			// A wait step's output is the time it resumed: only its
			// status compares.
			outputs := types[k] != turbocat.StepTypeWait
			st.Changed = a.Status != b.Status || (outputs && !jsonEqual(a.Output, b.Output)) ||
				(a.Status == turbocat.StepFailed && errorName(a.Error) != errorName(b.Error))
			st.InputChanged = len(a.Input) > 0 && len(b.Input) > 0 && !jsonEqual(a.Input, b.Input)
			st.Status = ReplaySame
			if st.Changed {
				st.Status = ReplayChanged
				if outputs {
					st.Diff = DiffJSON(a.Output, b.Output)
				}
			}
		}
		out = append(out, st)
	}
	return out
}

func side(s *turbocat.ExecutionStep) *ReplaySide {
	if s == nil {
		return nil
	}
	return &ReplaySide{Status: s.Status, Input: s.Input, Output: s.Output, Error: s.Error}
}

func stepDone(status string) bool {
	switch status {
	case turbocat.StepCompleted, turbocat.StepFailed, turbocat.StepSkipped, turbocat.StepCancelled:
		return true
	}
	return false
}

func errorName(raw json.RawMessage) string {
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(raw, &e)
	return e.Error
}

// jsonEqual reports whether two JSON documents hold the same value (key
// order and spacing aside); nil and null are the same.
func jsonEqual(a, b json.RawMessage) bool {
	return len(DiffJSON(a, b)) == 0
}

// maxDifferences bounds the differences DiffJSON lists.
const maxDifferences = 100

// DiffJSON lists the differences between two JSON documents path by path,
// in a stable order (object keys sorted, array items by index), at most
// 100; nil is null.
func DiffJSON(old, new json.RawMessage) []Difference {
	a, aok := decodeJSON(old)
	b, bok := decodeJSON(new)
	if !aok || !bok {
		if bytes.Equal(bytes.TrimSpace(old), bytes.TrimSpace(new)) {
			return nil
		}
		return []Difference{{Path: "$", Old: old, New: new}}
	}
	var out []Difference
	diffValue("$", a, b, true, true, &out)
	return out
}

func decodeJSON(raw json.RawMessage) (any, bool) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, true
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return nil, false
	}
	return v, true
}

func diffValue(path string, a, b any, hasA, hasB bool, out *[]Difference) {
	if len(*out) >= maxDifferences {
		return
	}
	if hasA && hasB {
		switch x := a.(type) {
		case map[string]any:
			if y, ok := b.(map[string]any); ok {
				keys := make([]string, 0, len(x)+len(y))
				for k := range x {
					keys = append(keys, k)
				}
				for k := range y {
					if _, dup := x[k]; !dup {
						keys = append(keys, k)
					}
				}
				sort.Strings(keys)
				for _, k := range keys {
					va, oka := x[k]
					vb, okb := y[k]
					diffValue(path+pathKey(k), va, vb, oka, okb, out)
				}
				return
			}
		case []any:
			if y, ok := b.([]any); ok {
				for i := range max(len(x), len(y)) {
					var va, vb any
					if i < len(x) {
						va = x[i]
					}
					if i < len(y) {
						vb = y[i]
					}
					diffValue(path+"["+strconv.Itoa(i)+"]", va, vb, i < len(x), i < len(y), out)
				}
				return
			}
		case json.Number:
			if y, ok := b.(json.Number); ok && sameNumber(x, y) {
				return
			}
		case string, bool, nil:
			if a == b {
				return
			}
		}
	}
	d := Difference{Path: path}
	if hasA {
		d.Old, _ = json.Marshal(a)
	}
	if hasB {
		d.New, _ = json.Marshal(b)
	}
	*out = append(*out, d)
}

func sameNumber(a, b json.Number) bool {
	if a == b {
		return true
	}
	x, errA := a.Float64()
	y, errB := b.Float64()
	return errA == nil && errB == nil && x == y
}

// pathKey is an object key as a JSONPath step: .name, or ["odd key"].
func pathKey(k string) string {
	if k == "" {
		return `[""]`
	}
	for i, c := range k {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			b, _ := json.Marshal(k)
			return "[" + string(b) + "]"
		}
	}
	return "." + k
}
