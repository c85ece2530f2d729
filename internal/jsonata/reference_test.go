package jsonata_test

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/jsonata"
)

type refCase struct {
	Expr string `json:"expr"`
	Data string `json:"data"`
	Vars string `json:"vars"`
}

type refResult struct {
	Expr      string          `json:"expr"`
	Result    json.RawMessage `json:"result"`
	Undefined bool            `json:"undefined"`
	Function  bool            `json:"function"`
	Error     string          `json:"error"`
}

func decodeNumbers(t *testing.T, b []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	require.NoError(t, dec.Decode(v))
}

// TestReference compares every expression of testdata/cases.json with the
// result jsonata-js 2.0.6 gives (testdata/expected.json, written by
// testdata/reference/generate.mjs): the value, undefined, or the error code.
func TestReference(t *testing.T) {
	t.Parallel()
	var cases []refCase
	var want []refResult
	var data map[string]any
	for file, dst := range map[string]any{"testdata/cases.json": &cases, "testdata/expected.json": &want, "testdata/data.json": &data} {
		b, err := os.ReadFile(file)
		require.NoError(t, err)
		decodeNumbers(t, b, dst)
	}
	require.Len(t, want, len(cases), "expected.json is stale: run node testdata/reference/generate.mjs")
	for i, c := range cases {
		w := want[i]
		require.Equal(t, c.Expr, w.Expr, "expected.json is stale")
		t.Run(c.Expr, func(t *testing.T) {
			input := jsonata.Undefined
			if c.Data != "" {
				input = data[c.Data]
			}
			opts := jsonata.Options{Now: time.Unix(0, 0)}
			if c.Vars != "" {
				opts.Vars = data[c.Vars].(map[string]any)
			}
			got, err := eval(c.Expr, input, opts)
			switch {
			case w.Error != "":
				require.Error(t, err, "jsonata-js fails with %s; got %v", w.Error, got)
				var je *jsonata.Error
				require.ErrorAs(t, err, &je)
				require.Equal(t, w.Error, je.Code, "error code (message %q)", je.Message)
			case w.Undefined:
				require.NoError(t, err)
				require.Equal(t, jsonata.Undefined, got)
			case w.Function:
				require.NoError(t, err)
				require.True(t, jsonata.IsFunction(got), "got %v", got)
			default:
				require.NoError(t, err)
				require.NotEqual(t, jsonata.Undefined, got, "want %s", w.Result)
				b, err := jsonata.Marshal(got)
				require.NoError(t, err)
				require.JSONEq(t, string(w.Result), string(b))
			}
		})
	}
}

func eval(src string, input any, opts jsonata.Options) (any, error) {
	e, err := jsonata.Compile(src)
	if err != nil {
		return nil, err
	}
	return e.Eval(input, opts)
}
