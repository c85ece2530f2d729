package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// fault is one way of breaking things while runs are in flight. inject
// breaks, repairs, and returns the moment everything it broke is back.
type fault struct {
	name   string
	desc   string
	inject func(ctx context.Context, s *scenario) (time.Time, error)
}

var faults = []fault{
	{"pg-restart", "pg_ctl restart -m fast", func(ctx context.Context, s *scenario) (time.Time, error) {
		err := s.h.pg.Restart(ctx)
		return time.Now(), err
	}},
	{"pg-kill", "kill -9 of the postmaster, then pg_ctl start", func(ctx context.Context, s *scenario) (time.Time, error) {
		if err := s.h.pg.Kill(ctx); err != nil {
			return time.Time{}, err
		}
		sleep(ctx, s.h.opts.down)
		err := s.h.pg.Start(ctx, time.Minute)
		return time.Now(), err
	}},
	{"turbocat-kill", "kill -9 of turbocat dev (its process group), then start it again", func(ctx context.Context, s *scenario) (time.Time, error) {
		s.dev.Kill()
		sleep(ctx, s.h.opts.down)
		err := s.restartDev(ctx)
		return time.Now(), err
	}},
	{"both-kill", "kill -9 of turbocat dev and of the postmaster; start Postgres, then turbocat dev", func(ctx context.Context, s *scenario) (time.Time, error) {
		s.dev.Kill()
		if err := s.h.pg.Kill(ctx); err != nil {
			return time.Time{}, err
		}
		sleep(ctx, s.h.opts.down)
		if err := s.h.pg.Start(ctx, time.Minute); err != nil {
			return time.Time{}, err
		}
		err := s.restartDev(ctx)
		return time.Now(), err
	}},
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// Step statuses: the ones that are still going. Anything else (completed,
// failed, skipped, cancelled, ...) is an end.
func stepOpen(status string) bool { return status == "pending" || status == "running" }

// runEnded reports whether an execution status is terminal.
func runEnded(status string) bool {
	switch status {
	case "completed", "failed", "cancelled", "timed_out":
		return true
	}
	return false
}

// stepKeys is the steps workload's DAG: s1 → (s2 ‖ s3) → s4 → s5.
var stepKeys = []string{"s1", "s2", "s3", "s4", "s5"}

// Workloads (-workload).
const (
	workloadSteps = "steps"
	workloadAgent = "agent"
)

// effectsPerRun is how many effects a run of the workload sends: one per
// step, or the agent's model turns and its tool calls between them.
func (s *scenario) effectsPerRun() int {
	if s.h.opts.workload == workloadAgent {
		return 2*modelTurns - 1
	}
	return len(stepKeys)
}

// lastEffect is the effect a completed step must have sent: its call, or
// the agent's final model turn.
func (s *scenario) lastEffect(stepKey string) string {
	if s.h.opts.workload == workloadAgent {
		return fmt.Sprintf("model-turn%d", modelTurns-1)
	}
	return stepKey
}

// result is what one fault scenario measured.
type result struct {
	Fault  string `json:"fault"`
	Runs   int    `json:"runs"`
	Window string `json:"window"`
	// InFlight is how many runs had not ended when the fault struck.
	InFlight int `json:"inFlightAtFault"`
	// Down is from the fault to everything back; APIReady is from then to
	// the API's /ready answering 200 (-1: not within the window).
	DownMs     int64 `json:"downMs"`
	APIReadyMs int64 `json:"apiReadyMs"`
	// Terminal counts runs ended by the end of the window; LastEndMs is
	// when the last of them ended (after recovery; -1 if some never did).
	Terminal  int        `json:"terminalInWindow"`
	LastEndMs int64      `json:"lastEndMs"`
	Stuck     []stuckRun `json:"stuck,omitempty"`
	// Final statuses, as the API answers after the window.
	Statuses map[string]int `json:"statuses"`
	// OpenSteps counts pending/running steps of runs that have ended.
	OpenSteps        int         `json:"openStepsInEndedRuns"`
	OpenStepExamples []string    `json:"openStepExamples,omitempty"`
	Effects          effectStats `json:"effects"`
	// CompletedNoEffect counts steps recorded completed whose call never
	// reached the counter.
	CompletedNoEffect int      `json:"completedStepsWithoutEffect"`
	DevExited         string   `json:"turbocatExited,omitempty"`
	DevNotBack        string   `json:"turbocatNotBack,omitempty"`
	Notes             []string `json:"notes,omitempty"`
	Err               string   `json:"error,omitempty"`
}

// stuckRun is a run not ended when the window closed.
type stuckRun struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Engine  string `json:"engineStatus"`  // the local runtime's status of its execution (DescribeExecution)
	Journal string `json:"journalStatus"` // the same, as journaled in runtime_executions
	Steps   string `json:"steps"`         // s1=completed s2=running ...
	Error   string `json:"error,omitempty"`
}

