// Package cdkassert wraps aws-cdk-go's assertions so that a failed
// expectation fails the test with a readable message. The Go bindings of
// assertions report a mismatch by panicking with a jsii error; without the
// wrapper a single mismatch aborts the whole test binary.
package cdkassert

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// mu serializes calls into the jsii runtime, which is not safe for
// concurrent use by parallel tests.
var mu sync.Mutex

// Do runs f, which calls into the CDK, while holding the package lock (the
// jsii runtime is not safe for concurrent use) and turns a panic inside it
// into tb.Fatalf naming what was being checked. Do calls must not nest.
func Do(tb testing.TB, what string, f func()) {
	tb.Helper()
	failed := true
	var msg any
	func() {
		mu.Lock()
		defer mu.Unlock()
		defer func() {
			if r := recover(); r != nil {
				msg = r
			}
		}()
		f()
		failed = false
	}()
	if failed {
		tb.Fatalf("%s:\n%v", what, msg)
	}
}

// Template is a synthesized stack template with assertion helpers that
// never panic.
type Template struct {
	tb  testing.TB
	tpl assertions.Template
	// JSON is the template as decoded JSON.
	JSON map[string]any
}

// FromStack synthesizes stack (once per app) and returns its template.
// The template's assertion methods fail the testing.TB given to them.
func FromStack(tb testing.TB, stack awscdk.Stack) *Template {
	tb.Helper()
	t := &Template{tb: tb}
	Do(tb, "synthesize stack", func() {
		t.tpl = assertions.Template_FromStack(stack, nil)
		raw, err := json.Marshal(t.tpl.ToJSON())
		if err != nil {
			panic(fmt.Sprintf("encode template: %v", err))
		}
		if err := json.Unmarshal(raw, &t.JSON); err != nil {
			panic(fmt.Sprintf("decode template: %v", err))
		}
	})
	return t
}

// For returns the template bound to tb, so that shared templates fail the
// test that uses them.
func (t *Template) For(tb testing.TB) *Template {
	c := *t
	c.tb = tb
	return &c
}

// HasResourceProperties asserts a resource of type typ whose properties
// match props (assertions.Match objects allowed).
func (t *Template) HasResourceProperties(typ string, props any) {
	t.tb.Helper()
	Do(t.tb, "HasResourceProperties "+typ, func() { t.tpl.HasResourceProperties(jsii.String(typ), props) })
}

// ResourceCountIs asserts the number of resources of type typ.
func (t *Template) ResourceCountIs(typ string, n int) {
	t.tb.Helper()
	Do(t.tb, fmt.Sprintf("ResourceCountIs %s %d", typ, n), func() { t.tpl.ResourceCountIs(jsii.String(typ), jsii.Number(float64(n))) })
}

// Resource is one template resource: its logical id and decoded body.
type Resource struct {
	ID         string
	Type       string
	Properties map[string]any
	Metadata   map[string]any
	DependsOn  []any
}

// Resources returns every resource of type typ (all types when typ is "").
func (t *Template) Resources(typ string) []Resource {
	var out []Resource
	rs, _ := t.JSON["Resources"].(map[string]any)
	for id, v := range rs {
		body, _ := v.(map[string]any)
		rt, _ := body["Type"].(string)
		if typ != "" && rt != typ {
			continue
		}
		r := Resource{ID: id, Type: rt}
		r.Properties, _ = body["Properties"].(map[string]any)
		r.Metadata, _ = body["Metadata"].(map[string]any)
		switch d := body["DependsOn"].(type) {
		case []any:
			r.DependsOn = d
		case string:
			r.DependsOn = []any{d}
		}
		out = append(out, r)
	}
	return out
}

// Resource returns the resource with logical id, failing the test when
// there is none.
func (t *Template) Resource(id string) Resource {
	t.tb.Helper()
	for _, r := range t.Resources("") {
		if r.ID == id {
			return r
		}
	}
	t.tb.Fatalf("no resource %q in template", id)
	return Resource{}
}
