package stacks_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/infra/internal/cdkassert"
)

// recordingTB records Fatalf instead of failing the real test.
type recordingTB struct {
	testing.TB
	failed bool
	msg    string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Fatalf(format string, args ...any) {
	r.failed = true
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// record runs f with a recordingTB in its own goroutine (Fatalf ends it).
func record(t *testing.T, f func(tb testing.TB)) *recordingTB {
	rec := &recordingTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(rec)
	}()
	<-done
	return rec
}

func TestFailedCDKAssertionIsATestFailureWithReadableMessage(t *testing.T) {
	t.Parallel()
	fx := externalApp(t)

	rec := record(t, func(tb testing.TB) {
		fx.tpl(tb, "api").HasResourceProperties("AWS::ApiGatewayV2::Api", map[string]any{"Name": "not-the-api-name"})
	})
	require.True(t, rec.failed, "a mismatch fails the test instead of panicking")
	require.Contains(t, rec.msg, "HasResourceProperties AWS::ApiGatewayV2::Api")
	require.Contains(t, rec.msg, "not-the-api-name", "the message shows the expectation")

	rec = record(t, func(tb testing.TB) { fx.tpl(tb, "api").ResourceCountIs("AWS::ApiGatewayV2::Api", 7) })
	require.True(t, rec.failed)
	require.Contains(t, rec.msg, "ResourceCountIs AWS::ApiGatewayV2::Api 7")

	rec = record(t, func(tb testing.TB) {
		fx.tpl(tb, "api").HasResourceProperties("AWS::ApiGatewayV2::Api", map[string]any{"Name": fx.cfg.Name("")})
		fx.tpl(tb, "api").ResourceCountIs("AWS::ApiGatewayV2::Api", 1)
	})
	require.False(t, rec.failed, "matching expectations pass: %s", rec.msg)

	rec = record(t, func(tb testing.TB) { cdkassert.Do(tb, "plain panic", func() { panic("boom") }) })
	require.True(t, rec.failed)
	require.Equal(t, "plain panic:\nboom", rec.msg)
}
