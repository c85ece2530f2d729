// Package e2e is Turbocat's end-to-end scenario, written once and run
// against any running Turbocat by its base URL: `turbocat dev` in `make test`,
// and a stack deployed to LocalStack or AWS by `make test-localstack`.
// It registers, creates agents and a workflow with a parallel branch,
// deploys it, triggers it by signed webhook (a replay starts nothing new),
// waits for the run to complete and reads its steps and logs.
package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type client struct {
	t     *testing.T
	base  string
	token string
}

func (c *client) call(method, path string, body any, headers map[string]string, out any) int {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(c.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	require.NoError(c.t, err)
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if out != nil {
		var env struct {
			Success bool
			Data    json.RawMessage
		}
		require.NoError(c.t, json.Unmarshal(raw, &env), "%s %s: %s", method, path, raw)
		require.True(c.t, env.Success, "%s %s: %d %s", method, path, res.StatusCode, raw)
		require.NoError(c.t, json.Unmarshal(env.Data, out))
	}
	return res.StatusCode
}

func sign(secret string, t time.Time, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%d.", t.Unix())
	mac.Write(body)
	return fmt.Sprintf("t=%d,v1=%s", t.Unix(), hex.EncodeToString(mac.Sum(nil)))
}

// Run runs the scenario against base (e.g. http://127.0.0.1:3001). The
// webhook is called at hookBase+path of the deployment's endpoint (the same
// as base unless the stack serves hooks elsewhere).
func Run(t *testing.T, base string) {
	c := &client{t: t, base: strings.TrimRight(base, "/")}
	var sess struct{ AccessToken string }
	email := fmt.Sprintf("e2e-%d@example.com", time.Now().UnixNano())
	require.Equal(t, 201, c.call("POST", "/api/v1/auth/register", map[string]string{"email": email, "password": "correct horse battery", "fullName": "E2E"}, nil, &sess))
	c.token = sess.AccessToken

	agent := func(name, src string) string {
		var a struct{ ID string }
		require.Equal(t, 201, c.call("POST", "/api/v1/agents", map[string]any{"name": name, "type": "code", "config": map[string]any{"source": src}}, nil, &a))
		return a.ID
	}
	split := agent("split", `function main(input) { console.log("splitting " + input.text); return { words: input.text.split(" ") }; }`)
	count := agent("count", `function main(input) { return { n: input.words.length }; }`)
	upper := agent("upper", `function main(input) { return { words: input.words.map(w => w.toUpperCase()) }; }`)
	join := agent("join", `function main(input) { return { line: input.words.join("-") + " (" + input.n + ")" }; }`)
	var wf struct{ ID string }
	require.Equal(t, 201, c.call("POST", "/api/v1/workflows", map[string]any{
		"name":        "e2e",
		"inputSchema": map[string]any{"type": "object", "required": []string{"text"}, "properties": map[string]any{"text": map[string]any{"type": "string"}}},
		"output":      map[string]any{"line": "{{steps.join.output.line}}"},
		"steps": []map[string]any{
			{"key": "split", "agentId": split, "inputs": map[string]any{"text": "{{inputs.text}}"}},
			{"key": "count", "agentId": count, "dependsOn": []string{"split"}, "inputs": map[string]any{"words": "{{steps.split.output.words}}"}},
			{"key": "upper", "agentId": upper, "dependsOn": []string{"split"}, "inputs": map[string]any{"words": "{{steps.split.output.words}}"}},
			{"key": "join", "agentId": join, "dependsOn": []string{"count", "upper"}, "inputs": map[string]any{"words": "{{steps.upper.output.words}}", "n": "{{steps.count.output.n}}"}},
		}}, nil, &wf))

	var dep struct {
		ID            string
		Status        string
		EndpointURL   string
		SigningSecret string
	}
	require.Equal(t, 201, c.call("POST", "/api/v1/workflows/"+wf.ID+"/deployments", map[string]any{"environment": "prod"}, nil, &dep))
	require.Equal(t, "active", dep.Status)
	body := []byte(`{"text":"hello turbocat world"}`)
	headers := map[string]string{"X-Turbocat-Signature": sign(dep.SigningSecret, time.Now(), body), "Idempotency-Key": "e2e-evt-1"}
	hook := &client{t: t, base: ""}
	var run, replay struct{ ExecutionID string }
	require.Equal(t, 202, hook.call("POST", dep.EndpointURL, body, headers, &run))
	require.Equal(t, 202, hook.call("POST", dep.EndpointURL, body, headers, &replay))
	require.Equal(t, run.ExecutionID, replay.ExecutionID, "a replayed webhook starts nothing new")
	require.Equal(t, 401, hook.call("POST", dep.EndpointURL, body, map[string]string{"X-Turbocat-Signature": "t=1,v1=00"}, nil))

	var e struct {
		Status     string
		OutputData map[string]string
		Steps      []struct{ StepKey, Status string }
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		c.call("GET", "/api/v1/executions/"+run.ExecutionID, nil, nil, &e)
		if e.Status != "pending" && e.Status != "running" {
			break
		}
		require.True(t, time.Now().Before(deadline), "run still %s after 60 s", e.Status)
		time.Sleep(100 * time.Millisecond)
	}
	require.Equal(t, "completed", e.Status)
	require.Equal(t, "HELLO-TURBOCAT-WORLD (3)", e.OutputData["line"])
	require.Len(t, e.Steps, 4)
	var logs struct {
		Items []struct{ StepKey, Message string }
	}
	c.call("GET", "/api/v1/executions/"+run.ExecutionID+"/logs", nil, nil, &logs)
	require.NotEmpty(t, logs.Items)
	require.Equal(t, "splitting hello turbocat world", logs.Items[0].Message)
}