// failures lists how the result misses the bar of issue 13 ("Done when"):
// every run terminal within the window, none stuck, no open step in an
// ended run, every repeated effect carrying one key. Empty means it passes.
func (r *result) failures() []string {
	var f []string
	if r.Err != "" {
		return []string{"harness error: " + r.Err}
	}
	if r.InFlight == 0 {
		f = append(f, "no run was in flight when the fault struck (the test proved nothing: raise -effect-delay)")
	}
	if r.Terminal < r.Runs {
		f = append(f, fmt.Sprintf("%d of %d runs terminal within %s of recovery (%.1f%%, want 100%%)", r.Terminal, r.Runs, r.Window, pct(r.Terminal, r.Runs)))
	}
	if len(r.Stuck) > 0 {
		f = append(f, fmt.Sprintf("%d runs stuck (want 0)", len(r.Stuck)))
	}
	if r.OpenSteps > 0 {
		f = append(f, fmt.Sprintf("%d steps left pending/running in ended runs (want 0)", r.OpenSteps))
	}
	if r.Effects.RepeatedUnkeyed > 0 {
		f = append(f, fmt.Sprintf("%d effects repeated without a key or with different keys (want 0)", r.Effects.RepeatedUnkeyed))
	}
	if r.Effects.SharedKeys > 0 {
		f = append(f, fmt.Sprintf("%d keys shared by different effects (a receiver would drop real effects)", r.Effects.SharedKeys))
	}
	if r.DevExited != "" {
		f = append(f, "turbocat dev exited on its own: "+r.DevExited)
	}
	if r.DevNotBack != "" {
		f = append(f, "turbocat dev did not start again after the fault: "+r.DevNotBack)
	}
	return f
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

// scenario is one fault's run: a fresh database, a fresh turbocat dev.
type scenario struct {
	h    *harness
	f    fault
	db   string
	cfg  devConfig
	log  string
	dev  *devProc
	api  *api
	wf   string
	ids  []string
	only map[string]bool
}

// restartDev starts turbocat dev (again).
func (s *scenario) restartDev(ctx context.Context) error {
	d, err := startDev(ctx, s.cfg, s.log)
	if err != nil {
		return &devNotBackError{err}
	}
	s.dev = d
	return nil
}

// devNotBackError is turbocat dev failing to start: during set-up the
// harness cannot go on, after a fault it is a finding.
type devNotBackError struct{ err error }

func (e *devNotBackError) Error() string { return e.err.Error() }
func (e *devNotBackError) Unwrap() error { return e.err }

// run executes the scenario. A returned error is the harness's own failure
// (the scenario could not be carried out); what turbocat does is in the
// result.
func (h *harness) run(ctx context.Context, f fault) *result {
	res := &result{Fault: f.name, Runs: h.opts.runs, Window: h.opts.window.String(), LastEndMs: -1, APIReadyMs: -1, Statuses: map[string]int{}}
	s := &scenario{h: h, f: f, db: "chaos_" + strings.ReplaceAll(f.name, "-", "_"), log: filepath.Join(h.logs, "turbocat-"+f.name+".log")}
	defer func() {
		if s.dev != nil {
			s.dev.Stop()
		}
	}()
	if err := s.carry(ctx, res); err != nil {
		res.Err = err.Error()
	}
	return res
}

func (s *scenario) carry(ctx context.Context, res *result) error {
	h := s.h
	h.ctr.reset()
	if err := h.pg.FreshDB(ctx, s.db); err != nil {
		return fmt.Errorf("fresh database: %w", err)
	}
	s.cfg = devConfig{bin: h.bin, workDir: h.work, dbURL: h.pg.URL(s.db), port: h.ports.api, sfnPort: h.ports.sfn}
	logf("%s: starting turbocat dev on :%d (log %s)", s.f.name, h.ports.api, s.log)
	if err := s.restartDev(ctx); err != nil {
		return err
	}
	s.api = newAPI(h.ports.api)
	if err := s.setup(ctx); err != nil {
		return fmt.Errorf("workload set-up: %w", err)
	}
	logf("%s: starting %d runs", s.f.name, h.opts.runs)
	t0 := time.Now()
	if err := s.start(ctx); err != nil {
		return err
	}
	logf("%s: %d runs started in %s", s.f.name, len(s.ids), time.Since(t0).Round(time.Millisecond))

	// Strike once a share of the effects has been sent: most runs are then
	// between their first and last step, many steps in their HTTP call.
	want := int(h.opts.injectAt * float64(s.effectsPerRun()*len(s.ids)))
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	for h.ctr.sends(s.only) < want && waitCtx.Err() == nil {
		sleep(waitCtx, 20*time.Millisecond)
	}
	cancel()
	if err := ctx.Err(); err != nil {
		return err
	}
	if n := h.ctr.sends(s.only); n < want {
		res.Notes = append(res.Notes, fmt.Sprintf("struck after 30 s with %d of the %d effects meant to precede the fault", n, want))
	}
	st, err := s.statuses(ctx)
	if err != nil {
		return fmt.Errorf("statuses before the fault: %w", err)
	}
	for _, id := range s.ids {
		if !runEnded(st[id]) {
			res.InFlight++
		}
	}
	logf("%s: fault (%s) with %d runs in flight, %d effects sent", s.f.name, s.f.desc, res.InFlight, h.ctr.sends(s.only))
	struck := time.Now()
	recovered, err := s.f.inject(ctx, s)
	var notBack *devNotBackError
	if errors.As(err, &notBack) && ctx.Err() == nil {
		// Measured like any other outcome: the runs will not end.
		res.DevNotBack, err = notBack.Error(), nil
		s.dev = nil
	}
	if err != nil {
		return fmt.Errorf("inject %s: %w", s.f.name, err)
	}
	res.DownMs = recovered.Sub(struck).Milliseconds()
	logf("%s: back after %s; watching the runs for %s", s.f.name, recovered.Sub(struck).Round(time.Millisecond), h.opts.window)

	ready := make(chan int64, 1)
	go func() {
		err := waitHTTP(ctx, fmt.Sprintf("http://127.0.0.1:%d/ready", h.ports.api), h.opts.window, nil)
		if err != nil {
			ready <- -1
			return
		}
		ready <- time.Since(recovered).Milliseconds()
	}()
	if err := s.watch(ctx, res, recovered); err != nil {
		return err
	}
	res.APIReadyMs = <-ready
	if s.dev != nil {
		if exited, werr := s.dev.Exited(); exited {
			res.DevExited = fmt.Sprint(werr)
		}
	}
	return s.final(ctx, res)
}

// setup registers a user and creates the API agent and the workflow, then
// runs it once to check the whole path (the counter must see the call).
func (s *scenario) setup(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	var sess struct {
		AccessToken string `json:"accessToken"`
	}
	if err := s.api.do(ctx, http.MethodPost, "/auth/register", map[string]any{"email": "chaos@example.com", "password": "correct horse battery staple", "fullName": "Chaos"}, &sess); err != nil {
		return err
	}
	s.api.token = sess.AccessToken
	var agent struct {
		ID string `json:"id"`
	}
	// No Idempotency-Key header in the agent: what is measured is what
	// Turbocat sends by itself.
	if err := s.api.do(ctx, http.MethodPost, "/agents", map[string]any{"name": "effect", "type": "api", "config": map[string]any{
		"method": "POST",
		"url":    fmt.Sprintf("http://127.0.0.1:%d/effect/{{input.exec}}/{{input.step}}", s.h.ports.counter),
		"body":   map[string]any{"exec": "{{input.exec}}", "step": "{{input.step}}"},
	}}, &agent); err != nil {
		return err
	}
	var steps []map[string]any
	if s.h.opts.workload == workloadAgent {
		// The effect agent is the llm agent's tool; the model (the counter)
		// asks for it twice, one call a turn, then answers.
		var llm struct {
			ID string `json:"id"`
		}
		if err := s.api.do(ctx, http.MethodPost, "/agents", map[string]any{"name": "planner", "type": "llm", "config": map[string]any{
			"provider": "openai", "model": "gpt-4o-mini", "baseUrl": fmt.Sprintf("http://127.0.0.1:%d/v1", s.h.ports.counter),
			"prompt": "run {{input.exec}}", "tools": []any{map[string]any{"agent": "effect"}},
		}}, &llm); err != nil {
			return err
		}
		steps = []map[string]any{{"key": "ask", "agentId": llm.ID, "inputs": map[string]any{"exec": "{{execution.id}}"}}}
	} else {
		deps := map[string][]string{"s2": {"s1"}, "s3": {"s1"}, "s4": {"s2", "s3"}, "s5": {"s4"}}
		for _, k := range stepKeys {
			st := map[string]any{"key": k, "agentId": agent.ID, "inputs": map[string]any{"exec": "{{execution.id}}", "step": k}}
			if d := deps[k]; d != nil {
				st["dependsOn"] = d
			}
			steps = append(steps, st)
		}
	}
	var wf struct {
		ID string `json:"id"`
	}
	if err := s.api.do(ctx, http.MethodPost, "/workflows", map[string]any{"name": "chaos", "steps": steps}, &wf); err != nil {
		return err
	}
	s.wf = wf.ID
	var warm struct {
		ExecutionID string          `json:"executionId"`
		Status      string          `json:"status"`
		Error       json.RawMessage `json:"error"`
	}
	if err := s.api.do(ctx, http.MethodPost, "/workflows/"+s.wf+"/execute?wait=25", map[string]any{"input": map[string]any{}}, &warm); err != nil {
		return fmt.Errorf("warm-up run: %w", err)
	}
	if warm.Status != "completed" {
		return fmt.Errorf("warm-up run %s ended %q, not completed: %s", warm.ExecutionID, warm.Status, warm.Error)
	}
	if n := s.h.ctr.sends(map[string]bool{warm.ExecutionID: true}); n != s.effectsPerRun() {
		return fmt.Errorf("warm-up run %s: the counter saw %d calls, want %d", warm.ExecutionID, n, s.effectsPerRun())
	}
	return nil
}

// start starts the runs concurrently through the API.
func (s *scenario) start(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	n := s.h.opts.runs
	ids := make([]string, n)
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < s.h.opts.parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				// The key makes a retried start safe.
				body := map[string]any{"input": map[string]any{}, "idempotencyKey": fmt.Sprintf("chaos-%d", i)}
				var out struct {
					ExecutionID string `json:"executionId"`
				}
				var err error
				for try := 0; try < 3; try++ {
					if err = s.api.do(ctx, http.MethodPost, "/workflows/"+s.wf+"/execute", body, &out); err == nil {
						break
					}
					sleep(ctx, 200*time.Millisecond)
				}
				ids[i], errs[i] = out.ExecutionID, err
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("starting runs: %w", err)
	}
	s.ids = ids
	s.only = map[string]bool{}
	for _, id := range ids {
		s.only[id] = true
	}
	if len(s.only) != n {
		return fmt.Errorf("starting runs: %d distinct execution ids for %d runs", len(s.only), n)
	}
	return nil
}

