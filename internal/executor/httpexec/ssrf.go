package httpexec

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// AllowCIDRsEnv is the environment variable listing CIDRs exempt from the
// SSRF block list (comma-separated; empty by default). Meant for local
// development and tests that call servers on loopback.
const AllowCIDRsEnv = "TURBOCAT_HTTP_ALLOW_CIDRS"

// DefaultMaxRedirects is the number of redirects followed, each hop checked again.
const DefaultMaxRedirects = 3

// ErrBlocked is wrapped by every error caused by the SSRF protection.
var ErrBlocked = errors.New("destination blocked")

// BlockedError is a destination refused by the SSRF protection.
type BlockedError struct {
	// Target is what was refused: an address, a host or a URL.
	Target string
	// Reason says why (e.g. "loopback", "private", "scheme").
	Reason string
	// Allowable is true when TURBOCAT_HTTP_ALLOW_CIDRS could open it.
	Allowable bool
}

func (e *BlockedError) Error() string {
	msg := fmt.Sprintf("destination %s blocked: %s", e.Target, e.Reason)
	if e.Allowable {
		msg += " (for local development, list the range in " + AllowCIDRsEnv + ", e.g. 127.0.0.0/8)"
	}
	return msg
}

// Unwrap makes errors.Is(err, ErrBlocked) true.
func (e *BlockedError) Unwrap() error { return ErrBlocked }

type blockedRange struct {
	prefix netip.Prefix
	reason string
}

func mustPrefixes(reason string, cidrs ...string) []blockedRange {
	out := make([]blockedRange, 0, len(cidrs))
	for _, c := range cidrs {
		out = append(out, blockedRange{netip.MustParsePrefix(c), reason})
	}
	return out
}

// blocked lists the ranges no agent may reach. IPv4-mapped IPv6 addresses
// are unmapped before the check.
var blocked = concat(
	mustPrefixes("unspecified or \"this network\"", "0.0.0.0/8", "::/128"),
	mustPrefixes("loopback", "127.0.0.0/8", "::1/128"),
	mustPrefixes("private", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"),
	mustPrefixes("carrier-grade NAT", "100.64.0.0/10"),
	mustPrefixes("link-local", "169.254.0.0/16", "fe80::/10"),
	mustPrefixes("IETF protocol assignments", "192.0.0.0/24"),
	mustPrefixes("documentation", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"),
	mustPrefixes("benchmarking", "198.18.0.0/15", "2001:2::/48"),
	mustPrefixes("6to4 relay", "192.88.99.0/24", "2002::/16"),
	mustPrefixes("multicast", "224.0.0.0/4", "ff00::/8"),
	mustPrefixes("reserved", "240.0.0.0/4"),
	mustPrefixes("IPv4-compatible or IPv4-translated IPv6", "::/96", "::ffff:0:0:0/96"),
	mustPrefixes("NAT64", "64:ff9b::/96", "64:ff9b:1::/48"),
	mustPrefixes("discard-only", "100::/64"),
	mustPrefixes("Teredo", "2001::/32"),
	mustPrefixes("unique-local", "fc00::/7"),
	mustPrefixes("site-local", "fec0::/10"),
	mustPrefixes("cloud metadata", "168.63.129.16/32", "100.100.100.200/32", "fd00:ec2::254/128"),
)

func concat(lists ...[]blockedRange) []blockedRange {
	var out []blockedRange
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// CheckAddr returns a *BlockedError when addr is in a blocked range and not
// in allow. IPv4-mapped IPv6 addresses are checked as IPv4.
func CheckAddr(addr netip.Addr, allow []netip.Prefix) error {
	if !addr.IsValid() {
		return &BlockedError{Target: "invalid address", Reason: "unparseable"}
	}
	a := addr.Unmap().WithZone("")
	for _, p := range allow {
		if p.Contains(a) {
			return nil
		}
	}
	for _, b := range blocked {
		if b.prefix.Contains(a) {
			return &BlockedError{Target: addr.String(), Reason: b.reason, Allowable: true}
		}
	}
	return nil
}

// checkOwn refuses Turbocat's own endpoints (own lists their listen
// addresses), whatever the allow list: an agent must never reach the API or
// the Step Functions endpoint of the server running it. A listener on an
// unspecified address (0.0.0.0, ::) is reachable on loopback and on every
// address of the machine.
func checkOwn(target netip.AddrPort, own []netip.AddrPort, local func() []netip.Addr) error {
	t := target.Addr().Unmap().WithZone("")
	for _, o := range own {
		if o.Port() != target.Port() {
			continue
		}
		oa := o.Addr().Unmap()
		switch {
		case oa == t, oa.IsLoopback() && t.IsLoopback(), t.IsUnspecified():
		case oa.IsUnspecified() && (t.IsLoopback() || slices.Contains(local(), t)):
		default:
			continue
		}
		return &BlockedError{Target: target.String(), Reason: "Turbocat's own endpoint"}
	}
	return nil
}

// localAddrs returns the addresses of this machine's interfaces.
func localAddrs() []netip.Addr {
	ifAddrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range ifAddrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr().Unmap())
		}
	}
	return out
}

// ParseCIDRs parses a comma-separated list of CIDRs or single addresses.
func ParseCIDRs(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("parse %q: %w", f, err)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("parse %q: %w", f, err)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// AllowCIDRsFromEnv parses TURBOCAT_HTTP_ALLOW_CIDRS; errors name the variable.
func AllowCIDRsFromEnv() ([]netip.Prefix, error) {
	p, err := ParseCIDRs(os.Getenv(AllowCIDRsEnv))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", AllowCIDRsEnv, err)
	}
	return p, nil
}

