// Command chaos is `make chaos`: Turbocat under the faults production
// brings (issue 13, item 8).
//
// It initdb's a private Postgres cluster in a temporary directory
// (127.0.0.1, a port in 18500–18599, trust auth; as root through the
// postgres OS user), builds turbocat from this tree, and for each fault,
// on a fresh database and a fresh `turbocat dev`:
//
//  1. registers a user, creates an `api` agent that POSTs to a counter
//     server run by this program, and a 5-step workflow
//     s1 → (s2 ‖ s3) → s4 → s5 of it, and checks one run end to end;
//  2. starts -runs runs at once through the API;
//  3. once a share of their calls has reached the counter, injects the
//     fault: pg_ctl restart -m fast (pg-restart), kill -9 of the
//     postmaster then start (pg-kill), kill -9 of turbocat dev then start
//     (turbocat-kill), or both at once (both-kill);
//  4. from the moment everything is back, watches the runs for -window
//     (60 s), then reads them from the API (and the database).
//
// It prints, per fault, the runs terminal within the window, the runs
// stuck, the steps left pending/running in ended runs, and the effects the
// counter received more than once: with one Idempotency-Key (the receiver
// can de-duplicate) or without a key / with different keys (a defect). It
// exits 1 when a fault misses the bar of issue 13's "Done when", 2 when
// the harness itself could not run. The logs of turbocat dev and Postgres
// stay in the printed temporary directory, with report.json.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

type options struct {
	runs        int
	faults      []fault
	effectDelay time.Duration
	down        time.Duration
	window      time.Duration
	injectAt    float64
	parallel    int
	bin         string
	pgbin       string
	repo        string
	keep        bool
	// workload is steps (five api steps in a DAG) or agent (one llm step
	// whose tool loop makes three model turns and two tool calls).
	workload string
}

type ports struct{ pg, api, sfn, counter int }

// harness holds what the scenarios share: the cluster, the binary, the
// counter server, the ports and directories.
type harness struct {
	opts  options
	tmp   string // everything temporary
	logs  string // kept: logs and report.json
	work  string // turbocat dev's working directory
	bin   string
	pg    *cluster
	ctr   *counter
	ports ports
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "chaos %s  %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

func main() { os.Exit(chaos()) }

func chaos() int {
	opts, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C ends the program at once
	}()

	h := &harness{opts: opts, ctr: &counter{delay: opts.effectDelay}}
	results, err := h.main(ctx)
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintf(os.Stderr, "chaos: interrupted; the cluster and turbocat dev are stopped; logs in %s\n", h.logs)
			return 130
		}
		fmt.Fprintln(os.Stderr, "chaos:", err)
		if h.logs != "" {
			fmt.Fprintf(os.Stderr, "chaos: logs in %s\n", h.logs)
		}
		return 2
	}
	code := report(os.Stdout, results, opts)
	if h.logs != "" {
		if b, err := json.MarshalIndent(results, "", "  "); err == nil {
			_ = os.WriteFile(filepath.Join(h.logs, "report.json"), b, 0o644)
		}
		fmt.Printf("\nlogs and report.json: %s\n", h.logs)
	}
	return code
}

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	runs := envInt("CHAOS_RUNS", 130)
	o := options{}
	fs.IntVar(&o.runs, "runs", runs, "runs in flight at the fault (env CHAOS_RUNS)")
	faultList := fs.String("fault", envStr("CHAOS_FAULT", "all"), "faults to inject, comma-separated names or numbers 1-4: pg-restart, pg-kill, turbocat-kill, both-kill, or all (env CHAOS_FAULT)")
	fs.DurationVar(&o.effectDelay, "effect-delay", time.Second, "how long the counter server holds each call (keeps runs in flight)")
	fs.DurationVar(&o.down, "down", 2*time.Second, "how long a killed process stays down before it is started again")
	fs.DurationVar(&o.window, "window", 60*time.Second, "how long after recovery runs have to end (the bar is 60 s)")
	fs.Float64Var(&o.injectAt, "inject-at", 0.3, "strike when this share of the runs' calls has reached the counter")
	fs.IntVar(&o.parallel, "parallel", 16, "concurrent execute requests when starting runs")
	fs.StringVar(&o.bin, "bin", os.Getenv("TURBOCAT_BIN"), "a turbocat binary to test instead of building this tree (env TURBOCAT_BIN)")
	fs.StringVar(&o.pgbin, "pgbin", "", "directory of initdb and pg_ctl (default: pg_config --bindir, else /usr/lib/postgresql/*/bin)")
	fs.StringVar(&o.repo, "repo", ".", "the repository to build ./cmd/turbocat from")
	fs.StringVar(&o.workload, "workload", envStr("CHAOS_WORKLOAD", "steps"), "steps: five api steps s1 → (s2 ‖ s3) → s4 → s5; agent: one llm step whose tool loop makes three model turns and two api tool calls, the model served by the counter in the OpenAI format (env CHAOS_WORKLOAD)")
	fs.BoolVar(&o.keep, "keep", false, "leave the cluster running at the end (to inspect the databases), and say how to stop it")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.runs < 1 || o.parallel < 1 || o.injectAt <= 0 || o.injectAt >= 1 || o.window <= 0 {
		return o, errors.New("need -runs >= 1, -parallel >= 1, 0 < -inject-at < 1, -window > 0")
	}
	if o.workload != workloadSteps && o.workload != workloadAgent {
		return o, fmt.Errorf("-workload is %s or %s, not %q", workloadSteps, workloadAgent, o.workload)
	}
	var err error
	o.faults, err = pickFaults(*faultList)
	return o, err
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return n
	}
	return def
}

