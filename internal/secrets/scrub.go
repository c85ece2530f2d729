package secrets

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// Redacted replaces every secret value the Scrubber removes.
const Redacted = "[REDACTED]"

// MinScrubLen is the shortest secret value scrubbed. Shorter values (1 or 2
// bytes) would redact ordinary text everywhere and protect nothing; secret
// values that short are rejected by the secrets API instead.
const MinScrubLen = 3

// Scrubber removes secret values from text, JSON and errors. It is safe for
// concurrent use; values can be added while it is used.
//
// For every value added it also removes its common encodings: URL query and
// path escaping, JSON string escaping, hex, and base64 (standard and URL
// alphabets, padded or not) at each of the three byte alignments, so the
// value is found inside a longer base64 text such as the "user:pass" of a
// basic Authorization header.
type Scrubber struct {
	mu       sync.RWMutex
	values   map[string]struct{}
	patterns []string // sorted longest first
	replacer *strings.Replacer
}

// NewScrubber returns a scrubber removing values (and their encodings).
func NewScrubber(values ...string) *Scrubber {
	s := &Scrubber{values: map[string]struct{}{}}
	s.Add(values...)
	return s
}

// Add registers secret values to remove.
func (s *Scrubber) Add(values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := false
	for _, v := range values {
		if len(v) < MinScrubLen {
			continue
		}
		if _, ok := s.values[v]; ok {
			continue
		}
		s.values[v] = struct{}{}
		changed = true
	}
	if changed {
		s.rebuild()
	}
}

// AddBasicAuth registers the password and the base64 "user:password"
// credential of an HTTP basic Authorization header.
func (s *Scrubber) AddBasicAuth(user, password string) {
	s.Add(password, base64.StdEncoding.EncodeToString([]byte(user+":"+password)))
}

// Values returns the number of distinct secret values registered.
func (s *Scrubber) Values() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.values)
}

func (s *Scrubber) rebuild() {
	set := map[string]struct{}{}
	for v := range s.values {
		for _, p := range encodings(v) {
			if len(p) >= MinScrubLen {
				set[p] = struct{}{}
			}
		}
	}
	pats := make([]string, 0, len(set))
	for p := range set {
		pats = append(pats, p)
	}
	// Longest first so an encoding containing another is replaced whole.
	sort.Slice(pats, func(i, j int) bool {
		if len(pats[i]) != len(pats[j]) {
			return len(pats[i]) > len(pats[j])
		}
		return pats[i] < pats[j]
	})
	s.patterns = pats
	args := make([]string, 0, 2*len(pats))
	for _, p := range pats {
		args = append(args, p, Redacted)
	}
	s.replacer = strings.NewReplacer(args...)
}

// encodings lists v and the encoded forms under which it may leak.
func encodings(v string) []string {
	out := []string{v, url.QueryEscape(v), url.PathEscape(v), hex.EncodeToString([]byte(v)), strings.ToUpper(hex.EncodeToString([]byte(v)))}
	if b, err := json.Marshal(v); err == nil {
		out = append(out, string(b[1:len(b)-1]))
	}
	var nb bytes.Buffer
	enc := json.NewEncoder(&nb)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) == nil {
		b := bytes.TrimSpace(nb.Bytes())
		out = append(out, string(b[1:len(b)-1]))
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		out = append(out, enc.EncodeToString([]byte(v)), strings.TrimRight(enc.EncodeToString([]byte(v)), "="))
		// The value at byte offset k (mod 3) inside a longer base64 text:
		// keep the encoded groups made only of the value's bytes.
		for k := 1; k <= 2; k++ {
			padded := append(bytes.Repeat([]byte{0}, k), v...)
			e := enc.EncodeToString(padded)
			end := 4 * (len(padded) / 3)
			if end > 4 && end-4 >= 4 {
				out = append(out, e[4:end])
			}
		}
		// Offset 0 but followed by other bytes: only the complete groups.
		e := enc.EncodeToString([]byte(v))
		if full := 4 * (len(v) / 3); full >= 4 {
			out = append(out, e[:full])
		}
	}
	return out
}

