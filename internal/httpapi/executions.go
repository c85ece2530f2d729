package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/turbocat/turbocat/internal/service"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// The executions group (functions/executions): runs, their steps and logs
// (with the live stream), cancel and retry.

func (s *Server) listExecutions(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := turbocat.ExecutionFilter{WorkflowID: q.Get("workflowId"), Status: q.Get("status"), DeploymentID: q.Get("deploymentId"), Trigger: q.Get("trigger")}
	return list(w, r, func(p turbocat.Page) (*turbocat.List[*turbocat.Execution], error) {
		if err := oneOf("status", f.Status, turbocat.ExecutionQueued, turbocat.ExecutionPending, turbocat.ExecutionRunning, turbocat.ExecutionWaiting, turbocat.ExecutionCompleted,
			turbocat.ExecutionFailed, turbocat.ExecutionCancelled, turbocat.ExecutionTimedOut); err != nil {
			return nil, err
		}
		if err := oneOf("trigger", f.Trigger, turbocat.TriggerAPI, turbocat.TriggerWebhook, turbocat.TriggerSchedule, turbocat.TriggerRetry, turbocat.TriggerWorkflow, turbocat.TriggerReplay, turbocat.TriggerMCP); err != nil {
			return nil, err
		}
		var err error
		if f.Since, err = timeParam(r, "since"); err != nil {
			return nil, err
		}
		if f.Until, err = timeParam(r, "until"); err != nil {
			return nil, err
		}
		return s.Executions.List(r.Context(), actor(r), f, p)
	})
}

func (s *Server) getExecution(w http.ResponseWriter, r *http.Request) error {
	return read(w, r, func() (*service.ExecutionDetail, error) {
		return s.Executions.Get(r.Context(), actor(r), r.PathValue("id"))
	})
}

func (s *Server) getExecutionSteps(w http.ResponseWriter, r *http.Request) error {
	return read(w, r, func() (map[string]any, error) {
		steps, err := s.Executions.Steps(r.Context(), actor(r), r.PathValue("id"))
		return map[string]any{"items": steps}, err
	})
}

func (s *Server) getStepTurns(w http.ResponseWriter, r *http.Request) error {
	return read(w, r, func() (map[string]any, error) {
		turns, err := s.Executions.Turns(r.Context(), actor(r), r.PathValue("id"), r.PathValue("key"))
		if turns == nil {
			turns = []*turbocat.StepTurn{}
		}
		return map[string]any{"items": turns}, err
	})
}

func (s *Server) getExecutionLogs(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	var after int64
	if p.Cursor != "" {
		if after, err = strconv.ParseInt(p.Cursor, 10, 64); err != nil || after < 0 {
			return turbocat.ValidationError("invalid cursor", turbocat.FieldError{Field: "cursor", Message: "not a cursor returned by this API"})
		}
	}
	if r.URL.Query().Get("follow") == "true" {
		return s.followLogs(w, r, after)
	}
	logs, err := s.Executions.Logs(r.Context(), actor(r), r.PathValue("id"), turbocat.LogRange{After: after, Limit: p.Limit})
	if err != nil {
		return err
	}
	list := turbocat.List[*turbocat.ExecutionLog]{Items: logs}
	if logs == nil {
		list.Items = []*turbocat.ExecutionLog{}
	}
	if len(logs) == p.Limit {
		list.NextCursor = strconv.FormatInt(logs[len(logs)-1].Sequence, 10)
	}
	writeData(w, r, http.StatusOK, list)
	return nil
}

func (s *Server) cancelExecution(w http.ResponseWriter, r *http.Request) error {
	return read(w, r, func() (*turbocat.Execution, error) {
		return s.Executions.Cancel(r.Context(), actor(r), r.PathValue("id"))
	})
}

func (s *Server) retryExecution(w http.ResponseWriter, r *http.Request) error {
	e, err := s.Executions.Retry(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.answerRun(w, r, e)
}

// MaxWait bounds ?wait=N on execute.
const MaxWait = 25

// waitParam reads ?wait=N (0 to MaxWait seconds; def when absent).
func waitParam(r *http.Request, def int) (int, error) {
	v := r.URL.Query().Get("wait")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > MaxWait {
		return 0, turbocat.ValidationError("invalid wait", turbocat.FieldError{Field: "wait", Message: fmt.Sprintf("must be 0 to %d seconds", MaxWait)})
	}
	return n, nil
}

// waitRun waits up to wait seconds for a run to end and returns it as it
// then is.
func (s *Server) waitRun(r *http.Request, e *turbocat.Execution, wait int) (*turbocat.Execution, error) {
	if wait <= 0 || service.Finished(e.Status) {
		return e, nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Duration(wait)*time.Second)
	defer cancel()
	return s.Executions.WaitFor(ctx, actor(r), e)
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
	wait, err := waitParam(r, 0)
	if err != nil {
		return err
	}
	if e, err = s.waitRun(r, e, wait); err != nil {
		return err
	}
	res := runResult{ExecutionID: e.ID, Status: e.Status}
	status := http.StatusAccepted
	if service.Finished(e.Status) {
		res.Output, res.Error, res.DurationMs = e.OutputData, e.Error, e.DurationMs
		if wait > 0 {
			// 200 answers a wait that saw the end; without ?wait the
			// answer is always 202, however fast the run was.
			status = http.StatusOK
		}
	}
	writeData(w, r, status, res)
	return nil
}

// followLogs streams an execution's logs and status changes as server-sent
// events until the run ends: `event: log` (data: a log line, id: its
// sequence), `event: status` (data: {status}), and a final `event: end`.
// A reconnecting client sends Last-Event-ID to resume after that line.
func (s *Server) followLogs(w http.ResponseWriter, r *http.Request, after int64) error {
	a := actor(r)
	id := r.PathValue("id")
	// The run's status, and the text models generate as "text" events (no
	// id: a preview, not replayed on reconnect; the step's output has the
	// whole answer).
	status, texts, stopTexts, err := s.Executions.Follow(r.Context(), a, id)
	if err != nil {
		return err
	}
	defer stopTexts()
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
	if d, ok := r.Context().Deadline(); ok && d.Add(-2*time.Second).Before(deadline) {
		// In Lambda the request ends with the function's timeout: end the
		// stream first, so what was sent arrives; the client resumes with
		// Last-Event-ID.
		deadline = d.Add(-2 * time.Second)
	}
	heartbeat := time.Now()
	for {
		logs, err := s.Executions.Logs(r.Context(), a, id, turbocat.LogRange{After: after, Limit: MaxLimit})
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
		st, last, err := s.Executions.Status(r.Context(), a, id)
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
		poll := time.NewTimer(200 * time.Millisecond)
	wait:
		for {
			select {
			case <-r.Context().Done():
				poll.Stop()
				return nil
			case t, ok := <-texts:
				if !ok {
					texts = nil
					continue
				}
				if err := send("text", "", t); err != nil {
					poll.Stop()
					return nil
				}
			case <-poll.C:
				break wait
			}
		}
	}
}

func (s *Server) usage(w http.ResponseWriter, r *http.Request) error {
	days := 30
	if v := r.URL.Query().Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return turbocat.ValidationError("invalid days", turbocat.FieldError{Field: "days", Message: "must be a whole number of days"})
		}
		days = n
	}
	return read(w, r, func() (*service.UsageReport, error) {
		u, err := s.Auth.Me(r.Context(), actor(r))
		if err != nil {
			return nil, err
		}
		return s.Executions.Usage(r.Context(), actor(r), days, u.MonthlyBudgetUSD, time.Now())
	})
}
