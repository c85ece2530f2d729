package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/turbocat/turbocat/internal/workflowcheck/workflowchecktest"
)

func TestReadEvents(t *testing.T) {
	t.Parallel()
	type ev struct{ event, id, data string }
	for _, tc := range []struct {
		name   string
		stream string
		want   []ev
		ended  bool
	}{
		{"logs then end", "event: status\ndata: {\"status\":\"running\"}\n\nid: 1\nevent: log\ndata: {\"sequence\":1}\n\n: keep-alive\n\nevent: end\ndata: {}\n\n",
			[]ev{{"status", "", `{"status":"running"}`}, {"log", "1", `{"sequence":1}`}}, true},
		{"cut before end", "id: 7\nevent: log\ndata: a\ndata: b\n\n", []ev{{"log", "7", "a\nb"}}, false},
		{"default event name", "data: x\n\n", []ev{{"message", "", "x"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []ev
			ended, err := readEvents(strings.NewReader(tc.stream), func(e, id, d string) error {
				got = append(got, ev{e, id, d})
				return nil
			})
			require.NoError(t, err)
			require.Equal(t, tc.ended, ended)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestWorkflowCasesAsFiles: the shared table of workflow validation cases,
// written as files, gets from validate the problems the API reports, on
// the same fields (issue 18, item 3: `{{secrets.TOKEN}}` in step inputs,
// `{{execution.bogus}}` and `{{steps.a.result}}` passed validate and failed
// apply).
func TestWorkflowCasesAsFiles(t *testing.T) {
	t.Parallel()
	for _, tc := range workflowchecktest.Cases {
		if tc.APIOnly {
			continue
		}
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			var wf map[string]any
			require.NoError(t, json.Unmarshal([]byte(tc.Workflow), &wf))
			wf["kind"] = KindWorkflow
			docs := []any{wf}
			agents := map[string]bool{}
			for _, s := range wf["steps"].([]any) {
				st := s.(map[string]any)
				if id, ok := st["agentId"]; ok {
					st["agent"] = id
					delete(st, "agentId")
				}
				if name, _ := st["agent"].(string); name != "" && !agents[name] {
					agents[name] = true
					docs = append(docs, map[string]any{"kind": KindAgent, "name": name, "type": "code", "config": map[string]any{"source": "function main(i) { return i; }"}})
				}
			}
			raw, err := json.MarshalIndent(docs, "", "  ")
			require.NoError(t, err)
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "w.json"), raw, 0o600))
			_, err = LoadFiles(dir)
			if len(tc.Want) == 0 {
				require.NoError(t, err)
				return
			}
			var fe FileErrors
			require.ErrorAs(t, err, &fe)
			require.Len(t, fe, len(tc.Want), fe.Error())
			for _, w := range tc.Want {
				field := strings.Replace(w.Field, ".agentId", ".agent", 1)
				require.Contains(t, fe.Error(), `workflow "w": `+field+": ", "%s", w.Field)
				require.Contains(t, fe.Error(), w.Contains)
			}
		})
	}
}

func TestCredentialsAndAPIURL(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "turbocat")
	vars := map[string]string{}
	env := &Env{ConfigDir: dir, Getenv: func(k string) string { return vars[k] }}
	c, err := env.loadCreds()
	require.NoError(t, err, "no file yet is not an error")
	require.Equal(t, DefaultAPIURL, env.apiURL(c))

	require.NoError(t, env.saveCreds(Credentials{APIURL: "http://stored:1", APIKey: "tc_x"}))
	st, err := os.Stat(filepath.Join(dir, "credentials.json"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	c, err = env.loadCreds()
	require.NoError(t, err)
	require.Equal(t, "tc_x", c.APIKey)
	require.Equal(t, "http://stored:1", env.apiURL(c))
	vars["TURBOCAT_API_URL"] = "http://env:2/"
	require.Equal(t, "http://env:2", env.apiURL(c), "the environment wins, without a trailing slash")
}

func TestExitCode(t *testing.T) {
	t.Parallel()
	require.Equal(t, 0, ExitCode(nil))
	require.Equal(t, 1, ExitCode(errors.New("x")))
	require.Equal(t, 2, ExitCode(&ExitError{Code: 2}))
	require.Equal(t, 1, ExitCode(&APIError{Code: "NOT_FOUND"}))
}

// yamlDocs reads every document of the YAML files of dir as JSON values.
func yamlDocs(t *testing.T, r io.Reader) []any {
	t.Helper()
	var docs []any
	dec := yaml.NewDecoder(r)
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return docs
		}
		require.NoError(t, err)
		docs = append(docs, jsonable(v))
	}
}

