package runtime_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/runtime"
)

// docsCase is one file of testdata/docs: a JSONata, variables or
// child-execution state machine whose expected outcome follows from the AWS documentation page
// it cites (aws-local-stepfunctions, the reference of testdata/cases,
// implements neither).
type docsCase struct {
	Name       string                       `json:"name"`
	Doc        string                       `json:"doc"`
	Rule       string                       `json:"rule"`
	Definition json.RawMessage              `json:"definition"`
	Input      json.RawMessage              `json:"input"`
	Tasks      map[string][]json.RawMessage `json:"tasks"`
	// Machines are state machines the case's machine starts, by name.
	Machines map[string]json.RawMessage `json:"machines"`
	// Invalid, when set, is part of the message CreateStateMachine must
	// reject the definition with.
	Invalid string `json:"invalid"`
	Expect  struct {
		Status string          `json:"status"`
		Output json.RawMessage `json:"output"`
		Error  string          `json:"error"`
		Cause  *string         `json:"cause"`
	} `json:"expect"`
}

func TestConformanceDocs(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/docs/*.json")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 60, "the JSONata and variables corpus holds at least 60 cases")
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".json"), func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			var c docsCase
			require.NoError(t, json.Unmarshal(b, &c))
			require.True(t, strings.HasPrefix(c.Doc, "https://docs.aws.amazon.com/step-functions/"), "each case cites its AWS documentation page")
			require.NotEmpty(t, c.Rule, "each case states the documented rule it checks")
			if c.Invalid != "" {
				rt, err := runtime.New(context.Background(), runtime.Options{})
				require.NoError(t, err)
				t.Cleanup(rt.Close)
				_, err = rt.CreateStateMachine(context.Background(), runtime.CreateStateMachineInput{Name: "docs", Definition: string(c.Definition)})
				require.Equal(t, runtime.CodeInvalidDefinition, runtime.ErrorCode(err), "want the definition rejected (%v)", err)
				require.Contains(t, err.Error(), c.Invalid)
				return
			}
			got := runCase(t, &conformanceCase{Name: c.Name, Definition: c.Definition, Input: c.Input, Tasks: c.Tasks, Machines: c.Machines, Machine: "docs"})
			require.Equal(t, c.Expect.Status, got.Status, "status (error %s: %s)", got.Error, got.Cause)
			if c.Expect.Status == runtime.StatusSucceeded {
				want := strings.ReplaceAll(string(c.Expect.Output), "{execution}", c.Name)
				require.JSONEq(t, want, string(got.Output))
				return
			}
			require.Equal(t, c.Expect.Error, got.Error, "error (cause %s)", got.Cause)
			if c.Expect.Cause != nil {
				require.Equal(t, *c.Expect.Cause, got.Cause)
			}
		})
	}
}
