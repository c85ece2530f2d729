package runtime

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPathEval(t *testing.T) {
	t.Parallel()
	doc := `{"a":{"b":[10,20,30],"c":"x"},"items":[{"id":1,"n":5},{"id":2,"n":1}],"sp ace":{"k":true}}`
	data, err := decodeJSON([]byte(doc))
	require.NoError(t, err)
	tests := []struct {
		path string
		want string
		err  bool
	}{
		{"$", doc, false},
		{"$.a.c", `"x"`, false},
		{"$.a.b[1]", `20`, false},
		{"$.a.b[-1]", `30`, false},
		{"$['sp ace'].k", `true`, false},
		{"$.items[*].id", `[1,2]`, false},
		{"$.items[?(@.n > 2)].id", `[1]`, false},
		{"$.a.b[0:2]", `[10,20]`, false},
		{"$.a.b[0,2]", `[10,30]`, false},
		{"$..id", `[1,2]`, false},
		{"$.missing", ``, true},
		{"$.a.b[9]", ``, true},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			t.Parallel()
			p, err := parsePath(tc.path)
			require.NoError(t, err)
			v, err := p.eval(data)
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.JSONEq(t, tc.want, mustEncode(v))
		})
	}
}

func TestIntrinsicParseErrors(t *testing.T) {
	t.Parallel()
	for _, src := range []string{"States.Nope()", "States.Format('x'", "States.Format('x',)", "States.Array(1 2)", "States.Format('unterminated)"} {
		_, err := parseIntrinsic(src)
		require.Error(t, err, src)
	}
}

// FuzzPath checks that parsing and evaluating arbitrary paths never panics
// and that a value stored with setPath at a definite path reads back.
func FuzzPath(f *testing.F) {
	for _, s := range []string{"$", "$.a", "$.a.b[0]", "$['x y'].z", "$..a", "$.a[*]", "$.a[?(@.b == 'c')]", "$.a[1:2]", "$$.Execution.Id", "$.a[0,1]", "$[", "$.a..", "$.a[?(@)]"} {
		f.Add(s)
	}
	data, _ := decodeJSON([]byte(`{"a":{"b":[1,{"c":2}],"d":"e"},"x y":{"z":null}}`))
	f.Fuzz(func(t *testing.T, src string) {
		p, err := parsePath(src)
		if err != nil {
			return
		}
		_, _ = p.eval(data)
		if !p.definite || p.context || len(p.segs) == 0 {
			return
		}
		for _, sg := range p.segs {
			if sg.kind != segField {
				return
			}
		}
		out, err := setPath(map[string]any{}, p, "v")
		if err != nil {
			t.Fatalf("setPath(%q) on {}: %v", src, err)
		}
		got, err := p.eval(out)
		if err != nil || got != "v" {
			t.Fatalf("path %q: stored value not found: %v %v", src, got, err)
		}
	})
}

// FuzzIntrinsic checks that parsing and evaluating arbitrary intrinsic
// calls never panics, and that a successful result is encodable JSON.
func FuzzIntrinsic(f *testing.F) {
	for _, s := range []string{
		"States.Format('a {} b', $.s)", "States.StringToJson($.j)", "States.JsonToString($)", "States.Array(1, 'x', $.n)",
		"States.ArrayPartition($.arr, 2)", "States.ArrayContains($.arr, 1)", "States.ArrayRange(1, 5, 2)", "States.ArrayGetItem($.arr, 0)",
		"States.ArrayLength($.arr)", "States.ArrayUnique($.arr)", "States.Base64Encode($.s)", "States.Base64Decode('eA==')",
		"States.Hash($.s, 'SHA-256')", "States.JsonMerge($.o, $.o, false)", "States.MathRandom(1, 9, 3)", "States.MathAdd($.n, 1)",
		"States.StringSplit($.s, ',')", "States.UUID()", "States.Format('\\{\\}')",
	} {
		f.Add(s)
	}
	data, _ := decodeJSON([]byte(`{"s":"a,b","j":"{\"k\":1}","n":3,"arr":[1,2,2],"o":{"p":1}}`))
	f.Fuzz(func(t *testing.T, src string) {
		in, err := parseIntrinsic(src)
		if err != nil {
			return
		}
		v, err := in.eval(data, &stateEnv{ctxObj: map[string]any{}})
		if err != nil {
			return
		}
		if _, err := json.Marshal(v); err != nil && !strings.Contains(err.Error(), "unsupported") {
			t.Fatalf("%q produced unencodable %v: %v", src, v, err)
		}
	})
}
