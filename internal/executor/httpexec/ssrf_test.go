package httpexec

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/turbocat"
)

func TestCheckAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr    string
		blocked bool
	}{
		{"127.0.0.1", true}, {"127.255.0.1", true}, {"::1", true},
		{"0.0.0.0", true}, {"::", true}, {"::ffff:0.0.0.0", true},
		{"10.1.2.3", true}, {"172.16.0.1", true}, {"172.31.255.255", true}, {"192.168.1.1", true},
		{"169.254.169.254", true}, {"::ffff:169.254.169.254", true}, {"fd00:ec2::254", true},
		{"100.64.0.1", true}, {"100.100.100.200", true}, {"198.18.0.1", true}, {"198.19.255.255", true},
		{"192.0.0.170", true}, {"224.0.0.1", true}, {"255.255.255.255", true}, {"ff02::1", true},
		{"64:ff9b::7f00:1", true}, {"2002:7f00:1::", true}, {"fc00::1", true}, {"fe80::1", true},
		{"::127.0.0.1", true}, {"168.63.129.16", true},
		{"8.8.8.8", false}, {"1.1.1.1", false}, {"172.32.0.1", false}, {"100.128.0.1", false},
		{"2606:4700:4700::1111", false}, {"198.20.0.1", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			t.Parallel()
			err := CheckAddr(netip.MustParseAddr(tt.addr), nil)
			if tt.blocked {
				require.ErrorIs(t, err, ErrBlocked)
			} else {
				require.NoError(t, err)
			}
		})
	}
	allow, err := ParseCIDRs(" 127.0.0.0/8, ::1 ,::ffff:10.0.0.0/104")
	require.NoError(t, err)
	require.NoError(t, CheckAddr(netip.MustParseAddr("127.0.0.1"), allow))
	require.NoError(t, CheckAddr(netip.MustParseAddr("::ffff:127.0.0.1"), allow))
	require.NoError(t, CheckAddr(netip.MustParseAddr("::1"), allow))
	require.NoError(t, CheckAddr(netip.MustParseAddr("10.2.3.4"), allow))
	require.Error(t, CheckAddr(netip.MustParseAddr("169.254.169.254"), allow))
	_, err = ParseCIDRs("10.0.0.0/33")
	require.Error(t, err)
}

func TestAmbiguousNumericHost(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"2130706433": true, "0x7f000001": true, "0177.0.0.1": true, "127.1": true, "0xa9.0xfe.0xa9.0xfe": true,
		"0251.0376.0251.0376": true, "2852039166": true,
		"127.0.0.1": false, "example.com": false, "1.2.3.4.5": false, "api-2.test": false, "::1": false,
	} {
		require.Equal(t, want, ambiguousNumericHost(host), host)
	}
}

// canary is a loopback server counting every TCP connection it accepts.
type canary struct {
	port  int
	conns atomic.Int64
	srvs  []*httptest.Server
}

