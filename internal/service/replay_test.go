package service

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/turbocat"
)

func TestDiffJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, old, new string
		want           []Difference
	}{
		{"equal despite key order and spacing", `{"a":1,"b":[1,2]}`, `{ "b": [1, 2], "a": 1 }`, nil},
		{"numbers compare by value", `{"n":1.0}`, `{"n":1}`, nil},
		{"nil is null", ``, `null`, nil},
		{"changed leaf", `{"a":{"b":"x"}}`, `{"a":{"b":"y"}}`, []Difference{{Path: "$.a.b", Old: raw(`"x"`), New: raw(`"y"`)}}},
		{"added and removed keys, sorted", `{"z":1,"a":true}`, `{"m":null,"a":true}`,
			[]Difference{{Path: "$.m", New: raw(`null`)}, {Path: "$.z", Old: raw(`1`)}}},
		{"array items by index", `[1,2]`, `[1,3,4]`, []Difference{{Path: "$[1]", Old: raw(`2`), New: raw(`3`)}, {Path: "$[2]", New: raw(`4`)}}},
		{"type change", `{"a":[1]}`, `{"a":{"0":1}}`, []Difference{{Path: "$.a", Old: raw(`[1]`), New: raw(`{"0":1}`)}}},
		{"odd keys are quoted", `{"a b":1}`, `{"a b":2}`, []Difference{{Path: `$["a b"]`, Old: raw(`1`), New: raw(`2`)}}},
		{"whole document", `"x"`, `"y"`, []Difference{{Path: "$", Old: raw(`"x"`), New: raw(`"y"`)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, DiffJSON(json.RawMessage(tc.old), json.RawMessage(tc.new)))
		})
	}
}

func TestDiffJSONIsBounded(t *testing.T) {
	t.Parallel()
	a, b := make([]int, 500), make([]int, 500)
	for i := range b {
		b[i] = i + 1
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	require.Len(t, DiffJSON(ja, jb), maxDifferences)
}

// TestCompareSteps: steps compare in the replayed version's order, then
// those only the source ran; a wait step compares by status only; an
// unfinished replay's running steps are pending, not changed.
func TestCompareSteps(t *testing.T) {
	t.Parallel()
	w := &turbocat.Workflow{Steps: []turbocat.WorkflowStep{{Key: "a"}, {Key: "pause", Type: turbocat.StepTypeWait}, {Key: "new"}, {Key: "later"}}}
	done := func(key, out string) *turbocat.ExecutionStep {
		return &turbocat.ExecutionStep{StepKey: key, Status: turbocat.StepCompleted, Input: raw(`{"q":1}`), Output: raw(out)}
	}
	source := []*turbocat.ExecutionStep{done("old", `1`), done("a", `{"x":1}`), done("pause", `{"resumedAt":"2026-01-01T00:00:00Z"}`), done("later", `3`)}
	replay := []*turbocat.ExecutionStep{done("a", `{"x":1}`), done("pause", `{"resumedAt":"2026-12-07T00:00:00Z"}`), done("new", `2`),
		{StepKey: "later", Status: turbocat.StepRunning}}
	got := compareSteps(w, source, replay, false)
	var keys, statuses []string
	for _, s := range got {
		keys, statuses = append(keys, s.Key), append(statuses, s.Status)
	}
	require.Equal(t, []string{"a", "pause", "new", "later", "old"}, keys)
	require.Equal(t, []string{ReplaySame, ReplaySame, ReplayAdded, ReplayPending, ReplayRemoved}, statuses)
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }
