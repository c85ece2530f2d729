package tmpl

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReferences(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    []string
		wantOff []int
		errAt   int // -1: no error
	}{
		{"plain text", "hello", nil, nil, -1},
		{"one", "{{inputs.url}}", []string{"inputs.url"}, []int{0}, -1},
		{"spaces and index", "a {{ steps.fetch.output.body.items.0 }} b", []string{"steps.fetch.output.body.items.0"}, []int{2}, -1},
		{"two", "{{execution.id}}-{{secrets.API_KEY}}", []string{"execution.id", "secrets.API_KEY"}, []int{0, 17}, -1},
		{"escaped", `\{{not.a.ref}}`, nil, nil, -1},
		{"unclosed", "abc {{inputs.url", nil, nil, 4},
		{"empty", "x{{ }}", nil, nil, 1},
		{"empty segment", "{{inputs..url}}", nil, nil, 0},
		{"bad char", "ab{{inputs.u rl}}", nil, nil, 2},
		{"starts with index", "{{0.x}}", nil, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			refs, err := References(tt.in)
			if tt.errAt >= 0 {
				var se *SyntaxError
				require.ErrorAs(t, err, &se)
				require.Equal(t, tt.errAt, se.Offset)
				return
			}
			require.NoError(t, err)
			var got []string
			var offs []int
			for _, r := range refs {
				got = append(got, r.String())
				offs = append(offs, r.Offset)
			}
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.wantOff, offs)
		})
	}
}

func testContext() Context {
	return Context{Values: map[string]any{
		"inputs": json.RawMessage(`{"url":"https://x.test/a","n":42,"obj":{"k":[1,"two",{"d":true}]},"nil":null,"html":"<a&b>"}`),
		"steps":  map[string]any{"fetch": map[string]any{"output": map[string]any{"items": []any{"first", "second"}}}},
		"execution": struct {
			ID string `json:"id"`
		}{ID: "exec-1"},
	}}
}

