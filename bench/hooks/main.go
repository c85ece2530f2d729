// Command hooks is the webhook throughput benchmark (make bench-hooks): signed
// POSTs to a deployment's webhook, each starting a one-step run of a no-op
// code agent, from C connections for D seconds against a running
// `turbocat dev` (bench/hooks.sh starts it). It prints runs per second, the
// webhook call's p50 and p99, how long each run took from the call to being
// persisted as completed (p50, p99), the runs that did not complete, the
// peak RSS of every Turbocat process, the database round trips per run and
// the write-ahead log each run writes.
package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	port := flag.Int("port", 3097, "turbocat dev's port")
	conns := flag.Int("c", 16, "concurrent connections")
	dur := flag.Duration("d", 15*time.Second, "how long to load")
	pid := flag.Int("pid", 0, "turbocat dev's process id (for RSS)")
	db := flag.String("db", "", "the database, for the persisted times")
	shape := flag.String("shape", "webhook", `"webhook": signed webhook calls of a deployed one-step workflow; "parallel5": POST /execute?wait of a 5-step workflow (a, then b, c and d in parallel, then e), answered when the run ends`)
	flag.Parse()
	if *shape != "webhook" && *shape != "parallel5" {
		fmt.Fprintln(os.Stderr, "bench-hooks: -shape is webhook or parallel5")
		os.Exit(2)
	}
	if err := run(*port, *conns, *dur, *pid, *db, *shape); err != nil {
		fmt.Fprintln(os.Stderr, "bench-hooks:", err)
		os.Exit(1)
	}
}

type client struct {
	base, token string
	http        *http.Client
}

func (c *client) do(method, path string, body, out any) error {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, c.base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	var env struct{ Data json.RawMessage }
	if err := json.Unmarshal(raw, &env); err != nil {
		return err
	}
	if out != nil {
		return json.Unmarshal(env.Data, out)
	}
	return nil
}

func sign(secret string, t time.Time, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%d.", t.Unix())
	mac.Write(body)
	return fmt.Sprintf("t=%d,v1=%s", t.Unix(), hex.EncodeToString(mac.Sum(nil)))
}

// queries reads the statement counters of /metrics: the total under "",
// and each statement name's.
func queries(base string) (map[string]float64, error) {
	res, err := http.Get(base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	out := map[string]float64{}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "turbocat_db_queries_total "); ok {
			out[""], err = strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return nil, err
			}
		}
		if v, ok := strings.CutPrefix(l, `turbocat_db_queries_by_name_total{query="`); ok {
			name, n, _ := strings.Cut(v, `"} `)
			out[name], _ = strconv.ParseFloat(n, 64)
		}
	}
	if _, ok := out[""]; !ok {
		return nil, errors.New("no turbocat_db_queries_total on /metrics")
	}
	return out, nil
}

// perRun prints, to stderr, the statements per run by name, most first.
func perRun(q0, q1 map[string]float64, runs int) {
	type row struct {
		name string
		n    float64
	}
	var rows []row
	for k, v := range q1 {
		if d := (v - q0[k]) / float64(max(runs, 1)); k != "" && d >= 0.05 {
			rows = append(rows, row{k, d})
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].n > rows[j].n })
	fmt.Fprint(os.Stderr, "round trips per run by statement:")
	for _, r := range rows {
		fmt.Fprintf(os.Stderr, " %s=%.2f", r.name, r.n)
	}
	fmt.Fprintln(os.Stderr)
}

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[min(len(ds)-1, int(float64(len(ds))*p))]
}

// peakRSS sums the peak resident set (VmHWM) of pid and its children.
func peakRSS(pid int) (total int64, procs int) {
	pids := []int{pid}
	if out, err := exec.Command("pgrep", "-P", strconv.Itoa(pid)).Output(); err == nil {
		for _, f := range strings.Fields(string(out)) {
			if n, err := strconv.Atoi(f); err == nil {
				pids = append(pids, n)
			}
		}
	}
	for _, p := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p))
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "VmHWM:") {
				kb, _ := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
				total += kb << 10
				procs++
			}
		}
	}
	return total, procs
}