func envStr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// pickFaults parses -fault.
func pickFaults(list string) ([]fault, error) {
	if list == "" || list == "all" {
		return faults, nil
	}
	var out []fault
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		found := false
		for i, f := range faults {
			if name == f.name || name == strconv.Itoa(i+1) {
				out = append(out, f)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("-fault %q: not one of pg-restart, pg-kill, turbocat-kill, both-kill (or 1-4)", name)
		}
	}
	return out, nil
}

// freePorts picks four free ports in 18500–18599, from 18550 up.
func freePorts() (ports, error) {
	var got []int
	for i := 0; i < 100 && len(got) < 4; i++ {
		p := 18500 + (50+i)%100
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		ln.Close()
		got = append(got, p)
	}
	if len(got) < 4 {
		return ports{}, errors.New("fewer than four free ports in 18500-18599")
	}
	return ports{pg: got[0], api: got[1], sfn: got[2], counter: got[3]}, nil
}

// main sets up, runs every scenario and tears down.
func (h *harness) main(ctx context.Context) (results []*result, err error) {
	pgbin, err := findPGBin(h.opts.pgbin)
	if err != nil {
		return nil, err
	}
	if h.ports, err = freePorts(); err != nil {
		return nil, err
	}
	if h.tmp, err = os.MkdirTemp("", "turbocat-chaos-"); err != nil {
		return nil, err
	}
	// The postgres user must reach its directory inside.
	if err := os.Chmod(h.tmp, 0o755); err != nil {
		return nil, err
	}
	h.logs = filepath.Join(h.tmp, "logs")
	h.work = filepath.Join(h.tmp, "work")
	for _, d := range []string{h.logs, h.work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	logf("temporary directory %s (logs in %s); postgres :%d, turbocat :%d, sfn :%d, counter :%d",
		h.tmp, h.logs, h.ports.pg, h.ports.api, h.ports.sfn, h.ports.counter)

	h.bin = h.opts.bin
	if h.bin == "" {
		h.bin = filepath.Join(h.tmp, "bin", "turbocat")
		logf("building ./cmd/turbocat")
		if err := buildTurbocat(ctx, h.opts.repo, h.bin); err != nil {
			return nil, err
		}
	}
	stopCounter, err := serveCounter(h.ctr, fmt.Sprintf("127.0.0.1:%d", h.ports.counter))
	if err != nil {
		return nil, err
	}
	defer stopCounter()

	logf("initdb with %s", pgbin)
	pgDir := filepath.Join(h.tmp, "pg")
	if h.pg, err = newCluster(ctx, pgbin, pgDir, h.ports.pg); err != nil {
		return nil, err
	}
	defer h.teardown()
	if err := h.pg.Start(ctx, time.Minute); err != nil {
		return nil, err
	}
	for _, f := range h.opts.faults {
		if ctx.Err() != nil {
			return results, ctx.Err()
		}
		logf("==== %s: %s, %d runs ====", f.name, f.desc, h.opts.runs)
		res := h.run(ctx, f)
		if ctx.Err() != nil {
			return results, ctx.Err()
		}
		results = append(results, res)
		fmt.Println(line(res))
		// A fault that left the cluster down would fail every later one.
		if err := h.pg.ping(ctx, 2*time.Second); err != nil {
			logf("postgres is down after %s; starting it", f.name)
			if err := h.pg.Start(ctx, time.Minute); err != nil {
				return results, err
			}
		}
	}
	return results, nil
}

// teardown stops the cluster (unless -keep) and removes everything but the
// logs, keeping Postgres's log with them.
func (h *harness) teardown() {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	if h.opts.keep {
		logf("-keep: postgres still runs on :%d (psql -h 127.0.0.1 -p %d -U postgres chaos_pg_restart); stop it with: runuser -u postgres -- %s -D %s stop; rm -rf %s",
			h.pg.port, h.pg.port, filepath.Join(h.pg.bin, "pg_ctl"), h.pg.data(), h.tmp)
		return
	}
	if err := h.pg.Stop(ctx); err != nil {
		logf("stop postgres: %v", err)
	}
	if err := os.Rename(h.pg.Log(), filepath.Join(h.logs, "postgres.log")); err == nil {
		_ = os.Chmod(filepath.Join(h.logs, "postgres.log"), 0o644)
	}
	for _, d := range []string{h.pg.dir, filepath.Join(h.tmp, "bin"), h.work} {
		if err := os.RemoveAll(d); err != nil {
			logf("remove %s: %v", d, err)
		}
	}
}

// line is one fault's result on one line.
func line(r *result) string {
	if r.Err != "" {
		return fmt.Sprintf("%-13s ERROR  %s", r.Fault, r.Err)
	}
	var b strings.Builder
	verdict := "PASS"
	if len(r.failures()) > 0 {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "%-13s %s  in flight %d/%d, back in %.1fs: terminal within %s %d/%d (%.1f%%)",
		r.Fault, verdict, r.InFlight, r.Runs, float64(r.DownMs)/1000, r.Window, r.Terminal, r.Runs, pct(r.Terminal, r.Runs))
	if r.LastEndMs >= 0 {
		fmt.Fprintf(&b, ", last +%.1fs", float64(r.LastEndMs)/1000)
	}
	fmt.Fprintf(&b, "; stuck %d; open steps in ended runs %d; effects %d (sends %d): repeated same key %d, repeated without one key %d",
		len(r.Stuck), r.OpenSteps, r.Effects.Effects, r.Effects.Sends, r.Effects.RepeatedSameKey, r.Effects.RepeatedUnkeyed)
	fmt.Fprintf(&b, "; final %s", statusList(r.Statuses))
	for i, s := range r.Stuck {
		if i == 3 {
			fmt.Fprintf(&b, "\n    ... %d more stuck", len(r.Stuck)-i)
			break
		}
		fmt.Fprintf(&b, "\n    stuck %s: %s (engine %s, journal %s) %s", s.ID, s.Status, orDash(s.Engine), orDash(s.Journal), s.Steps)
		if s.Error != "" {
			fmt.Fprintf(&b, " error=%s", clip(s.Error, 200))
		}
	}
	for _, e := range r.OpenStepExamples[:min(3, len(r.OpenStepExamples))] {
		fmt.Fprintf(&b, "\n    open step %s", e)
	}
	for _, e := range r.Effects.Examples[:min(3, len(r.Effects.Examples))] {
		fmt.Fprintf(&b, "\n    effect %s", e)
	}
	if r.CompletedNoEffect > 0 {
		fmt.Fprintf(&b, "\n    note: %d steps recorded completed never reached the counter", r.CompletedNoEffect)
	}
	if r.APIReadyMs < 0 {
		fmt.Fprintf(&b, "\n    note: /ready did not answer 200 within the window")
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\n    note: %s", n)
	}
	return b.String()
}

func statusList(m map[string]int) string {
	var parts []string
	for _, k := range []string{"completed", "failed", "cancelled", "timed_out", "running", "pending"} {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
		}
	}
	for k, v := range m {
		if !strings.Contains(" completed failed cancelled timed_out running pending ", " "+k+" ") {
			parts = append(parts, fmt.Sprintf("%s %d", k, v))
		}
	}
	return strings.Join(parts, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// report prints the summary table and the verdict, and returns the exit
// code: 0 when every fault meets the bar, 1 when one misses it, 2 when one
// could not be carried out.
func report(w *os.File, results []*result, o options) int {
	fmt.Fprintf(w, "\nmake chaos: %d runs per fault, effect delay %s, window %s\n\n", o.runs, o.effectDelay, o.window)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "fault\tin flight\tback in\tterminal ≤window\tstuck\topen steps\trepeated, same key\trepeated, no/different key\teffects (sends)\tverdict")
	code := 0
	for _, r := range results {
		if r.Err != "" {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\t-\t-\tERROR\n", r.Fault)
			code = 2
			continue
		}
		verdict := "PASS"
		if len(r.failures()) > 0 {
			verdict = "FAIL"
			code = max(code, 1)
		}
		fmt.Fprintf(tw, "%s\t%d/%d\t%.1fs\t%d (%.1f%%)\t%d\t%d\t%d\t%d\t%d (%d)\t%s\n", r.Fault, r.InFlight, r.Runs, float64(r.DownMs)/1000,
			r.Terminal, pct(r.Terminal, r.Runs), len(r.Stuck), r.OpenSteps, r.Effects.RepeatedSameKey, r.Effects.RepeatedUnkeyed, r.Effects.Effects, r.Effects.Sends, verdict)
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, r := range results {
		for _, f := range r.failures() {
			fmt.Fprintf(w, "FAIL %s: %s\n", r.Fault, f)
		}
	}
	if code == 0 {
		fmt.Fprintln(w, "PASS: every fault meets the bar (100% terminal within the window, 0 stuck, 0 open steps in ended runs, every repeated effect with one key)")
	}
	return code
}
