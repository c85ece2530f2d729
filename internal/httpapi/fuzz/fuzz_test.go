// Package fuzz_test holds the fuzz targets of the API's request decoding
// and workflow validation, apart from the API tests so that fuzzing builds
// only what these targets need.
package fuzz_test

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/turbocat/turbocat/internal/httpapi"
	"github.com/turbocat/turbocat/internal/service"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// FuzzDecodeJSON: the strict decoder never panics, and whatever it accepts
// is valid JSON, valid UTF-8 and free of NUL characters (text Postgres can
// store).
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"email":"a@b.co","password":"12345678"}`, `{}`, `[]`, `{"a":`, `{"email":1}`, `{"x":{"y":[[[[1]]]]}}`, "\x00", `"\u0000"`, `{"email":"a\u0000"}`, "{\"email\":\"\xff\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var in service.RegisterInput
		err := httpapi.DecodeJSON(b, &in)
		if err != nil {
			if turbocat.ErrorCodeOf(err) != turbocat.EVALIDATION {
				t.Fatalf("decode error is not a validation error: %v", err)
			}
			return
		}
		if !json.Valid(b) {
			t.Fatalf("accepted invalid JSON %q", b)
		}
		if !utf8.Valid(b) {
			t.Fatalf("accepted invalid UTF-8 %q", b)
		}
		if strings.ContainsRune(in.Email+in.Password+in.FullName, 0) {
			t.Fatalf("accepted a NUL character: %q", b)
		}
	})
}

// FuzzWorkflowValidation: any decoded workflow body is validated without
// panicking, and every problem names a field.
func FuzzWorkflowValidation(f *testing.F) {
	f.Add([]byte(`{"name":"w","steps":[{"key":"a","agentId":"x"},{"key":"b","agentId":"x","dependsOn":["a"],"inputs":{"t":"{{steps.a.output.x}}"}}]}`))
	f.Add([]byte(`{"name":"w","steps":[{"key":"a","agentId":"x","dependsOn":["b"]},{"key":"b","agentId":"x","dependsOn":["a"]}]}`))
	f.Add([]byte(`{"name":"w","inputSchema":{"type":"object","properties":{"u":{}}},"steps":[{"key":"a","agentId":"x","inputs":{"q":"{{inputs.v}} {{"}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var in service.WorkflowInput
		if httpapi.DecodeJSON(b, &in) != nil || in.Steps == nil {
			return
		}
		w := &turbocat.Workflow{Steps: *in.Steps, InputSchema: in.InputSchema, Output: in.Output}
		for _, p := range service.ValidateWorkflowShape(w, 50) {
			if p.Field == "" || p.Message == "" {
				t.Fatalf("problem without field or message: %+v", p)
			}
		}
	})
}