func run(port, conns int, dur time.Duration, pid int, db, shape string) error {
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	c := &client{base: base + "/api/v1", http: &http.Client{Timeout: 30 * time.Second}}
	var sess struct{ AccessToken string }
	if err := c.do("POST", "/auth/register", map[string]string{"email": fmt.Sprintf("hooks-%d@example.com", time.Now().UnixNano()),
		"password": "correct horse battery"}, &sess); err != nil {
		return err
	}
	c.token = sess.AccessToken
	var agent, wf struct{ ID string }
	if err := c.do("POST", "/agents", map[string]any{"name": "noop", "type": "code", "config": map[string]any{"source": "function main(i) { return {}; }"}}, &agent); err != nil {
		return err
	}
	steps := []map[string]any{{"key": "a", "agentId": agent.ID}}
	if shape == "parallel5" {
		steps = append(steps, map[string]any{"key": "b", "agentId": agent.ID, "dependsOn": []string{"a"}},
			map[string]any{"key": "c", "agentId": agent.ID, "dependsOn": []string{"a"}},
			map[string]any{"key": "d", "agentId": agent.ID, "dependsOn": []string{"a"}},
			map[string]any{"key": "e", "agentId": agent.ID, "dependsOn": []string{"b", "c", "d"}})
	}
	if err := c.do("POST", "/workflows", map[string]any{"name": "hook", "steps": steps}, &wf); err != nil {
		return err
	}
	var dep struct {
		EndpointURL   string
		SigningSecret string
	}
	if err := c.do("POST", "/workflows/"+wf.ID+"/deployments", map[string]any{"environment": "prod"}, &dep); err != nil {
		return err
	}
	hook := base + dep.EndpointURL[strings.Index(dep.EndpointURL, "/hooks/"):]
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	// call starts run n and answers its id and the call's duration: a
	// signed webhook call answered 202 at the start, or (parallel5) an
	// execute call answered 200 when the run completed.
	call := func(n int64) (string, time.Duration, error) {
		body := []byte(fmt.Sprintf(`{"n":%d}`, n)) // each request its own signature
		req, _ := http.NewRequest("POST", hook, bytes.NewReader(body))
		req.Header.Set("X-Turbocat-Signature", sign(dep.SigningSecret, time.Now(), body))
		want, what := http.StatusAccepted, "webhook"
		if shape == "parallel5" {
			req, _ = http.NewRequest("POST", c.base+"/workflows/"+wf.ID+"/execute?wait=25", bytes.NewReader([]byte(`{"input":`+string(body)+`}`)))
			req.Header.Set("Authorization", "Bearer "+c.token)
			want, what = http.StatusOK, "execute"
		}
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		res, err := hc.Do(req)
		if err != nil {
			return "", 0, err
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		took := time.Since(start)
		var env struct {
			Data struct{ ExecutionID, Status string }
		}
		_ = json.Unmarshal(raw, &env)
		if res.StatusCode != want || (want == http.StatusOK && env.Data.Status != "completed") {
			return "", took, fmt.Errorf("%s answered %d: %s", what, res.StatusCode, raw)
		}
		return env.Data.ExecutionID, took, nil
	}
	for i := range 50 { // warm-up: code workers, connections, the published version
		if _, _, err := call(int64(-1 - i)); err != nil {
			return err
		}
	}
	time.Sleep(time.Second)
	q0, err := queries(base)
	if err != nil {
		return err
	}
	wal0, err := walBytes(db)
	if err != nil {
		return err
	}
	var seq atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var ids []string
	var failures atomic.Int64
	var firstErr atomic.Value
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				id, took, err := call(seq.Add(1))
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				mu.Lock()
				lat, ids = append(lat, took), append(ids, id)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	// Wait for the runs to be persisted as completed.
	deadline := time.Now().Add(60 * time.Second)
	var done, notDone int
	var persisted []time.Duration
	for {
		persisted, done, notDone, err = persistTimes(db, shape)
		if err != nil || notDone == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	q1, err := queries(base)
	if err != nil {
		return err
	}
	wal1, err := walBytes(db)
	if err != nil {
		return err
	}
	rss, procs := int64(0), 0
	if pid > 0 {
		rss, procs = peakRSS(pid)
	}
	fmt.Printf("shape=%s connections=%d duration=%s runs=%d runs_per_s=%.0f call_p50_ms=%.1f call_p99_ms=%.1f persisted_p50_ms=%.1f persisted_p99_ms=%.1f completed=%d not_completed=%d failed_calls=%d peak_rss_mb=%.0f processes=%d db_round_trips_per_run=%.1f wal_kb_per_run=%.1f\n",
		shape, conns, dur, len(ids), float64(len(ids))/elapsed.Seconds(), ms(pct(lat, 0.50)), ms(pct(lat, 0.99)),
		ms(pct(persisted, 0.50)), ms(pct(persisted, 0.99)), done, notDone, failures.Load(), float64(rss)/(1<<20), procs,
		(q1[""]-q0[""])/float64(max(len(ids), 1)), float64(wal1-wal0)/1024/float64(max(len(ids), 1)))
	perRun(q0, q1, len(ids))
	if e := firstErr.Load(); e != nil {
		fmt.Fprintln(os.Stderr, "first failed call:", e)
	}
	return nil
}

// walBytes is the server's write-ahead log position in bytes: the WAL a
// run writes is what its records cost the disk (the whole server's, so
// other databases' writes count too: run the bench on a quiet server).
func walBytes(db string) (int64, error) {
	out, err := exec.Command("psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-tAc",
		`SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint`).Output()
	if err != nil {
		return 0, fmt.Errorf("read the WAL position: %w", err)
	}
	return strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// persistTimes reads, from the database, how long each webhook run took from
// its creation to being recorded completed, and how many are not completed.
func persistTimes(db, shape string) ([]time.Duration, int, int, error) {
	trigger := "webhook"
	if shape == "parallel5" {
		trigger = "api"
	}
	out, err := exec.Command("psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-tAc",
		`SELECT status, coalesce(extract(epoch FROM completed_at - created_at) * 1000, -1) FROM executions WHERE trigger = '`+trigger+`' AND (input_data->>'n')::bigint >= 0`).Output()
	if err != nil {
		return nil, 0, 0, fmt.Errorf("read runs: %w", err)
	}
	var ds []time.Duration
	done, notDone := 0, 0
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		status, v, ok := strings.Cut(l, "|")
		if !ok {
			continue
		}
		if status != "completed" {
			notDone++
			continue
		}
		done++
		f, _ := strconv.ParseFloat(v, 64)
		ds = append(ds, time.Duration(f*float64(time.Millisecond)))
	}
	return ds, done, notDone, nil
}