// String returns s with every secret value and encoding replaced by [REDACTED].
func (s *Scrubber) String(str string) string {
	if s == nil {
		return str
	}
	s.mu.RLock()
	r := s.replacer
	s.mu.RUnlock()
	if r == nil {
		return str
	}
	return r.Replace(str)
}

// Bytes is String on a byte slice; it returns b itself when nothing matched.
func (s *Scrubber) Bytes(b []byte) []byte {
	if s == nil {
		return b
	}
	out := s.String(string(b))
	if out == string(b) {
		return b
	}
	return []byte(out)
}

// MaxLen returns the length of the longest text String replaces (0 when
// there is none): a stream scrubbed piece by piece holds back that many
// bytes less one, so a value split across pieces is still found whole.
func (s *Scrubber) MaxLen() int {
	if s == nil {
		return 0
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.patterns) == 0 {
		return 0
	}
	return len(s.patterns[0])
}

// Contains reports whether str contains a secret value or one of its encodings.
func (s *Scrubber) Contains(str string) bool {
	return s.String(str) != str
}

// JSON scrubs every string (keys and values) and number of a JSON document,
// keeping it valid JSON and its key order. A number that matches a secret is
// replaced by the string "[REDACTED]". Invalid JSON is scrubbed as text.
func (s *Scrubber) JSON(raw json.RawMessage) json.RawMessage {
	if s == nil || len(raw) == 0 {
		return raw
	}
	s.mu.RLock()
	empty := s.replacer == nil
	s.mu.RUnlock()
	if empty {
		return raw
	}
	// Fast path: no secret, raw or in any registered encoding, and no \u
	// escape that could spell one differently.
	if !bytes.Contains(raw, []byte(`\u`)) && !s.Contains(string(raw)) {
		return raw
	}
	if !json.Valid(raw) {
		return json.RawMessage(s.Bytes(raw))
	}
	return json.RawMessage(s.scrubValidJSON(raw))
}

// scrubValidJSON copies valid JSON, scrubbing each string token (decoded,
// so any escape spelling is seen) and each number token.
func (s *Scrubber) scrubValidJSON(raw []byte) []byte {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '"':
			j := i + 1
			for j < len(raw) && raw[j] != '"' {
				if raw[j] == '\\' {
					j++
				}
				j++
			}
			tok := raw[i : j+1]
			var str string
			if bytes.IndexByte(tok, '\\') < 0 {
				str = string(tok[1 : len(tok)-1])
			} else if err := json.Unmarshal(tok, &str); err != nil {
				str = string(tok[1 : len(tok)-1])
			}
			if clean := s.String(str); clean != str {
				out = appendJSONString(out, clean)
			} else {
				out = append(out, tok...)
			}
			i = j + 1
		case c == '-' || (c >= '0' && c <= '9'):
			j := i
			for j < len(raw) && strings.IndexByte("+-.eE0123456789", raw[j]) >= 0 {
				j++
			}
			if num := string(raw[i:j]); s.Contains(num) {
				out = appendJSONString(out, Redacted)
			} else {
				out = append(out, raw[i:j]...)
			}
			i = j
		default:
			out = append(out, c)
			i++
		}
	}
	return out
}

func appendJSONString(out []byte, v string) []byte {
	var b bytes.Buffer
	writeString(&b, v)
	return append(out, b.Bytes()...)
}

func writeString(out *bytes.Buffer, v string) {
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // a string always encodes
	out.Truncate(out.Len() - 1)
}

// Error returns err unchanged when its message holds no secret, or an error
// whose message is scrubbed (the original chain is dropped, so no secret can
// surface through errors.Unwrap either).
func (s *Scrubber) Error(err error) error {
	if err == nil || s == nil {
		return err
	}
	msg := err.Error()
	clean := s.String(msg)
	if clean == msg {
		return err
	}
	return errors.New(clean)
}
