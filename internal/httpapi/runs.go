package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/secrets"
	"github.com/turbocat/turbocat/internal/service"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// MaxWait bounds ?wait=N on execute.
const MaxWait = 25

func (s *Server) runs() (*service.Executions, error) {
	if s.Runs == nil {
		return nil, turbocat.Errorf(turbocat.EUNAVAILABLE, "no workflow engine is configured on this server")
	}
	return s.Runs, nil
}

// runResult is the answer of execute and retry.
type runResult struct {
	ExecutionID string          `json:"executionId"`
	Status      string          `json:"status"`
	Output      json.RawMessage `json:"output,omitempty"`
	Error       json.RawMessage `json:"error,omitempty"`
	DurationMs  *int64          `json:"durationMs,omitempty"`
}

// answerRun writes 202 with the id, or, with ?wait=N, waits up to N seconds
// and writes 200 with the final state if the run ended by then.
func (s *Server) answerRun(w http.ResponseWriter, r *http.Request, e *turbocat.Execution) error {
	wait := 0
	if v := r.URL.Query().Get("wait"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > MaxWait {
			return turbocat.ValidationError("invalid wait", turbocat.FieldError{Field: "wait", Message: fmt.Sprintf("must be 0 to %d seconds", MaxWait)})
		}
		wait = n
	}
	if wait > 0 && !service.Finished(e.Status) {
		ctx, cancel := context.WithTimeout(r.Context(), time.Duration(wait)*time.Second)
		defer cancel()
		got, err := s.Runs.Wait(ctx, actor(r).UserID, e.ID)
		if err != nil {
			return err
		}
		e = got
	}
	res := runResult{ExecutionID: e.ID, Status: e.Status}
	status := http.StatusAccepted
	if service.Finished(e.Status) {
		status = http.StatusOK
		res.Output, res.Error, res.DurationMs = e.OutputData, e.Error, e.DurationMs
	}
	writeData(w, r, status, res)
	return nil
}

func (s *Server) executeWorkflow(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.Workflows.Workflow(r.Context(), actor(r).UserID, r.PathValue("id")); err != nil {
		return err // another user's workflow is a 404 whatever else is true
	}
	runs, err := s.runs()
	if err != nil {
		return err
	}
	var in service.ExecuteInput
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	if k := r.Header.Get("Idempotency-Key"); k != "" && in.IdempotencyKey == "" {
		in.IdempotencyKey = k
	}
	var e *turbocat.Execution
	if in.Environment != "" {
		e, err = s.executeDeployed(r, runs, in)
	} else {
		e, err = runs.Execute(r.Context(), actor(r), r.PathValue("id"), in, turbocat.TriggerAPI, nil)
	}
	if err != nil {
		return err
	}
	return s.answerRun(w, r, e)
}

// executeDeployed runs the workflow's active deployment in in.Environment:
// its version, recorded with the deployment, as a webhook call would.
func (s *Server) executeDeployed(r *http.Request, runs *service.Executions, in service.ExecuteInput) (*turbocat.Execution, error) {
	if len(in.IdempotencyKey) > 200 {
		return nil, turbocat.ValidationError("invalid idempotency key", turbocat.FieldError{Field: "idempotencyKey", Message: "must be at most 200 characters"})
	}
	deploys, err := s.deploys()
	if err != nil {
		return nil, err
	}
	d, err := deploys.Active(r.Context(), actor(r).UserID, r.PathValue("id"), in.Environment)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, turbocat.Errorf(turbocat.ENOTFOUND, "the workflow has no active deployment in %q: deploy it there first, or leave environment out to run the current version", in.Environment)
	}
	return runs.StartDeployed(r.Context(), d, in.Input, turbocat.TriggerAPI, in.IdempotencyKey)
}

func (s *Server) cancelExecution(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.Executions.Execution(r.Context(), actor(r).UserID, r.PathValue("id")); err != nil {
		return err
	}
	runs, err := s.runs()
	if err != nil {
		return err
	}
	e, err := runs.Cancel(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, e)
	return nil
}

