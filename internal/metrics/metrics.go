// Package metrics counts what operators watch — requests and their latency
// per route, executions started and finished, step durations per agent
// type, LLM tokens and cost — and writes them in the Prometheus text format
// (`turbocat dev` serves /metrics) or, in Lambda, as CloudWatch Embedded
// Metric Format lines on stdout, which CloudWatch turns into metrics without
// an agent or an API call.
package metrics

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Labels are a metric's dimensions.
type Labels map[string]string

// Buckets of the latency histograms, in seconds.
var Buckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300}

type series struct {
	labels  Labels
	value   float64  // counters
	counts  []uint64 // histograms: per bucket (not cumulative)
	sum     float64  // histograms
	samples uint64   // histograms
}

type family struct {
	help      string
	histogram bool
	series    map[string]*series
}

// Registry holds metric families. The zero value is not usable; call New.
// A nil *Registry discards everything, so callers need no checks.
type Registry struct {
	mu       sync.Mutex
	families map[string]*family
	// EMF, if set, receives one Embedded Metric Format line per observation
	// (Lambda: os.Stdout).
	EMF       io.Writer
	Namespace string
	now       func() time.Time
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{families: map[string]*family{}, Namespace: "Turbocat", now: time.Now}
}

func key(l Labels) string {
	ks := slices.Sorted(maps.Keys(l))
	var b strings.Builder
	for _, k := range ks {
		b.WriteString(k + "=" + l[k] + "\xff")
	}
	return b.String()
}

func (r *Registry) get(name, help string, histogram bool, l Labels) *series {
	f := r.families[name]
	if f == nil {
		f = &family{help: help, histogram: histogram, series: map[string]*series{}}
		r.families[name] = f
	}
	k := key(l)
	s := f.series[k]
	if s == nil {
		s = &series{labels: maps.Clone(l)}
		if histogram {
			s.counts = make([]uint64, len(Buckets)+1)
		}
		f.series[k] = s
	}
	return s
}

// Add adds v to a counter.
func (r *Registry) Add(name, help string, l Labels, v float64) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.get(name, help, false, l).value += v
	r.mu.Unlock()
	r.emf(name, l, v, "Count")
}

// Observe records a duration in a histogram.
func (r *Registry) Observe(name, help string, l Labels, d time.Duration) {
	if r == nil {
		return
	}
	sec := d.Seconds()
	r.mu.Lock()
	s := r.get(name, help, true, l)
	i := sort.SearchFloat64s(Buckets, sec)
	s.counts[i]++
	s.sum += sec
	s.samples++
	r.mu.Unlock()
	r.emf(name, l, float64(d.Microseconds())/1000, "Milliseconds")
}

// emf writes one Embedded Metric Format line.
func (r *Registry) emf(name string, l Labels, v float64, unit string) {
	if r.EMF == nil {
		return
	}
	dims := slices.Sorted(maps.Keys(l))
	line := map[string]any{
		"_aws": map[string]any{
			"Timestamp": r.now().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace": r.Namespace, "Dimensions": [][]string{dims},
				"Metrics": []any{map[string]string{"Name": name, "Unit": unit}},
			}},
		},
		name: v,
	}
	for k, val := range l {
		line[k] = val
	}
	b, err := json.Marshal(line)
	if err != nil {
		return
	}
	r.mu.Lock()
	_, _ = r.EMF.Write(append(b, '\n'))
	r.mu.Unlock()
}

// WritePrometheus writes every family in the Prometheus text format.
func (r *Registry) WritePrometheus(w io.Writer) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, name := range slices.Sorted(maps.Keys(r.families)) {
		f := r.families[name]
		typ := "counter"
		if f.histogram {
			typ = "histogram"
		}
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, f.help, name, typ)
		for _, k := range slices.Sorted(maps.Keys(f.series)) {
			s := f.series[k]
			if !f.histogram {
				fmt.Fprintf(w, "%s%s %s\n", name, labelString(s.labels, ""), num(s.value))
				continue
			}
			var cum uint64
			for i, b := range Buckets {
				cum += s.counts[i]
				fmt.Fprintf(w, "%s_bucket%s %d\n", name, labelString(s.labels, num(b)), cum)
			}
			fmt.Fprintf(w, "%s_bucket%s %d\n", name, labelString(s.labels, "+Inf"), s.samples)
			fmt.Fprintf(w, "%s_sum%s %s\n%s_count%s %d\n", name, labelString(s.labels, ""), num(s.sum), name, labelString(s.labels, ""), s.samples)
		}
	}
}

func labelString(l Labels, le string) string {
	if len(l) == 0 && le == "" {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(l)) {
		parts = append(parts, fmt.Sprintf("%s=%q", k, l[k]))
	}
	if le != "" {
		parts = append(parts, fmt.Sprintf("le=%q", le))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func num(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%g", v)
}

// The metrics Turbocat records, named once here.

// Request records one API request.
func (r *Registry) Request(route string, status int, d time.Duration) {
	r.Observe("turbocat_http_request_duration_seconds", "API request latency by route and status.",
		Labels{"route": route, "status": fmt.Sprint(status)}, d)
}

// ExecutionStarted counts a run started.
func (r *Registry) ExecutionStarted(trigger string) {
	r.Add("turbocat_executions_started_total", "Runs started by trigger.", Labels{"trigger": trigger}, 1)
}

// ExecutionFinished counts a run reaching a final status.
func (r *Registry) ExecutionFinished(status string) {
	r.Add("turbocat_executions_finished_total", "Runs finished by final status.", Labels{"status": status}, 1)
}

// Step records one step run.
func (r *Registry) Step(agentType, status string, d time.Duration) {
	r.Observe("turbocat_step_duration_seconds", "Step run time by agent type and outcome.",
		Labels{"agent_type": agentType, "status": status}, d)
}

// LLM records the tokens and estimated cost of one model call.
func (r *Registry) LLM(model string, in, out int64, costUSD float64) {
	l := Labels{"model": model}
	r.Add("turbocat_llm_input_tokens_total", "LLM input tokens by model.", l, float64(in))
	r.Add("turbocat_llm_output_tokens_total", "LLM output tokens by model.", l, float64(out))
	r.Add("turbocat_llm_cost_usd_total", "Estimated LLM cost in USD by model.", l, costUSD)
}