func TestRender(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"whole string keeps number type", `"{{inputs.n}}"`, `42`},
		{"whole string keeps object", `"{{ inputs.obj }}"`, `{"k":[1,"two",{"d":true}]}`},
		{"whole string keeps null", `"{{inputs.nil}}"`, `null`},
		{"embedded string", `"GET {{inputs.url}} now"`, `"GET https://x.test/a now"`},
		{"embedded number and object as JSON text", `"n={{inputs.n}} o={{inputs.obj.k}}"`, `"n=42 o=[1,\"two\",{\"d\":true}]"`},
		{"array index", `"{{inputs.obj.k.1}}"`, `"two"`},
		{"nested walk, order kept, keys untouched", `{"z":"{{inputs.n}}","a":["{{steps.fetch.output.items.1}}",1,true,null],"{{k}}":"x"}`, `{"z":42,"a":["second",1,true,null],"{{k}}":"x"}`},
		{"go struct root", `"{{execution.id}}"`, `"exec-1"`},
		{"no html escaping", `"{{inputs.html}}"`, `"<a&b>"`},
		{"escape", `"\\{{inputs.n}}"`, `"{{inputs.n}}"`},
		{"non-string scalars untouched", `[1.5e3,false]`, `[1.5e3,false]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Render(json.RawMessage(tt.in), testContext())
			require.NoError(t, err)
			require.JSONEq(t, tt.want, string(got))
			if strings.Contains(tt.name, "order") {
				require.Equal(t, tt.want, string(got))
			}
		})
	}
}

func TestRenderMissingNamesReference(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`"{{inputs.nope}}"`, `{"a":"x {{steps.other.output}}"}`, `"{{inputs.obj.k.7}}"`, `"{{inputs.n.x}}"`, `"{{unknown.x}}"`} {
		_, err := Render(json.RawMessage(in), testContext())
		var me *MissingError
		require.ErrorAs(t, err, &me, in)
		require.Contains(t, in, me.Ref.String())
		require.Contains(t, err.Error(), "{{"+me.Ref.String()+"}}")
	}
}

func TestRenderSecretsResolvedAtUseAndRecorded(t *testing.T) {
	t.Parallel()
	calls := 0
	var recorded []string
	c := Context{
		Values: map[string]any{"input": json.RawMessage(`{"user":"bob"}`)},
		Secrets: func(_ context.Context, name string) (string, error) {
			calls++
			if name == "TOKEN" {
				return "s3cr3t-value", nil
			}
			return "", errors.New("no such secret")
		},
		OnSecret: func(name, value string) { recorded = append(recorded, name+"="+value) },
	}
	got, err := Render(json.RawMessage(`{"h":"Bearer {{secrets.TOKEN}}","t":"{{secrets.TOKEN}}","u":"{{input.user}}"}`), c)
	require.NoError(t, err)
	require.JSONEq(t, `{"h":"Bearer s3cr3t-value","t":"s3cr3t-value","u":"bob"}`, string(got))
	require.Equal(t, 1, calls, "a secret is resolved once per render")
	require.Equal(t, []string{"TOKEN=s3cr3t-value"}, recorded)

	_, err = Render(json.RawMessage(`"{{secrets.OTHER}}"`), c)
	require.ErrorContains(t, err, `"OTHER"`)

	_, err = Render(json.RawMessage(`"{{secrets.TOKEN}}"`), Context{})
	var me *MissingError
	require.ErrorAs(t, err, &me)
}

func TestRenderSizeBound(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 1000)
	c := Context{Values: map[string]any{"input": map[string]any{"big": big}}, MaxBytes: 5000}
	_, err := Render(json.RawMessage(`["{{input.big}}","{{input.big}}"]`), c)
	require.NoError(t, err)
	_, err = Render(json.RawMessage(`["{{input.big}}","{{input.big}}","{{input.big}}","{{input.big}}","{{input.big}}","{{input.big}}"]`), c)
	require.ErrorIs(t, err, ErrTooLarge)
	_, err = RenderString(context.Background(), strings.Repeat("{{input.big}}", 6), c)
	require.ErrorIs(t, err, ErrTooLarge)
}

func TestRenderString(t *testing.T) {
	t.Parallel()
	got, err := RenderString(context.Background(), "https://api.test/{{inputs.n}}?u={{ inputs.url }}", testContext())
	require.NoError(t, err)
	require.Equal(t, "https://api.test/42?u=https://x.test/a", got)
}

func TestRenderInvalidJSON(t *testing.T) {
	t.Parallel()
	_, err := Render(json.RawMessage(`{"a":`), testContext())
	require.Error(t, err)
	_, err = Render(json.RawMessage(`1 2`), testContext())
	require.Error(t, err)
}

// FuzzRender: any template string either renders to valid JSON or fails
// with an error; it never panics, and References agrees on validity.
func FuzzRender(f *testing.F) {
	for _, s := range []string{"{{inputs.n}}", "a {{ inputs.obj.k.0 }} b", `\{{x}}`, "{{", "}}{{a.b}}", "{{secrets.X}}", "{{0}}", "{{inputs..n}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		raw, _ := json.Marshal(s)
		out, err := Render(raw, testContext())
		_, refErr := References(s)
		if refErr != nil {
			require.Error(t, err)
			return
		}
		if err == nil {
			require.True(t, json.Valid(out), "%q rendered to invalid JSON %q", s, out)
		}
	})
}

func TestReferencesIn(t *testing.T) {
	t.Parallel()
	refs, err := ReferencesIn(json.RawMessage(`{"url":"https://x/{{inputs.id}}","body":{"items":["a","{{steps.s1.output}} and {{ execution.id }}"],"{{notakey.x}}":1},"n":3}`))
	require.NoError(t, err)
	var got []string
	for _, r := range refs {
		got = append(got, r.Field+"="+r.String())
	}
	require.Equal(t, []string{"url=inputs.id", "body.items.1=steps.s1.output", "body.items.1=execution.id"}, got)

	_, err = ReferencesIn(json.RawMessage(`{"a":{"b":["ok","x {{inputs.}}"]}}`))
	var se *SyntaxError
	require.ErrorAs(t, err, &se)
	require.Equal(t, "a.b.1", se.Field)
	require.Equal(t, 2, se.Offset)
	require.Contains(t, err.Error(), "a.b.1: template syntax error at offset 2")

	_, err = ReferencesIn(json.RawMessage(`{"a":`))
	require.Error(t, err)
}