// TestExamplesMatchSchema: every example document satisfies
// examples/schema.json, passes LoadFiles, and the schema rejects what
// LoadFiles rejects structurally.
func TestExamplesMatchSchema(t *testing.T) {
	t.Parallel()
	f, err := os.Open("../../examples/schema.json")
	require.NoError(t, err)
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	require.NoError(t, c.AddResource("schema.json", doc))
	sch, err := c.Compile("schema.json")
	require.NoError(t, err)

	b, err := LoadFiles("../../examples/workflows", "../../examples/notify")
	require.NoError(t, err)
	require.Len(t, b.Agents, 6)
	require.Len(t, b.Workflows, 2)
	require.Len(t, b.Deployments, 3)
	require.Len(t, b.Secrets, 1)

	n := 0
	for _, dir := range []string{"../../examples/workflows", "../../examples/notify"} {
		files, err := collectFiles(dir)
		require.NoError(t, err)
		for _, p := range files {
			raw, err := os.ReadFile(p)
			require.NoError(t, err)
			for _, d := range yamlDocs(t, bytes.NewReader(raw)) {
				require.NoError(t, sch.Validate(d), "%s", p)
				n++
			}
		}
	}
	require.Equal(t, 12, n)

	for _, bad := range []string{
		`{"kind": "Workflow", "name": "w", "steps": [{"key": "a", "agent": "x", "colour": 1}]}`,
		`{"kind": "Agent", "name": "a", "type": "python", "config": {}}`,
		`{"kind": "Workflow", "name": "w", "steps": []}`,
		`{"kind": "Deployment", "workflow": "w", "environment": "Prod"}`,
		`{"kind": "Deployment", "workflow": "w", "environment": "prod", "version": 0}`,
		`{"kind": "Secret", "name": "TOKEN", "value": "hunter2"}`,
		`{"kind": "Secret", "name": "1TOKEN"}`,
	} {
		var v any
		require.NoError(t, json.Unmarshal([]byte(bad), &v))
		require.Error(t, sch.Validate(v), bad)
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "x.yaml"), []byte(bad), 0o600))
		_, err := LoadFiles(dir)
		var fe FileErrors
		require.ErrorAs(t, err, &fe, bad)
	}
}

func TestFormats(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   any
		want string
	}{
		{nil, "-"}, {"x", "x"}, {float64(1000000), "1000000"}, {1.5, "1.5"}, {map[string]any{"a": 1}, `{"a":1}`},
	} {
		require.Equal(t, tc.want, str(tc.in))
	}
	for ms, want := range map[int64]string{0: "0ms", 999: "999ms", 1000: "1s", 12345: "12.3s"} {
		require.Equal(t, want, fmtMs(ms))
	}
}

// runWithKey runs the client commands against apiURL with the API key
// tc_key in the environment, writing to out.
func runWithKey(t *testing.T, apiURL string, out io.Writer, args ...string) error {
	t.Helper()
	env := &Env{Stdout: out, Stderr: io.Discard, Stdin: strings.NewReader(""), ConfigDir: t.TempDir(),
		Getenv: func(k string) string {
			return map[string]string{"TURBOCAT_API_URL": apiURL, "TURBOCAT_API_KEY": "tc_key"}[k]
		}}
	root := &cobra.Command{Use: "turbocat", SilenceUsage: true, SilenceErrors: true}
	AddCommands(root, env)
	root.SetArgs(args)
	return root.Execute()
}

