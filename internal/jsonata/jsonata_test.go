package jsonata_test

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/jsonata"
)

func TestLimitsStopRunawayExpressions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, expr, code string
		opts             jsonata.Options
	}{
		{"unbounded recursion", `($f := function($x){$f($x) + 1}; $f(1))`, "U1001", jsonata.Options{}},
		{"too many steps", `$sum([1..100000].($ * 2))`, "U1002", jsonata.Options{MaxSteps: 10000}},
		{"huge range", `[1..100000000]`, "D2014", jsonata.Options{}},
		{"huge pad", `$pad("x", 100000000)`, "D3137", jsonata.Options{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, err := jsonata.Compile(tc.expr)
			require.NoError(t, err)
			_, err = e.Eval(jsonata.Undefined, tc.opts)
			var je *jsonata.Error
			require.ErrorAs(t, err, &je)
			require.Equal(t, tc.code, je.Code, je.Message)
		})
	}
}

func TestVariablesListsFreeVariables(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr string
		want []string
	}{
		{`$states.input.x & $name`, []string{"states", "name"}},
		{`($a := 1; $a + $b)`, []string{"b"}},
		{`$map($items, function($v){$v + $offset})`, []string{"items", "offset"}},
		{`$sum([1,2]) + $count($list)`, []string{"list"}},
		{`orders#$i[$i > $limit]`, []string{"limit"}},
		{`$`, nil},
	}
	for _, tc := range tests {
		e, err := jsonata.Compile(tc.expr)
		require.NoError(t, err)
		require.Equal(t, tc.want, e.Variables(), tc.expr)
	}
}

func TestOptionsBindVariablesFunctionsAndTime(t *testing.T) {
	t.Parallel()
	double, err := jsonata.NewFunction("double", "<n:n>", func(args []any) (any, error) {
		f, _ := args[0].(float64)
		return f * 2, nil
	})
	require.NoError(t, err)
	e, err := jsonata.Compile(`{"d": $double($x), "now": $now(), "r": $random()}`)
	require.NoError(t, err)
	got, err := e.Eval(jsonata.Undefined, jsonata.Options{
		Vars:      map[string]any{"x": json.Number("21")},
		Functions: map[string]*jsonata.Function{"double": double},
		Now:       time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
		Random:    func() float64 { return 0.25 },
	})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"d": 42.0, "now": "2024-05-06T07:08:09.000Z", "r": 0.25}, got)
}

func TestFormatNumberIsJavaScripts(t *testing.T) {
	t.Parallel()
	tenth, fifth := 0.1, 0.2
	for f, want := range map[float64]string{1: "1", -2.5: "-2.5", 1e21: "1e+21", 1e20: "100000000000000000000", 1e-7: "1e-7",
		0.000001: "0.000001", 123456789012: "123456789012", tenth + fifth: "0.30000000000000004", 1.7976931348623157e308: "1.7976931348623157e+308"} {
		require.Equal(t, want, jsonata.FormatNumber(f))
	}
}

// FuzzEval compiles and evaluates arbitrary expressions against a fixed
// document: the evaluator must return a value or an error, never panic or
// run away, and every value must encode as JSON.
func FuzzEval(f *testing.F) {
	b, err := os.ReadFile("testdata/cases.json")
	require.NoError(f, err)
	var cases []struct{ Expr string }
	require.NoError(f, json.Unmarshal(b, &cases))
	for _, c := range cases {
		f.Add(c.Expr)
	}
	var doc any
	db, err := os.ReadFile("testdata/data.json")
	require.NoError(f, err)
	require.NoError(f, json.Unmarshal(db, &doc))
	input := doc.(map[string]any)["account"]
	f.Fuzz(func(t *testing.T, src string) {
		e, err := jsonata.Compile(src)
		if err != nil {
			var je *jsonata.Error
			require.ErrorAs(t, err, &je, "compile errors are JSONata errors")
			return
		}
		got, err := e.Eval(input, jsonata.Options{MaxSteps: 20000, MaxDepth: 200, Now: time.Unix(0, 0)})
		if err != nil {
			var je *jsonata.Error
			require.ErrorAs(t, err, &je, "evaluation errors are JSONata errors")
			require.NotEqual(t, "U1099", je.Code, "internal error: %v", je)
			return
		}
		if got == jsonata.Undefined || jsonata.IsFunction(got) {
			return
		}
		_, err = jsonata.Marshal(got)
		require.NoError(t, err)
	})
}
