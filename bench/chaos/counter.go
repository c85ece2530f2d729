package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// effect is one request the counter server received: one side effect sent
// by an API step.
type effect struct {
	Exec string    `json:"exec"`
	Step string    `json:"step"`
	Key  string    `json:"key"` // the Idempotency-Key header, "" without one
	At   time.Time `json:"at"`
}

// counter is the receiver every API step of the workload calls
// (POST /effect/{exec}/{step}). It records each request on arrival, as a
// real receiver would act on it, then holds the answer for delay so that
// steps are in the middle of their call when a fault strikes.
type counter struct {
	delay time.Duration

	mu   sync.Mutex
	recs []effect
}

func (c *counter) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /effect/{exec}/{step}", func(w http.ResponseWriter, r *http.Request) {
		n, ok := c.receive(r, r.PathValue("exec"), r.PathValue("step"))
		if !ok {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"ok":true,"received":%d}`, n)
	})
	mux.HandleFunc("POST /v1/chat/completions", c.model)
	return mux
}

// receive records a request as an effect on arrival, then holds it for
// the delay; it returns how many requests were received with it, and false
// when the caller went away meanwhile.
func (c *counter) receive(r *http.Request, exec, step string) (int, bool) {
	c.mu.Lock()
	c.recs = append(c.recs, effect{Exec: exec, Step: step, Key: r.Header.Get("Idempotency-Key"), At: time.Now()})
	n := len(c.recs)
	c.mu.Unlock()
	t := time.NewTimer(c.delay)
	defer t.Stop()
	select {
	case <-r.Context().Done():
		return n, false
	case <-t.C:
		return n, true
	}
}

// modelTurns is how many model turns a run of the agent workload makes:
// the first two ask for the effect tool, the last answers.
const modelTurns = 3

// model is the agent workload's model, in the OpenAI Chat Completions
// format (answering whole, as a server that ignores "stream" does). The
// prompt is "run <execution id>"; the turn is the number of tool results
// in the conversation. Each request is an effect "model-turn<N>" of the
// run, with the Idempotency-Key header the call carried: a model call made
// again is a paid call made again.
func (c *counter) model(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	exec, turn := "", 0
	for _, m := range req.Messages {
		switch m.Role {
		case "user":
			var text string
			if json.Unmarshal(m.Content, &text) == nil && strings.HasPrefix(text, "run ") && exec == "" {
				exec = strings.TrimPrefix(text, "run ")
			}
		case "tool":
			turn++
		}
	}
	if _, ok := c.receive(r, exec, fmt.Sprintf("model-turn%d", turn)); !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if turn < modelTurns-1 {
		args, _ := json.Marshal(map[string]string{"exec": exec, "step": fmt.Sprintf("tool%d", turn)})
		fmt.Fprintf(w, `{"id":"c%d","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":null,
			"tool_calls":[{"id":"call_%d","type":"function","function":{"name":"effect","arguments":%q}}]},"finish_reason":"tool_calls"}],
			"usage":{"prompt_tokens":20,"completion_tokens":10,"total_tokens":30}}`, turn, turn, args)
		return
	}
	fmt.Fprint(w, `{"id":"done","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"done"},"finish_reason":"stop"}],
		"usage":{"prompt_tokens":40,"completion_tokens":2,"total_tokens":42}}`)
}

// reset forgets every request (a new scenario starts).
func (c *counter) reset() {
	c.mu.Lock()
	c.recs = nil
	c.mu.Unlock()
}

// snapshot returns a copy of the requests received so far.
func (c *counter) snapshot() []effect {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]effect(nil), c.recs...)
}

// sends counts the requests for executions in only.
func (c *counter) sends(only map[string]bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, e := range c.recs {
		if only[e.Exec] {
			n++
		}
	}
	return n
}

// serveCounter starts the counter server on addr; stop shuts it down.
func serveCounter(c *counter, addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("counter server: %w", err)
	}
	srv := &http.Server{Handler: c.handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logf("counter server: %v", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// effectStats sums up the requests of one scenario. An effect is one
// (execution, step) pair; it is repeated when the receiver got it more than
// once. A repeat is harmless only when every copy carried the same
// non-empty Idempotency-Key (the receiver can drop the copies); without a
// key, or with keys that differ, the receiver cannot tell a copy from a new
// effect.
type effectStats struct {
	Sends           int `json:"sends"`           // requests received
	Effects         int `json:"effects"`         // distinct (execution, step) pairs
	KeyedSends      int `json:"keyedSends"`      // requests that carried a key
	RepeatedSameKey int `json:"repeatedSameKey"` // effects sent more than once, always with one key
	RepeatedUnkeyed int `json:"repeatedUnkeyed"` // effects sent more than once without a key or with different keys
	ExtraSends      int `json:"extraSends"`      // requests beyond each effect's first
	// SharedKeys counts keys carried by more than one effect: a receiver
	// de-duplicating on them would drop a real effect.
	SharedKeys int      `json:"sharedKeys"`
	Examples   []string `json:"examples,omitempty"` // a few defective repeats
}

// countEffects computes effectStats over the requests for executions in
// only (every execution when only is nil).
func countEffects(recs []effect, only map[string]bool) effectStats {
	type pair struct{ exec, step string }
	byPair := map[pair][]string{}
	var order []pair
	owners := map[string]map[pair]bool{}
	var s effectStats
	for _, e := range recs {
		if only != nil && !only[e.Exec] {
			continue
		}
		s.Sends++
		p := pair{e.Exec, e.Step}
		if _, ok := byPair[p]; !ok {
			order = append(order, p)
		}
		byPair[p] = append(byPair[p], e.Key)
		if e.Key != "" {
			s.KeyedSends++
			if owners[e.Key] == nil {
				owners[e.Key] = map[pair]bool{}
			}
			owners[e.Key][p] = true
		}
	}
	s.Effects = len(byPair)
	for _, p := range order {
		keys := byPair[p]
		if len(keys) < 2 {
			continue
		}
		s.ExtraSends += len(keys) - 1
		same := keys[0] != ""
		for _, k := range keys[1:] {
			if k != keys[0] {
				same = false
			}
		}
		if same {
			s.RepeatedSameKey++
			continue
		}
		s.RepeatedUnkeyed++
		if len(s.Examples) < 3 {
			s.Examples = append(s.Examples, fmt.Sprintf("%s:%s sent %d times, keys %q", p.exec, p.step, len(keys), keys))
		}
	}
	shared := make([]string, 0)
	for k, ps := range owners {
		if len(ps) > 1 {
			shared = append(shared, k)
		}
	}
	sort.Strings(shared)
	s.SharedKeys = len(shared)
	for _, k := range shared {
		if len(s.Examples) >= 5 {
			break
		}
		s.Examples = append(s.Examples, fmt.Sprintf("key %q carried by %d different effects", k, len(owners[k])))
	}
	return s
}
