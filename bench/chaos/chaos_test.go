package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCountEffects(t *testing.T) {
	t.Parallel()
	e := func(exec, step, key string) effect { return effect{Exec: exec, Step: step, Key: key} }
	tests := []struct {
		name string
		recs []effect
		only map[string]bool
		want effectStats
	}{
		{"each once", []effect{e("a", "s1", ""), e("a", "s2", ""), e("b", "s1", "")},
			nil, effectStats{Sends: 3, Effects: 3}},
		{"repeat with one key can be de-duplicated", []effect{e("a", "s1", "a:s1"), e("a", "s1", "a:s1"), e("a", "s2", "a:s2")},
			nil, effectStats{Sends: 3, Effects: 2, KeyedSends: 3, RepeatedSameKey: 1, ExtraSends: 1}},
		{"repeat without a key is a defect", []effect{e("a", "s1", ""), e("a", "s1", ""), e("a", "s1", "")},
			nil, effectStats{Sends: 3, Effects: 1, RepeatedUnkeyed: 1, ExtraSends: 2}},
		{"repeat with different keys is a defect", []effect{e("a", "s1", "k1"), e("a", "s1", "k2")},
			nil, effectStats{Sends: 2, Effects: 1, KeyedSends: 2, RepeatedUnkeyed: 1, ExtraSends: 1}},
		{"a keyed copy of an unkeyed send is a defect", []effect{e("a", "s1", ""), e("a", "s1", "a:s1")},
			nil, effectStats{Sends: 2, Effects: 1, KeyedSends: 1, RepeatedUnkeyed: 1, ExtraSends: 1}},
		{"one key on two effects is shared", []effect{e("a", "s1", "k"), e("a", "s2", "k")},
			nil, effectStats{Sends: 2, Effects: 2, KeyedSends: 2, SharedKeys: 1}},
		{"only the given executions count", []effect{e("warm", "s1", ""), e("warm", "s1", ""), e("a", "s1", "")},
			map[string]bool{"a": true}, effectStats{Sends: 1, Effects: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := countEffects(tt.recs, tt.only)
			got.Examples = nil
			require.Equal(t, tt.want, got)
		})
	}
}

func TestCountEffectsExamplesNameTheDefect(t *testing.T) {
	t.Parallel()
	got := countEffects([]effect{{Exec: "x", Step: "s3"}, {Exec: "x", Step: "s3"}}, nil)
	require.Len(t, got.Examples, 1)
	require.Contains(t, got.Examples[0], "x:s3 sent 2 times")
}

func TestCounterRecordsPathAndKey(t *testing.T) {
	t.Parallel()
	c := &counter{}
	srv := httptest.NewServer(c.handler())
	t.Cleanup(srv.Close)
	for _, key := range []string{"e1:s2", ""} {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/effect/e1/s2", strings.NewReader(`{}`))
		require.NoError(t, err)
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	recs := c.snapshot()
	require.Len(t, recs, 2)
	require.Equal(t, effect{Exec: "e1", Step: "s2", Key: "e1:s2", At: recs[0].At}, recs[0])
	require.Equal(t, "", recs[1].Key)
	require.Equal(t, 2, c.sends(map[string]bool{"e1": true}))
	require.Equal(t, 0, c.sends(map[string]bool{"other": true}))
	c.reset()
	require.Empty(t, c.snapshot())
}

func TestFailures(t *testing.T) {
	t.Parallel()
	pass := func() *result {
		return &result{Runs: 10, InFlight: 10, Terminal: 10, Window: "1m0s", Effects: effectStats{RepeatedSameKey: 3}}
	}
	require.Empty(t, pass().failures(), "repeats with one key meet the bar")

	tests := []struct {
		name   string
		change func(*result)
		want   string
	}{
		{"not all terminal", func(r *result) { r.Terminal = 9; r.Stuck = []stuckRun{{ID: "x"}} }, "9 of 10 runs terminal"},
		{"open steps", func(r *result) { r.OpenSteps = 2 }, "2 steps left pending/running"},
		{"unkeyed repeats", func(r *result) { r.Effects.RepeatedUnkeyed = 4 }, "4 effects repeated without a key"},
		{"shared keys", func(r *result) { r.Effects.SharedKeys = 1 }, "1 keys shared"},
		{"nothing in flight proves nothing", func(r *result) { r.InFlight = 0 }, "no run was in flight"},
		{"turbocat died", func(r *result) { r.DevExited = "signal: killed" }, "exited on its own"},
		{"harness error", func(r *result) { r.Err = "boom" }, "harness error: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := pass()
			tt.change(r)
			require.Contains(t, strings.Join(r.failures(), "\n"), tt.want)
		})
	}
}

func TestPickFaults(t *testing.T) {
	t.Parallel()
	all, err := pickFaults("all")
	require.NoError(t, err)
	require.Len(t, all, 4)
	got, err := pickFaults("2, both-kill")
	require.NoError(t, err)
	require.Equal(t, "pg-kill", got[0].name)
	require.Equal(t, "both-kill", got[1].name)
	_, err = pickFaults("disk-full")
	require.ErrorContains(t, err, "disk-full")
}
