// Package tracing adds Turbocat's spans to AWS X-Ray in Lambda: a
// subsegment per API request (annotated with the route), per run start and
// per step run (annotated with the execution id, step key and agent type),
// and one per AWS SDK call, whose trace header is passed on so that a trace
// follows a run from the API function through Step Functions to the
// steprunner. Outside Lambda (turbocat dev, tests) every call is a no-op
// unless Enable is called.
//
// It speaks the X-Ray daemon's UDP protocol directly (a JSON header line,
// then one segment document per datagram) instead of linking the X-Ray SDK,
// which pulls in aws-sdk-go v1 and costs megabytes and milliseconds of
// start-up in every function. In Lambda the daemon listens on
// AWS_XRAY_DAEMON_ADDRESS and the function's segment is made by Lambda:
// spans are sent as independent subsegments of it, identified by the
// trace header Lambda puts in each invocation's context.
package tracing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var (
	enabled atomic.Bool
	// emit sends one segment document; Enable points it at the daemon and
	// tests at a recorder.
	emitMu sync.Mutex
	emit   = func([]byte) {}
)

// DefaultDaemonAddress is where the X-Ray daemon listens unless
// AWS_XRAY_DAEMON_ADDRESS says otherwise.
const DefaultDaemonAddress = "127.0.0.1:2000"

// header is the line that precedes every document sent to the daemon.
const header = "{\"format\": \"json\", \"version\": 1}\n"

// Enable turns tracing on (Lambda mains call it): spans are sent to the
// daemon at AWS_XRAY_DAEMON_ADDRESS. It does no I/O: UDP needs no
// connection, and a daemon that is absent only loses the spans.
func Enable() {
	addr := os.Getenv("AWS_XRAY_DAEMON_ADDRESS")
	if addr == "" {
		addr = DefaultDaemonAddress
	}
	// The variable may hold "tcp:host:port udp:host:port"; spans go over UDP.
	for _, f := range strings.Fields(addr) {
		if a, ok := strings.CutPrefix(f, "udp:"); ok {
			addr = a
		}
	}
	var (
		once sync.Once
		conn net.Conn
	)
	setEmitter(func(doc []byte) {
		once.Do(func() { conn, _ = net.Dial("udp", addr) })
		if conn != nil {
			_, _ = conn.Write(append([]byte(header), doc...))
		}
	})
	enabled.Store(true)
}

func setEmitter(f func([]byte)) {
	emitMu.Lock()
	emit = f
	emitMu.Unlock()
}

func send(doc []byte) {
	emitMu.Lock()
	f := emit
	emitMu.Unlock()
	f(doc)
}

// Enabled reports whether tracing is on.
func Enabled() bool { return enabled.Load() }

// traceHeaderKey is where aws-lambda-go puts each invocation's X-Ray trace
// header ("Root=1-…;Parent=…;Sampled=1") in the handler's context.
const traceHeaderKey = "x-amzn-trace-id"

// parent is what a new span hangs from: the trace, the parent segment or
// subsegment, and whether the trace is sampled.
type parent struct {
	traceID, parentID string
	sampled           bool
}

// parentOf finds the innermost span of ctx, or else the Lambda trace header.
func parentOf(ctx context.Context) (parent, bool) {
	if s, ok := ctx.Value(spanKey{}).(*span); ok && s != nil {
		return parent{traceID: s.TraceID, parentID: s.ID, sampled: true}, true
	}
	h, _ := ctx.Value(traceHeaderKey).(string)
	if h == "" {
		h = os.Getenv("_X_AMZN_TRACE_ID")
	}
	return parseHeader(h)
}

// parseHeader reads "Root=…;Parent=…;Sampled=…".
func parseHeader(h string) (parent, bool) {
	var p parent
	for _, part := range strings.Split(h, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Root":
			p.traceID = v
		case "Parent":
			p.parentID = v
		case "Sampled":
			p.sampled = v == "1"
		}
	}
	return p, p.traceID != "" && p.parentID != ""
}

type spanKey struct{}

// span is one subsegment document.
type span struct {
	Name        string            `json:"name"`
	ID          string            `json:"id"`
	TraceID     string            `json:"trace_id"`
	ParentID    string            `json:"parent_id"`
	Type        string            `json:"type"`
	StartTime   float64           `json:"start_time"`
	EndTime     float64           `json:"end_time,omitempty"`
	Namespace   string            `json:"namespace,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	AWS         map[string]string `json:"aws,omitempty"`
	Fault       bool              `json:"fault,omitempty"`
	Cause       *cause            `json:"cause,omitempty"`

	mu sync.Mutex
}

type cause struct {
	Exceptions []exception `json:"exceptions"`
}

type exception struct {
	ID      string `json:"id"`
	Message string `json:"message"`
}

// Span is an open subsegment; End closes and sends it. The zero Span is
// inert.
type Span struct{ s *span }

// Start opens a subsegment called name with annotations (searchable in the
// X-Ray console). It returns ctx unchanged and an inert span when tracing is
// off, ctx belongs to no trace, or the trace is not sampled.
func Start(ctx context.Context, name string, annotations map[string]string) (context.Context, Span) {
	s := begin(ctx, name)
	if s == nil {
		return ctx, Span{}
	}
	for k, v := range annotations {
		s.Annotations[k] = v
	}
	return context.WithValue(ctx, spanKey{}, s), Span{s: s}
}

func begin(ctx context.Context, name string) *span {
	if !enabled.Load() {
		return nil
	}
	p, ok := parentOf(ctx)
	if !ok || !p.sampled {
		return nil
	}
	return &span{Name: name, ID: newID(), TraceID: p.traceID, ParentID: p.parentID, Type: "subsegment",
		StartTime: epoch(time.Now()), Annotations: map[string]string{}}
}

// Annotate adds an annotation to the span.
func (s Span) Annotate(key, value string) {
	if s.s != nil {
		s.s.mu.Lock()
		s.s.Annotations[key] = value
		s.s.mu.Unlock()
	}
}

// End closes the span, recording err as a fault, and sends it.
func (s Span) End(err error) {
	if s.s == nil {
		return
	}
	s.s.mu.Lock()
	s.s.EndTime = epoch(time.Now())
	if err != nil {
		s.s.Fault = true
		s.s.Cause = &cause{Exceptions: []exception{{ID: newID(), Message: err.Error()}}}
	}
	doc, _ := json.Marshal(s.s)
	s.s.mu.Unlock()
	send(doc)
}

// Header is the X-Amzn-Trace-Id value that makes a downstream call a child
// of the span; "" for an inert span.
func (s Span) Header() string {
	if s.s == nil {
		return ""
	}
	return "Root=" + s.s.TraceID + ";Parent=" + s.s.ID + ";Sampled=1"
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func epoch(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