// TestFollowLogsWithoutStreaming: where the API answers logs?follow=true
// with a JSON page (API Gateway), logs -f polls with the cursor and stops
// once the run has ended, printing every line once.
func TestFollowLogsWithoutStreaming(t *testing.T) {
	t.Parallel()
	var polls atomic.Int32
	lines := []map[string]any{}
	for i := 1; i <= 150; i++ {
		lines = append(lines, map[string]any{"sequence": i, "stepKey": "s", "level": "info", "message": fmt.Sprintf("line %d", i)})
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("X-API-Key") != "tc_key" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"success": false, "error": {"code": "UNAUTHORIZED", "message": "no key"}}`)
			return
		}
		switch {
		case strings.HasSuffix(r.URL.Path, "/logs"):
			// Lines appear over time: 120 at first, all after the 2nd poll.
			avail := 120
			if polls.Load() >= 2 {
				avail = 150
			}
			after, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
			limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
			end := min(after+limit, avail)
			page := lines[min(after, end):end]
			_ = json.NewEncoder(w).Encode(map[string]any{"success": true, "data": map[string]any{"items": page}})
		default:
			n := polls.Add(1)
			status := "running"
			if n >= 3 {
				status = "completed"
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"success": true, "data": map[string]any{"id": "e1", "status": status}})
		}
	}))
	defer srv.Close()
	var out bytes.Buffer
	require.NoError(t, runWithKey(t, srv.URL, &out, "logs", "-f", "e1", "-o", "json"))
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, got, 150)
	for i, l := range got {
		var line struct {
			Sequence int
			Message  string
		}
		require.NoError(t, json.Unmarshal([]byte(l), &line))
		require.Equal(t, i+1, line.Sequence)
	}
}

// TestExpiredSessionIsRefreshed: with a stored session whose access token
// has expired, a command refreshes it once, retries, and stores the new
// tokens; an API error shows the API's code and message.
func TestExpiredSessionIsRefreshed(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/api/v1/auth/refresh":
			var body struct{ RefreshToken string }
			_ = json.NewDecoder(r.Body).Decode(&body)
			if body.RefreshToken != "r1" {
				w.WriteHeader(401)
				_, _ = io.WriteString(w, `{"success":false,"error":{"code":"UNAUTHORIZED","message":"bad refresh"}}`)
				return
			}
			_, _ = io.WriteString(w, `{"success":true,"data":{"accessToken":"a2","refreshToken":"r2","user":{"email":"me@example.com"}}}`)
		case r.Header.Get("Authorization") == "Bearer a2" && r.URL.Path == "/api/v1/auth/me":
			_, _ = io.WriteString(w, `{"success":true,"data":{"email":"me@example.com","role":"admin"}}`)
		case r.Header.Get("Authorization") == "Bearer a2":
			w.WriteHeader(404)
			_, _ = io.WriteString(w, `{"success":false,"error":{"code":"NOT_FOUND","message":"execution not found"},"meta":{"requestId":"req-9"}}`)
		default:
			w.WriteHeader(401)
			_, _ = io.WriteString(w, `{"success":false,"error":{"code":"TOKEN_EXPIRED","message":"expired"}}`)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	var out bytes.Buffer
	env := &Env{Stdout: &out, Stderr: io.Discard, Stdin: strings.NewReader(""), ConfigDir: dir, Getenv: func(string) string { return "" }}
	require.NoError(t, env.saveCreds(Credentials{APIURL: srv.URL, AccessToken: "a1", RefreshToken: "r1"}))
	exec := func(args ...string) error {
		root := &cobra.Command{Use: "turbocat", SilenceUsage: true, SilenceErrors: true}
		AddCommands(root, env)
		root.SetArgs(args)
		return root.Execute()
	}
	require.NoError(t, exec("whoami"))
	require.Contains(t, out.String(), "me@example.com (admin) at "+srv.URL+" via session")
	c, err := env.loadCreds()
	require.NoError(t, err)
	require.Equal(t, "a2", c.AccessToken)
	require.Equal(t, "r2", c.RefreshToken)

	err = exec("executions", "get", "nope")
	require.EqualError(t, err, "NOT_FOUND: execution not found (request req-9)")
}

// TestFollowLogsReconnects: when the server closes the event stream before
// the run ends (a proxy's idle timeout, a restart), logs -f reconnects with
// Last-Event-ID and prints every line exactly once, in order.
func TestFollowLogsReconnects(t *testing.T) {
	t.Parallel()
	var connects atomic.Int32
	var lastIDs []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("follow") != "true" || r.Header.Get("Accept") != "text/event-stream" {
			http.Error(w, "want a follow stream", http.StatusBadRequest)
			return
		}
		n := connects.Add(1)
		mu.Lock()
		lastIDs = append(lastIDs, r.Header.Get("Last-Event-ID"))
		mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		after, _ := strconv.Atoi(r.Header.Get("Last-Event-ID"))
		// Each connection sends the next 3 lines; the third ends the run.
		for seq := after + 1; seq <= min(after+3, 7); seq++ {
			fmt.Fprintf(w, "id: %d\nevent: log\ndata: {\"sequence\": %d, \"stepKey\": \"s\", \"level\": \"info\", \"message\": \"line %d\"}\n\n", seq, seq, seq)
		}
		if n == 3 {
			fmt.Fprint(w, "event: end\ndata: {\"status\": \"completed\"}\n\n")
		}
	}))
	defer srv.Close()
	var out bytes.Buffer
	require.NoError(t, runWithKey(t, srv.URL, &out, "logs", "-f", "e1"))
	require.Equal(t, int32(3), connects.Load())
	require.Equal(t, []string{"", "3", "6"}, lastIDs, "each reconnect resumes after the last line printed")
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, got, 7, out.String())
	for i, l := range got {
		require.True(t, strings.HasSuffix(l, fmt.Sprintf("[s] line %d", i+1)), l)
	}
}

// TestFollowLogsPrintsModelText: the model text the stream carries while a
// step runs prints as it comes, on its own line after the step's name, and
// the log lines around it stay whole.
func TestFollowLogsPrintsModelText(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "id: 1\nevent: log\ndata: {\"stepKey\": \"fetch\", \"level\": \"info\", \"message\": \"fetched\"}\n\n")
		for _, piece := range []string{"The ans", "wer is", " 42."} {
			fmt.Fprintf(w, "event: text\ndata: {\"stepKey\": \"ask\", \"turn\": 0, \"text\": %q}\n\n", piece)
		}
		fmt.Fprint(w, "id: 2\nevent: log\ndata: {\"stepKey\": \"ask\", \"level\": \"info\", \"message\": \"done\"}\n\n")
		fmt.Fprint(w, "event: end\ndata: {\"status\": \"completed\"}\n\n")
	}))
	defer srv.Close()
	var out bytes.Buffer
	require.NoError(t, runWithKey(t, srv.URL, &out, "logs", "-f", "e1"))
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, got, 3, out.String())
	require.True(t, strings.HasSuffix(got[0], "[fetch] fetched"), got[0])
	require.Equal(t, "[ask] The answer is 42.", got[1])
	require.True(t, strings.HasSuffix(got[2], "[ask] done"), got[2])
}

func TestLineDiff(t *testing.T) {
	t.Parallel()
	lines := func(s string) []string { return strings.Split(s, "\n") }
	for _, tc := range []struct {
		name string
		a, b string
		want []string
	}{
		{"one line changed, context kept", "1\n2\n3\n4\n5\n6\n7", "1\n2\n3\nfour\n5\n6\n7",
			[]string{"  2", "  3", "- 4", "+ four", "  5", "  6"}},
		{"far apart changes are separate hunks", "a\nb\nc\nd\ne\nf\ng\nh\ni", "A\nb\nc\nd\ne\nf\ng\nh\nI",
			[]string{"- a", "+ A", "  b", "  c", "…", "  g", "  h", "- i", "+ I"}},
		{"lines added at the end", "x", "x\ny\nz", []string{"  x", "+ y", "+ z"}},
		{"equal", "same", "same", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, lineDiff(lines(tc.a), lines(tc.b), 2))
		})
	}
	var out bytes.Buffer
	writeFieldDiff(&out, "  ", "schedule", "", "rate(5 minutes)")
	writeFieldDiff(&out, "  ", "version", float64(2), float64(3))
	writeFieldDiff(&out, "  ", "config", map[string]any{"source": "a\nb\n"}, map[string]any{"source": "a\nc\n"})
	require.Equal(t, `  schedule: "" → "rate(5 minutes)"
  version: 2 → 3
  config:
      source: |
        a
    -   b
    +   c
`, out.String())
}

// TestLoadJSONFiles: a directory walk reads .json files too; a JSON file
// holds one document or a list of them, and errors carry its lines.
func TestLoadJSONFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "all.json"), []byte(`[
  {"kind": "Agent", "name": "a", "type": "code", "config": {"source": "function main(i) { return i; }"}},
  {"kind": "Workflow", "name": "w",
   "steps": [{"key": "s", "agent": "ghost"}]}
]`), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "one.json"), []byte(`{"kind": "Secret", "name": "TOKEN"}`), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte(`not a resource`), 0o600))
	b, err := LoadFiles(dir)
	var fe FileErrors
	require.ErrorAs(t, err, &fe)
	require.Len(t, fe, 1, fe.Error())
	require.Equal(t, filepath.Join(dir, "all.json")+`:4: workflow "w": step "s": agent "ghost" is not defined in the files`, fe[0].String())
	require.Len(t, b.Agents, 1)
	require.Len(t, b.Workflows, 1)
	require.Len(t, b.Secrets, 1)
}

// TestEmptyDocumentsAreSkipped: a file may end with --- (or hold an empty
// document); only real documents count.
func TestEmptyDocumentsAreSkipped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("---\nkind: Secret\nname: A\n---\n---\nkind: Secret\nname: B\n---\n"), 0o600))
	b, err := LoadFiles(dir)
	require.NoError(t, err)
	require.Len(t, b.Secrets, 2)
}

// TestAPIFieldErrorsAreShown: the API's field errors reach the user —
// `deploy --schedule 'rate(1 minutes)'` says what is wrong with the
// schedule, not only "invalid deployment" (issue 18, item 2) — and a
// deployment without an error prints no "error: -" line, and `deployments
// get` names the workflow (item 12).
func TestAPIFieldErrorsAreShown(t *testing.T) {
	t.Parallel()
	const wf = "0b7c6a8e-1f2d-4c3b-8a9e-7d6c5b4a3f21"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/api/v1/workflows/"+wf+"/deployments":
			var body map[string]any
			_ = json.NewDecoder(r.Body).Decode(&body)
			if body["schedule"] == "rate(1 minutes)" {
				w.WriteHeader(400)
				_, _ = io.WriteString(w, `{"success":false,"error":{"code":"VALIDATION_ERROR","message":"invalid deployment","details":[{"field":"schedule","message":"rate(1 minutes): with value 1 the unit is singular: rate(1 minute)"}]}}`)
				return
			}
			_, _ = io.WriteString(w, `{"success":true,"data":{"id":"d1","workflowId":"`+wf+`","environment":"prod","version":1,"status":"active","endpointUrl":"http://x/hooks/1/prod","error":null}}`)
		case r.URL.Path == "/api/v1/workflows/"+wf+"/execute":
			w.WriteHeader(400)
			_, _ = io.WriteString(w, `{"success":false,"error":{"code":"VALIDATION_ERROR","message":"input does not match the workflow's inputSchema","details":[{"field":"input.url","message":"is required"},{"field":"input.n","message":"must be a number"}]}}`)
		case r.URL.Path == "/api/v1/workflows":
			_, _ = io.WriteString(w, `{"success":true,"data":{"items":[{"id":"`+wf+`","name":"pricing"}]}}`)
		case r.URL.Path == "/api/v1/deployments/d1":
			_, _ = io.WriteString(w, `{"success":true,"data":{"id":"d1","workflowId":"`+wf+`","environment":"prod","version":1,"status":"active","schedule":"rate(1 hour)","timezone":"UTC","endpointUrl":"http://x/hooks/1/prod"}}`)
		case r.URL.Path == "/api/v1/executions":
			_, _ = io.WriteString(w, `{"success":true,"data":{"items":[{"id":"e1","createdAt":"2026-01-01T00:00:00Z","status":"failed","error":{"error":"Schedule.StartFailed","cause":"input: url is required"}}]}}`)
		default:
			w.WriteHeader(404)
			_, _ = io.WriteString(w, `{"success":false,"error":{"code":"NOT_FOUND","message":"no route"}}`)
		}
	}))
	defer srv.Close()
	var out bytes.Buffer
	err := runWithKey(t, srv.URL, &out, "deploy", wf, "--env", "prod", "--schedule", "rate(1 minutes)")
	require.EqualError(t, err, "VALIDATION_ERROR: invalid deployment: schedule: rate(1 minutes): with value 1 the unit is singular: rate(1 minute)")
	err = runWithKey(t, srv.URL, &out, "run", wf, "--input", `{"n": "x"}`)
	require.EqualError(t, err, "VALIDATION_ERROR: input does not match the workflow's inputSchema\n  input.url: is required\n  input.n: must be a number")

	out.Reset()
	require.NoError(t, runWithKey(t, srv.URL, &out, "deploy", wf, "--env", "prod"))
	require.NotContains(t, out.String(), "error:")
	require.Contains(t, out.String(), "deployment d1: prod version 1 is active")

	out.Reset()
	require.NoError(t, runWithKey(t, srv.URL, &out, "deployments", "get", "d1"))
	require.Contains(t, out.String(), "pricing")
	require.NotContains(t, out.String(), wf)
	require.Contains(t, out.String(), "failed schedule fires (1):\n  2026-01-01T00:00:00Z e1 Schedule.StartFailed: input: url is required")
}

