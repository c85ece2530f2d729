package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/turbocat/turbocat/internal/service"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// replayExecution replays a finished run (POST /executions/{id}/replay):
// it waits for the replay up to ?wait=N seconds (default and most
// MaxWait) and answers its report, 200 when the replay ended, else 202
// (GET /executions/{replayId}/replay-report has it later).
func (s *Server) replayExecution(w http.ResponseWriter, r *http.Request) error {
	wait := MaxWait
	if v := r.URL.Query().Get("wait"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > MaxWait {
			return turbocat.ValidationError("invalid wait", turbocat.FieldError{Field: "wait", Message: fmt.Sprintf("must be 0 to %d seconds", MaxWait)})
		}
		wait = n
	}
	var in service.ReplayInput
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	e, err := s.Executions.Replay(r.Context(), actor(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	if wait > 0 && !service.Finished(e.Status) {
		ctx, cancel := context.WithTimeout(r.Context(), time.Duration(wait)*time.Second)
		defer cancel()
		if _, err := s.Executions.WaitFor(ctx, actor(r), e); err != nil {
			return err
		}
	}
	rep, err := s.Executions.ReplayReport(r.Context(), actor(r), e.ID)
	if err != nil {
		return err
	}
	status := http.StatusAccepted
	if rep.Finished {
		status = http.StatusOK
	}
	writeData(w, r, status, rep)
	return nil
}

// getReplayReport answers a replay's report (GET
// /executions/{id}/replay-report).
func (s *Server) getReplayReport(w http.ResponseWriter, r *http.Request) error {
	return read(w, r, func() (*service.ReplayReport, error) {
		return s.Executions.ReplayReport(r.Context(), actor(r), r.PathValue("id"))
	})
}
