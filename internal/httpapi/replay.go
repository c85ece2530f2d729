package httpapi

import (
	"net/http"

	"github.com/turbocat/turbocat/internal/service"
)

// replayExecution replays a finished run (POST /executions/{id}/replay):
// it waits for the replay up to ?wait=N seconds (default and most
// MaxWait) and answers its report, 200 when the replay ended, else 202
// (GET /executions/{replayId}/replay-report has it later).
func (s *Server) replayExecution(w http.ResponseWriter, r *http.Request) error {
	wait, err := waitParam(r, MaxWait)
	if err != nil {
		return err
	}
	var in service.ReplayInput
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	e, err := s.Executions.Replay(r.Context(), actor(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	if _, err := s.waitRun(r, e, wait); err != nil {
		return err
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