// statuses reads the runs' statuses straight from the database (it works
// whatever state turbocat dev is in).
func (s *scenario) statuses(ctx context.Context) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.h.pg.URL(s.db))
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, "SELECT id::text, status FROM executions WHERE workflow_id = $1::uuid", s.wf)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for rows.Next() {
		var id, st string
		if err := rows.Scan(&id, &st); err != nil {
			return nil, err
		}
		out[id] = st
	}
	return out, rows.Err()
}

// watch polls the runs until every one has ended or the window closes.
func (s *scenario) watch(ctx context.Context, res *result, recovered time.Time) error {
	deadline := recovered.Add(s.h.opts.window)
	ended := map[string]time.Duration{}
	var last map[string]string
	for {
		st, err := s.statuses(ctx)
		if err == nil {
			last = st
			for _, id := range s.ids {
				if _, ok := ended[id]; !ok && runEnded(st[id]) {
					ended[id] = max(0, time.Since(recovered))
				}
			}
		}
		if len(ended) == len(s.ids) || !time.Now().Before(deadline) {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		sleep(ctx, min(500*time.Millisecond, time.Until(deadline)))
	}
	if last == nil {
		return errors.New("the database never answered during the window")
	}
	res.Terminal = len(ended)
	if len(ended) == len(s.ids) {
		var m time.Duration
		for _, d := range ended {
			m = max(m, d)
		}
		res.LastEndMs = m.Milliseconds()
	}
	for _, id := range s.ids {
		if _, ok := ended[id]; !ok {
			res.Stuck = append(res.Stuck, stuckRun{ID: id, Status: last[id]})
		}
	}
	return nil
}

// final reads every run from the API (falling back on the database for a
// run the API does not answer), and counts the effects.
func (s *scenario) final(ctx context.Context, res *result) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	runs := make([]*run, len(s.ids))
	apiUp := s.dev != nil && res.DevExited == ""
	if apiUp {
		s.apiRuns(ctx, runs)
	} else {
		res.Notes = append(res.Notes, "turbocat dev is not running: runs read from the database")
	}
	db, err := s.dbRuns(ctx)
	if err != nil {
		return fmt.Errorf("read runs from the database: %w", err)
	}
	apiMissing := 0
	for i, id := range s.ids {
		if runs[i] == nil && db[id] != nil {
			apiMissing++
			runs[i] = &db[id].run
		}
		if runs[i] == nil {
			return fmt.Errorf("run %s: neither the API nor the database has it", id)
		}
	}
	if apiUp && apiMissing > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("the API did not answer for %d runs (read from the database instead)", apiMissing))
	}
	if apiUp {
		if list, err := s.api.listRuns(ctx, s.wf); err != nil {
			res.Notes = append(res.Notes, "GET /executions failed: "+err.Error())
		} else if len(list) != len(s.ids)+1 {
			res.Notes = append(res.Notes, fmt.Sprintf("GET /executions lists %d runs of the workflow, want %d (+1 warm-up)", len(list), len(s.ids)))
		}
	}

	recs := s.h.ctr.snapshot()
	called := map[string]bool{}
	for _, e := range recs {
		called[e.Exec+":"+e.Step] = true
	}
	byID := map[string]*run{}
	for _, r := range runs {
		byID[r.ID] = r
		res.Statuses[r.Status]++
		for _, st := range r.Steps {
			if runEnded(r.Status) && stepOpen(st.Status) {
				res.OpenSteps++
				if len(res.OpenStepExamples) < 5 {
					res.OpenStepExamples = append(res.OpenStepExamples, fmt.Sprintf("%s %s: run %s, step %s", r.ID, st.StepKey, r.Status, st.Status))
				}
			}
			if st.Status == "completed" && !called[r.ID+":"+s.lastEffect(st.StepKey)] {
				res.CompletedNoEffect++
			}
		}
	}
	for i := range res.Stuck {
		sr := &res.Stuck[i]
		r := byID[sr.ID]
		if r == nil {
			continue
		}
		sr.Status = r.Status
		if len(r.Error) > 0 && string(r.Error) != "null" {
			sr.Error = string(r.Error)
		}
		var parts []string
		sort.Slice(r.Steps, func(a, b int) bool { return r.Steps[a].StepKey < r.Steps[b].StepKey })
		for _, st := range r.Steps {
			parts = append(parts, st.StepKey+"="+st.Status)
		}
		sr.Steps = strings.Join(parts, " ")
		if d := db[sr.ID]; d != nil {
			sr.Journal = d.journal
			sr.Engine = describeExecution(ctx, s.h.ports.sfn, d.ref)
		}
	}
	res.Effects = countEffects(recs, s.only)
	return nil
}