// TestExportDeclaresEverySecretUsed: an agent (from a template) whose
// secret is not set on the server is exported with the secret declared,
// so validate accepts the export, and the user is told to set it (issue
// 18, item 6).
func TestExportDeclaresEverySecretUsed(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v1/agents":
			_, _ = io.WriteString(w, `{"success":true,"data":{"items":[
				{"id":"a1","name":"Summarize text","type":"llm","status":"active","config":{"provider":"openai","model":"gpt-4o-mini","apiKeySecret":"OPENAI_API_KEY","prompt":"{{inputs.text}}"}},
				{"id":"a2","name":"Slack message","type":"api","status":"active","config":{"method":"POST","url":"{{secrets.SLACK_WEBHOOK_URL}}"}}]}}`)
		case "/api/v1/secrets":
			_, _ = io.WriteString(w, `{"success":true,"data":{"items":[{"name":"OTHER"}]}}`)
		default:
			_, _ = io.WriteString(w, `{"success":true,"data":{"items":[]}}`)
		}
	}))
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "export")
	var out, errOut bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &errOut, Stdin: strings.NewReader(""), ConfigDir: t.TempDir(),
		Getenv: func(k string) string {
			return map[string]string{"TURBOCAT_API_URL": srv.URL, "TURBOCAT_API_KEY": "tc_key"}[k]
		}}
	root := &cobra.Command{Use: "turbocat", SilenceUsage: true, SilenceErrors: true}
	AddCommands(root, env)
	root.SetArgs([]string{"export", "--dir", dir})
	require.NoError(t, root.Execute())
	b, err := LoadFiles(dir)
	require.NoError(t, err, "validate accepts what export writes")
	var names []string
	for _, s := range b.Secrets {
		names = append(names, s.Name)
	}
	require.Equal(t, []string{"OPENAI_API_KEY", "OTHER", "SLACK_WEBHOOK_URL"}, names)
	require.Contains(t, errOut.String(), "secret OPENAI_API_KEY is used by an agent but not set on the server")
	require.Contains(t, errOut.String(), "secret SLACK_WEBHOOK_URL is used by an agent but not set on the server")
}