func newCanary(t *testing.T) *canary {
	t.Helper()
	c := &canary{}
	start := func(l net.Listener) {
		s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"canary":true}`))
		}))
		s.Listener.Close()
		s.Listener = l
		s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				c.conns.Add(1)
			}
		}
		s.Start()
		t.Cleanup(s.Close)
		c.srvs = append(c.srvs, s)
	}
	l4, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	c.port = l4.Addr().(*net.TCPAddr).Port
	start(l4)
	if l6, err := net.Listen("tcp6", "[::1]:"+strconv.Itoa(c.port)); err == nil {
		start(l6)
	} else {
		t.Logf("no IPv6 loopback here (%v): the [::1] cases still must fail, without a canary on ::1", err)
	}
	return c
}

// fakeResolver answers fixed names and rebinds "rebind.test": a public
// address first, loopback afterwards.
type fakeResolver struct {
	mu    sync.Mutex
	calls map[string]int
}

func (f *fakeResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	f.mu.Lock()
	f.calls[host]++
	n := f.calls[host]
	f.mu.Unlock()
	switch host {
	case "canary.test":
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	case "metadata.test":
		return []netip.Addr{netip.MustParseAddr("169.254.169.254")}, nil
	case "mixed.test":
		return []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("127.0.0.1")}, nil
	case "rebind.test":
		// 127.0.0.2 plays the public address: it is the one allowed
		// address, and nothing listens on the canary's port there.
		if n == 1 {
			return []netip.Addr{netip.MustParseAddr("127.0.0.2")}, nil
		}
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	case "proxied.test":
		return []netip.Addr{netip.MustParseAddr("127.0.0.2")}, nil
	}
	return net.DefaultResolver.LookupNetIP(ctx, network, host)
}

func newRedirector(t *testing.T, allowAddr string) (string, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	l, err := net.Listen("tcp4", allowAddr+":0")
	require.NoError(t, err)
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		http.Redirect(w, r, r.URL.Query().Get("to"), code)
	}))
	s.Listener.Close()
	s.Listener = l
	s.Start()
	t.Cleanup(s.Close)
	return s.URL, &hits
}

func apiConfig(url string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"method": "GET", "url": url, "timeoutSeconds": 3})
	return b
}

// TestSSRFCorpus: every spelling of an internal destination fails with a
// clear step error, and not one connection reaches the canary.
func TestSSRFCorpus(t *testing.T) {
	t.Parallel()
	c := newCanary(t)
	// The redirector listens on 127.0.0.2, the only allowed address.
	redirURL, redirHits := newRedirector(t, "127.0.0.2")
	res := &fakeResolver{calls: map[string]int{}}
	client := NewClient(ClientOptions{
		AllowCIDRs:  []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")},
		Resolver:    res,
		DialTimeout: 2 * time.Second,
	})
	ex := New(Options{Client: client})
	p := strconv.Itoa(c.port)
	targets := []string{
		"http://169.254.169.254:" + p + "/latest/meta-data/",
		"http://2852039166:" + p + "/",
		"http://0xa9fea9fe:" + p + "/",
		"http://0xa9.0xfe.0xa9.0xfe:" + p + "/",
		"http://0251.0376.0251.0376:" + p + "/",
		"http://[::ffff:169.254.169.254]:" + p + "/",
		"http://[fd00:ec2::254]:" + p + "/",
		"http://127.0.0.1:" + p + "/",
		"http://127.1:" + p + "/",
		"http://2130706433:" + p + "/",
		"http://0x7f000001:" + p + "/",
		"http://[::1]:" + p + "/",
		"http://0.0.0.0:" + p + "/",
		"http://[::ffff:0.0.0.0]:" + p + "/",
		"http://[::ffff:127.0.0.1]:" + p + "/",
		"http://[::ffff:7f00:1]:" + p + "/",
		"http://localhost:" + p + "/",
		"http://10.0.0.1:" + p + "/",
		"http://172.16.0.1:" + p + "/",
		"http://192.168.0.1:" + p + "/",
		"http://100.100.100.200:" + p + "/",
		"http://canary.test:" + p + "/",
		"http://metadata.test:" + p + "/",
		"http://mixed.test:" + p + "/",
		"https://127.0.0.1:" + p + "/",
		"file:///etc/passwd",
		"gopher://127.0.0.1:" + p + "/_GET",
		"ftp://127.0.0.1:" + p + "/",
	}
	for _, code := range []int{301, 302, 303, 307, 308} {
		targets = append(targets,
			fmt.Sprintf("%s/?code=%d&to=http://127.0.0.1:%s/", redirURL, code, p),
			fmt.Sprintf("%s/?code=%d&to=http://[::1]:%s/", redirURL, code, p),
			fmt.Sprintf("%s/?code=%d&to=http://canary.test:%s/", redirURL, code, p),
			fmt.Sprintf("%s/?code=%d&to=file:///etc/passwd", redirURL, code))
	}
	for _, target := range targets {
		t.Run(target, func(t *testing.T) {
			t.Parallel()
			_, err := ex.Execute(context.Background(), executor.Request{Type: executor.TypeAPI, Config: apiConfig(target)})
			var e *turbocat.StepError
			require.ErrorAs(t, err, &e)
			require.Equal(t, executor.ErrAPIBlocked, e.Name, e.Cause)
			require.NotEmpty(t, e.Cause)
		})
	}
	t.Run("dns rebinding", func(t *testing.T) {
		t.Parallel()
		for i := 0; i < 2; i++ {
			_, err := ex.Execute(context.Background(), executor.Request{Type: executor.TypeAPI, Config: apiConfig("http://rebind.test:" + p + "/")})
			var e *turbocat.StepError
			require.ErrorAs(t, err, &e, "attempt %d", i)
			if i == 1 {
				require.Equal(t, executor.ErrAPIBlocked, e.Name, e.Cause)
			}
		}
	})
	t.Cleanup(func() {
		require.Zero(t, c.conns.Load(), "connections reached the canary")
		require.Positive(t, redirHits.Load(), "the redirect cases reached the allowed redirector")
	})
}

// TestSSRFCanaryCounts is the positive control: with loopback allowed, the
// same canary does count the connection, so the corpus above can fail.
func TestSSRFCanaryCounts(t *testing.T) {
	t.Parallel()
	c := newCanary(t)
	ex := New(Options{Client: NewClient(ClientOptions{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})})
	res, err := ex.Execute(context.Background(), executor.Request{Type: executor.TypeAPI, Config: apiConfig("http://127.0.0.1:" + strconv.Itoa(c.port) + "/")})
	require.NoError(t, err)
	require.JSONEq(t, `{"status":200,"headers":{"Content-Type":"text/plain; charset=utf-8"},"body":"{\"canary\":true}"}`, string(res.Output))
	require.Equal(t, int64(1), c.conns.Load())
}

func TestNewClientIgnoresProxyEnv(t *testing.T) {
	c := newCanary(t)
	// A proxy pointing at the canary would be used by a default transport
	// for this (non-loopback) host name.
	proxy := "http://127.0.0.1:" + strconv.Itoa(c.port)
	for _, k := range []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"} {
		t.Setenv(k, proxy)
	}
	t.Setenv("NO_PROXY", "")
	ex := New(Options{Client: NewClient(ClientOptions{
		AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")},
		Resolver:   &fakeResolver{calls: map[string]int{}},
	})})
	// The direct connection goes to 127.0.0.2 where nothing listens.
	_, err := ex.Execute(context.Background(), executor.Request{Type: executor.TypeAPI, Config: apiConfig("http://proxied.test:" + strconv.Itoa(c.port) + "/")})
	var e *turbocat.StepError
	require.ErrorAs(t, err, &e)
	require.Equal(t, executor.ErrAPIConnection, e.Name, e.Cause)
	require.Zero(t, c.conns.Load())
}

// TestOwnEndpointsBlocked: an agent never reaches the server's own API or
// Step Functions endpoint, whatever the allow list opens.
func TestOwnEndpointsBlocked(t *testing.T) {
	t.Parallel()
	engine := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("stopped your run")) }))
	t.Cleanup(engine.Close)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	t.Cleanup(other.Close)
	own := netip.MustParseAddrPort(engine.Listener.Addr().String())
	c := NewClient(ClientOptions{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Own: []netip.AddrPort{own}})

	_, err := c.Get(engine.URL)
	require.ErrorIs(t, err, ErrBlocked)
	require.Contains(t, err.Error(), "Turbocat's own endpoint")
	require.NotContains(t, err.Error(), AllowCIDRsEnv, "no allow list opens it, so none is suggested")
	res, err := c.Get(other.URL)
	require.NoError(t, err, "other allowed loopback servers stay reachable")
	res.Body.Close()

	// A listener on every interface is refused on loopback and on the
	// machine's own addresses.
	any := []netip.AddrPort{netip.AddrPortFrom(netip.IPv4Unspecified(), 8083)}
	require.Error(t, checkOwn(netip.MustParseAddrPort("127.0.0.1:8083"), any, localAddrs))
	require.Error(t, checkOwn(netip.MustParseAddrPort("127.0.0.2:8083"), any, localAddrs))
	require.Error(t, checkOwn(netip.MustParseAddrPort("10.1.2.3:8083"), any, func() []netip.Addr { return []netip.Addr{netip.MustParseAddr("10.1.2.3")} }))
	require.NoError(t, checkOwn(netip.MustParseAddrPort("10.1.2.4:8083"), any, func() []netip.Addr { return []netip.Addr{netip.MustParseAddr("10.1.2.3")} }))
	require.NoError(t, checkOwn(netip.MustParseAddrPort("127.0.0.1:8084"), any, localAddrs))

	// A blocked range says how to open it for local development.
	_, err = NewClient(ClientOptions{}).Get(other.URL)
	require.ErrorContains(t, err, AllowCIDRsEnv)
}