// apiRuns fills runs[i] with GET /executions/{ids[i]}, leaving nil the
// runs the API does not answer for.
func (s *scenario) apiRuns(ctx context.Context, runs []*run) {
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				var r run
				if err := s.api.get(ctx, "/executions/"+s.ids[i], &r); err == nil {
					runs[i] = &r
				}
			}
		}()
	}
	for i := range s.ids {
		next <- i
	}
	close(next)
	wg.Wait()
}

// dbRun is a run read from the database, with its engine's status.
type dbRun struct {
	run
	ref     string // the engine's execution ARN
	journal string // its status in runtime_executions
}

// dbRuns reads the runs, their steps and the local runtime's status of
// each from the database.
func (s *scenario) dbRuns(ctx context.Context) (map[string]*dbRun, error) {
	conn, err := pgx.Connect(ctx, s.h.pg.URL(s.db))
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	out := map[string]*dbRun{}
	rows, err := conn.Query(ctx, `SELECT e.id::text, e.status, coalesce(e.error::text, ''), coalesce(e.engine_ref, ''), coalesce(r.status, '')
		FROM executions e LEFT JOIN runtime_executions r ON r.arn = e.engine_ref
		WHERE e.workflow_id = $1::uuid`, s.wf)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		r := &dbRun{}
		var errText string
		if err := rows.Scan(&r.ID, &r.Status, &errText, &r.ref, &r.journal); err != nil {
			return nil, err
		}
		if errText != "" {
			r.Error = json.RawMessage(errText)
		}
		out[r.ID] = r
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = conn.Query(ctx, `SELECT s.execution_id::text, s.step_key, s.status, s.attempt FROM execution_steps s
		JOIN executions e ON e.id = s.execution_id WHERE e.workflow_id = $1::uuid`, s.wf)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id string
		var st runStep
		if err := rows.Scan(&id, &st.StepKey, &st.Status, &st.Attempt); err != nil {
			return nil, err
		}
		if r := out[id]; r != nil {
			r.Steps = append(r.Steps, st)
		}
	}
	return out, rows.Err()
}
