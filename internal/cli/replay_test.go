package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReplayPrintsTheDiff: replay sends the version asked for, prints each
// step with its mark and a changed step's differences old → new, and
// exits 2 when a step changed (0 when none did); --report reads a
// replay's report again.
func TestReplayPrintsTheDiff(t *testing.T) {
	t.Parallel()
	report := `{"replayExecutionId":"r1","sourceExecutionId":"e1","workflowId":"w1","version":2,"sourceVersion":1,"status":"failed","finished":true,
		"steps":[
		 {"key":"fetch","status":"same","changed":false,"inputChanged":false,"source":{"status":"completed","output":{"sky":"sunny"}},"replay":{"status":"completed","output":{"sky":"sunny"}}},
		 {"key":"ask","status":"same","changed":false,"inputChanged":true,"source":{"status":"completed","output":{"text":"hi"}},"replay":{"status":"completed","output":{"text":"hi"}}},
		 {"key":"shape","status":"changed","changed":true,"inputChanged":false,"source":{"status":"completed","output":{"sky":"SUNNY"}},"replay":{"status":"completed","output":{"sky":"sunny!","n":1}},
		  "diff":[{"path":"$.n","new":1},{"path":"$.sky","old":"SUNNY","new":"sunny!"}]},
		 {"key":"extra","status":"added","changed":true,"inputChanged":false,"source":null,"replay":{"status":"failed","output":null,"error":{"error":"Replay.NoRecording","cause":"step extra has no recorded response"}}}],
		"changedSteps":["shape","extra"]}`
	unchanged := `{"replayExecutionId":"r2","sourceExecutionId":"e1","workflowId":"w1","version":1,"sourceVersion":1,"status":"completed","finished":true,
		"steps":[{"key":"fetch","status":"same","changed":false,"inputChanged":false,"source":{"status":"completed","output":1},"replay":{"status":"completed","output":1}}],"changedSteps":[]}`
	var gotBody map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		data := report
		switch {
		case r.Method == "POST" && r.URL.Path == "/api/v1/executions/e1/replay" && r.URL.Query().Get("wait") == "25":
			raw, _ := io.ReadAll(r.Body)
			gotBody = nil
			_ = json.Unmarshal(raw, &gotBody)
			if gotBody["version"] == nil {
				data = unchanged
			}
		case r.Method == "GET" && r.URL.Path == "/api/v1/executions/r1/replay-report":
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"success":false,"error":{"code":"NOT_FOUND","message":"no such route"}}`)
			return
		}
		_, _ = io.WriteString(w, `{"success":true,"data":`+data+`}`)
	}))
	defer srv.Close()

	var out bytes.Buffer
	err := runWithKey(t, srv.URL, &out, "replay", "e1", "--version", "2")
	require.Equal(t, 2, ExitCode(err), "a changed step exits 2: %v", err)
	require.Equal(t, map[string]any{"version": float64(2)}, gotBody)
	require.Equal(t, `replay r1 of execution e1: version 2 against version 1's recordings, failed
= fetch
= ask    input changed
~ shape
    $.n: (none) → 1
    $.sky: "SUNNY" → "sunny!"
+ extra  only in the replay (failed); failed: Replay.NoRecording: step extra has no recorded response
2 steps changed: shape, extra
`, out.String())

	out.Reset()
	require.NoError(t, runWithKey(t, srv.URL, &out, "replay", "e1"))
	require.Equal(t, map[string]any{}, gotBody)
	require.Contains(t, out.String(), "no step changed\n")

	out.Reset()
	err = runWithKey(t, srv.URL, &out, "replay", "--report", "r1", "-o", "json")
	require.Equal(t, 2, ExitCode(err))
	var rep replayReport
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep))
	require.Equal(t, []string{"shape", "extra"}, rep.ChangedSteps)
}