// TestErrorText: run and step errors print as text, not escaped JSON.
func TestErrorText(t *testing.T) {
	t.Parallel()
	require.Equal(t, "Code.Error: boom", errorText(map[string]any{"error": "Code.Error", "cause": "boom"}))
	require.Equal(t, "step fetch: Api.Http5xx: HTTP 502", errorText(json.RawMessage(`{"error":"Api.Http5xx","cause":"HTTP 502","stepKey":"fetch"}`)))
	require.Equal(t, "", errorText(json.RawMessage(`null`)))
	require.Equal(t, "", errorText(nil))
}

// TestToolsExample: examples/tools (an llm agent with a code agent as its
// tool) satisfies the schema and loads, the tool agent with its
// inputSchema; plan puts the tool agent before the llm agent naming it.
func TestToolsExample(t *testing.T) {
	t.Parallel()
	f, err := os.Open("../../examples/schema.json")
	require.NoError(t, err)
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	require.NoError(t, c.AddResource("schema.json", doc))
	sch, err := c.Compile("schema.json")
	require.NoError(t, err)
	raw, err := os.ReadFile("../../examples/tools/tools.yaml")
	require.NoError(t, err)
	for _, d := range yamlDocs(t, bytes.NewReader(raw)) {
		require.NoError(t, sch.Validate(d))
	}
	b, err := LoadFiles("../../examples/tools")
	require.NoError(t, err)
	require.Len(t, b.Agents, 2)
	b.Agents[0], b.Agents[1] = b.Agents[1], b.Agents[0] // the llm agent first in the files
	changes, _ := plan(b, &server{agents: map[string]map[string]any{}, workflows: map[string]map[string]any{}}, false)
	require.Equal(t, "city-weather", changes[0].Name)
	require.Equal(t, "weather-assistant", changes[1].Name)
	require.Equal(t, "object", b.Agents[1].InputSchema["type"])
	require.Equal(t, "object", agentBody(b.Agents[1])["inputSchema"].(map[string]any)["type"])
}