func (s *Server) retryExecution(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.Executions.Execution(r.Context(), actor(r).UserID, r.PathValue("id")); err != nil {
		return err
	}
	runs, err := s.runs()
	if err != nil {
		return err
	}
	if !actor(r).HasScope("workflows:execute") {
		return turbocat.Errorf(turbocat.EFORBIDDEN, "retrying runs the workflow again: the key needs workflows:execute")
	}
	e, err := runs.Retry(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.answerRun(w, r, e)
}

type agentTestInput struct {
	Input          json.RawMessage `json:"input"`
	TimeoutSeconds int             `json:"timeoutSeconds"`
}

// agentTestResult is the outcome of one test run of an agent.
type agentTestResult struct {
	OK         bool                `json:"ok"`
	Output     json.RawMessage     `json:"output,omitempty"`
	Error      *turbocat.StepError `json:"error,omitempty"`
	Logs       []executor.LogLine  `json:"logs"`
	Usage      *executor.Usage     `json:"usage,omitempty"`
	DurationMs int64               `json:"durationMs"`
}

// MaxAgentTestSeconds bounds a test run (it holds the HTTP request).
const MaxAgentTestSeconds = 60

func (s *Server) testAgent(w http.ResponseWriter, r *http.Request) error {
	a := actor(r)
	agent, err := s.Agents.Agent(r.Context(), a.UserID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if s.Runner == nil {
		return turbocat.Errorf(turbocat.EUNAVAILABLE, "agent test runs are not available on this server")
	}
	var in agentTestInput
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	if in.TimeoutSeconds < 0 || in.TimeoutSeconds > MaxAgentTestSeconds {
		return turbocat.ValidationError("invalid timeout", turbocat.FieldError{Field: "timeoutSeconds", Message: fmt.Sprintf("must be 1 to %d", MaxAgentTestSeconds)})
	}
	timeout := time.Duration(in.TimeoutSeconds) * time.Second
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	input := in.Input
	if len(input) == 0 {
		input = json.RawMessage(`{}`)
	}
	scrub := secrets.NewScrubber()
	ctx, cancel := context.WithTimeout(r.Context(), timeout+5*time.Second)
	defer cancel()
	res, runErr := s.Runner.RunAgent(ctx, a.UserID, agent, input, timeout, scrub)
	out := agentTestResult{OK: runErr == nil, Output: scrub.JSON(res.Output), Usage: res.Usage, DurationMs: res.DurationMs, Logs: res.Logs}
	for i := range out.Logs {
		out.Logs[i].Message = scrub.String(out.Logs[i].Message)
		out.Logs[i].Data = scrub.JSON(out.Logs[i].Data)
	}
	if out.Logs == nil {
		out.Logs = []executor.LogLine{}
	}
	if runErr != nil {
		xe := executor.AsError(runErr, "")
		xe.Cause = scrub.String(xe.Cause)
		out.Error = xe
	}
	if err := s.Audit.Audit(r.Context(), "agent.test", "agent", agent.ID, map[string]any{"ok": out.OK, "durationMs": out.DurationMs}); err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, out)
	return nil
}

// followLogs streams an execution's logs and status changes as server-sent
// events until the run ends: `event: log` (data: a log line, id: its
// sequence), `event: status` (data: {status}), and a final `event: end`.
// A reconnecting client sends Last-Event-ID to resume after that line.
func (s *Server) followLogs(w http.ResponseWriter, r *http.Request, after int64) error {
	a := actor(r)
	id := r.PathValue("id")
	status, _, err := s.Executions.ExecutionStatus(r.Context(), a.UserID, id)
	if err != nil {
		return err
	}
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			after = n
		}
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(event, id string, data any) error {
		b, _ := json.Marshal(data)
		if id != "" {
			if _, err := fmt.Fprintf(w, "id: %s\n", id); err != nil {
				return err
			}
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil {
			return err
		}
		return rc.Flush()
	}
	if err := send("status", "", map[string]string{"status": status}); err != nil {
		return nil
	}
	deadline := time.Now().Add(15 * time.Minute)
	heartbeat := time.Now()
	for {
		logs, err := s.Executions.ExecutionLogs(r.Context(), a.UserID, id, turbocat.LogRange{After: after, Limit: MaxLimit})
		if err != nil {
			return nil // the stream is open: nothing more can be said in the envelope
		}
		for _, l := range logs {
			if err := send("log", strconv.FormatInt(l.Sequence, 10), l); err != nil {
				return nil
			}
			after = l.Sequence
		}
		if len(logs) == MaxLimit {
			continue
		}
		st, last, err := s.Executions.ExecutionStatus(r.Context(), a.UserID, id)
		if err != nil {
			return nil
		}
		if st != status {
			status = st
			if err := send("status", "", map[string]string{"status": status}); err != nil {
				return nil
			}
		}
		if service.Finished(status) && last <= after {
			_ = send("end", "", map[string]string{"status": status})
			return nil
		}
		if time.Now().After(deadline) {
			return nil // the client reconnects with Last-Event-ID
		}
		if time.Since(heartbeat) > 15*time.Second {
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return nil
			}
			heartbeat = time.Now()
		}
		select {
		case <-r.Context().Done():
			return nil
		case <-time.After(200 * time.Millisecond):
		}
	}
}
