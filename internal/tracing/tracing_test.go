package tracing

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"sync"
	"testing"

	"github.com/aws/aws-xray-sdk-go/xray"
	"github.com/stretchr/testify/require"
)

// captured records what the X-Ray SDK would send to the daemon.
type captured struct {
	mu   sync.Mutex
	segs []json.RawMessage
}

func (c *captured) Emit(seg *xray.Segment) {
	b, _ := json.Marshal(seg)
	c.mu.Lock()
	c.segs = append(c.segs, b)
	c.mu.Unlock()
}

func (c *captured) RefreshEmitterWithAddress(*net.UDPAddr) {}

func TestSpansCarryAnnotations(t *testing.T) {
	ctx := context.Background()
	// Off: inert.
	_, s := Start(ctx, "step", map[string]string{"executionId": "x"})
	require.Nil(t, s.seg)

	Enable()
	t.Cleanup(func() { enabled.Store(false) })
	em := &captured{}
	require.NoError(t, xray.Configure(xray.Config{Emitter: em}))
	// No segment in ctx (turbocat dev): inert, no error.
	_, s = Start(ctx, "step", nil)
	require.Nil(t, s.seg)

	ctx, root := xray.BeginSegment(ctx, "steprunner")
	sctx, span := Start(ctx, "step", map[string]string{"executionId": "e-1", "stepKey": "fetch"})
	require.NotNil(t, xray.GetSegment(sctx))
	span.Annotate("agentType", "api")
	span.End(errors.New("Api.Http5xx: upstream answered 503"))
	root.Close(nil)

	require.NotEmpty(t, em.segs, "the trace was emitted")
	sub := span.seg
	require.Equal(t, "step", sub.Name)
	require.Same(t, root, sub.ParentSegment, "the step is a subsegment of the function's segment")
	require.Equal(t, map[string]any{"executionId": "e-1", "stepKey": "fetch", "agentType": "api"}, sub.Annotations)
	require.True(t, sub.Fault || sub.Error, "the step's error is recorded")
}