// Resolver resolves host names; *net.Resolver satisfies it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// ClientOptions configures NewClient.
type ClientOptions struct {
	// AllowCIDRs are exempt from the block list (see TURBOCAT_HTTP_ALLOW_CIDRS).
	AllowCIDRs []netip.Prefix
	// Resolver resolves host names; nil means net.DefaultResolver.
	Resolver Resolver
	// MaxRedirects is the number of redirects followed (default 3; a
	// negative value follows none).
	MaxRedirects int
	// DialTimeout bounds one TCP connect (default 10 s).
	DialTimeout time.Duration
	// TLSConfig is the client TLS config (tests pass their CA); nil means default.
	TLSConfig *tls.Config
	// Own are the listen addresses of the server's own endpoints (the API,
	// the Step Functions endpoint): refused whatever AllowCIDRs says.
	Own []netip.AddrPort
}

// NewClient returns an http.Client safe against SSRF: every TCP connection,
// including each redirect hop and each address a name resolves to, is checked
// in the dialer's Control hook, after DNS resolution, against the block list;
// only http and https are followed; proxy environment variables are ignored;
// host names written as non-canonical numbers ("2130706433", "0x7f.1",
// "0177.0.0.1", "127.1") are refused outright.
func NewClient(opts ClientOptions) *http.Client {
	if opts.Resolver == nil {
		opts.Resolver = net.DefaultResolver
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 10 * time.Second
	}
	maxRedirects := opts.MaxRedirects
	if maxRedirects == 0 {
		maxRedirects = DefaultMaxRedirects
	}
	allow := append([]netip.Prefix(nil), opts.AllowCIDRs...)
	own := append([]netip.AddrPort(nil), opts.Own...)
	d := &safeDialer{
		allow:    allow,
		resolver: opts.Resolver,
		dialer: &net.Dialer{
			Timeout:   opts.DialTimeout,
			KeepAlive: 30 * time.Second,
			Control: func(network, address string, _ syscall.RawConn) error {
				ap, err := netip.ParseAddrPort(address)
				if err != nil {
					return &BlockedError{Target: address, Reason: "unparseable address"}
				}
				if err := checkOwn(ap, own, localAddrs); err != nil {
					return err
				}
				return CheckAddr(ap.Addr(), allow)
			},
		},
	}
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            d.DialContext,
		TLSClientConfig:        opts.TLSConfig,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    10,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects || maxRedirects < 0 {
				return &BlockedError{Target: req.URL.Redacted(), Reason: fmt.Sprintf("more than %d redirects", max(maxRedirects, 0))}
			}
			if err := CheckURL(req.URL.Scheme, req.URL.Hostname()); err != nil {
				return err
			}
			// net/http drops Authorization and cookies when a redirect
			// leaves the host; do the same for the caller's own
			// credential headers.
			if req.URL.Host != via[0].URL.Host {
				if names, ok := req.Context().Value(sensitiveHeadersKey{}).([]string); ok {
					for _, n := range names {
						req.Header.Del(n)
					}
				}
			}
			return nil
		},
	}
}

// CheckURL refuses schemes other than http and https and host names written
// as non-canonical IPv4 numbers.
func CheckURL(scheme, host string) error {
	if scheme != "http" && scheme != "https" {
		return &BlockedError{Target: scheme + ":", Reason: "only http and https are allowed"}
	}
	if host == "" {
		return &BlockedError{Target: "(empty host)", Reason: "no host"}
	}
	if ambiguousNumericHost(host) {
		return &BlockedError{Target: host, Reason: "non-canonical numeric host"}
	}
	return nil
}

// ambiguousNumericHost reports host names that some resolvers read as IPv4
// (inet_aton forms: "2130706433", "0x7f000001", "0177.1", "127.1") but that
// are not dotted-quad decimal.
func ambiguousNumericHost(host string) bool {
	if _, err := netip.ParseAddr(host); err == nil {
		return false
	}
	parts := strings.Split(strings.TrimSuffix(host, "."), ".")
	if len(parts) > 4 {
		return false
	}
	for _, p := range parts {
		if p == "" {
			return false
		}
		if _, err := strconv.ParseUint(p, 0, 64); err != nil {
			lp := strings.ToLower(p)
			if !(strings.HasPrefix(lp, "0x") && len(lp) == 2) {
				return false
			}
		}
	}
	return true
}

type safeDialer struct {
	allow    []netip.Prefix
	resolver Resolver
	dialer   *net.Dialer
}

// DialContext resolves the host, then dials each address in turn; the
// dialer's Control hook checks the address actually connected to.
func (d *safeDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", address, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("dial %s: bad port: %w", address, err)
	}
	if ambiguousNumericHost(host) {
		return nil, &BlockedError{Target: host, Reason: "non-canonical numeric host"}
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		addrs, err = d.resolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", host, err)
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("resolve %s: no addresses", host)
		}
	}
	var firstErr error
	for _, a := range addrs {
		// Checked here for a clear error, and again by Control on the
		// exact address dialed.
		if err := CheckAddr(a, d.allow); err != nil {
			var be *BlockedError
			if errors.As(err, &be) && host != a.String() {
				be.Target = host + " (" + a.String() + ")"
			}
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		conn, err := d.dialer.DialContext(ctx, "tcp", netip.AddrPortFrom(a.Unmap(), uint16(port)).String())
		if err == nil {
			return conn, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

type sensitiveHeadersKey struct{}

// WithSensitiveHeaders marks request headers (e.g. a custom API-key header)
// that a client made by NewClient removes when a redirect leaves the
// original host, as net/http does for Authorization.
func WithSensitiveHeaders(ctx context.Context, names ...string) context.Context {
	return context.WithValue(ctx, sensitiveHeadersKey{}, names)
}
