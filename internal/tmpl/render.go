package tmpl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// DefaultMaxBytes bounds the size of a rendered value when Context.MaxBytes is 0.
const DefaultMaxBytes = 6 << 20

// SecretFunc resolves the secret called name to its plaintext value. It is
// called only while rendering, once per distinct name.
type SecretFunc func(ctx context.Context, name string) (string, error)

// Context is what references resolve against.
type Context struct {
	// Values maps a root name ("input", "inputs", "steps", "execution", ...)
	// to its value: a json.RawMessage, or a value as produced by
	// encoding/json decoding into any (map[string]any, []any, string,
	// float64, json.Number, bool, nil). Other Go values are converted
	// through encoding/json.
	Values map[string]any
	// Secrets resolves {{secrets.NAME}}. Nil makes every secret reference an error.
	Secrets SecretFunc
	// OnSecret, if set, is called with every secret value resolved, so the
	// caller can scrub it from anything it later logs or returns.
	OnSecret func(name, value string)
	// MaxBytes bounds the rendered output; 0 means DefaultMaxBytes.
	MaxBytes int
	// NullPropagates makes a path through a JSON null resolve to null
	// (as the output of a skipped step does) instead of an error.
	NullPropagates bool
}

// Render substitutes every template in value (any JSON value) and returns the
// rendered JSON. See the package comment for the rules. Errors are
// *SyntaxError, *MissingError, or wrap ErrTooLarge or the secret resolver's error.
func Render(value json.RawMessage, c Context) (json.RawMessage, error) {
	return RenderContext(context.Background(), value, c)
}

// RenderContext is Render with a context passed to the secret resolver.
func RenderContext(ctx context.Context, value json.RawMessage, c Context) (json.RawMessage, error) {
	r := newRenderer(ctx, c)
	dec := json.NewDecoder(bytes.NewReader(value))
	dec.UseNumber()
	if err := r.walk(dec); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("render template: trailing data after JSON value")
	}
	return json.RawMessage(r.out.Bytes()), nil
}

// RenderString renders a template string as text: every reference is
// replaced by its value (strings verbatim, other values as compact JSON).
func RenderString(ctx context.Context, s string, c Context) (string, error) {
	r := newRenderer(ctx, c)
	parts, err := parse(s)
	if err != nil {
		return "", err
	}
	if err := r.text(parts); err != nil {
		return "", err
	}
	return r.out.String(), nil
}

type renderer struct {
	ctx     context.Context
	c       Context
	max     int
	out     bytes.Buffer
	roots   map[string]any
	secrets map[string]string
}

func newRenderer(ctx context.Context, c Context) *renderer {
	max := c.MaxBytes
	if max <= 0 {
		max = DefaultMaxBytes
	}
	return &renderer{ctx: ctx, c: c, max: max, roots: map[string]any{}, secrets: map[string]string{}}
}

func (r *renderer) checkSize() error {
	if r.out.Len() > r.max {
		return fmt.Errorf("render template: %w (more than %d bytes)", ErrTooLarge, r.max)
	}
	return nil
}

// walk copies one JSON value from dec to r.out, rendering strings.
func (r *renderer) walk(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("render template: invalid JSON: %w", err)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			r.out.WriteByte('{')
			first := true
			for dec.More() {
				if !first {
					r.out.WriteByte(',')
				}
				first = false
				kt, err := dec.Token()
				if err != nil {
					return fmt.Errorf("render template: invalid JSON: %w", err)
				}
				key, _ := kt.(string)
				writeJSON(&r.out, key)
				r.out.WriteByte(':')
				if err := r.walk(dec); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil {
				return fmt.Errorf("render template: invalid JSON: %w", err)
			}
			r.out.WriteByte('}')
		case '[':
			r.out.WriteByte('[')
			first := true
			for dec.More() {
				if !first {
					r.out.WriteByte(',')
				}
				first = false
				if err := r.walk(dec); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil {
				return fmt.Errorf("render template: invalid JSON: %w", err)
			}
			r.out.WriteByte(']')
		default:
			return fmt.Errorf("render template: unexpected %q", t)
		}
	case string:
		if err := r.str(t); err != nil {
			return err
		}
	default:
		writeJSON(&r.out, t)
	}
	return r.checkSize()
}

// str renders one JSON string value.
func (r *renderer) str(s string) error {
	parts, err := parse(s)
	if err != nil {
		return err
	}
	if len(parts) == 1 && parts[0].ref != nil {
		v, err := r.lookup(*parts[0].ref)
		if err != nil {
			return err
		}
		writeJSON(&r.out, v)
		return r.checkSize()
	}
	var sb renderer = renderer{ctx: r.ctx, c: r.c, max: r.max, roots: r.roots, secrets: r.secrets}
	if err := sb.text(parts); err != nil {
		return err
	}
	writeJSON(&r.out, sb.out.String())
	return r.checkSize()
}

// text writes parts as text to r.out.
func (r *renderer) text(parts []part) error {
	for _, p := range parts {
		if p.ref == nil {
			r.out.WriteString(p.text)
		} else {
			v, err := r.lookup(*p.ref)
			if err != nil {
				return err
			}
			if s, ok := v.(string); ok {
				r.out.WriteString(s)
			} else {
				writeJSON(&r.out, v)
				// writeJSON appends a newline-free encoding.
			}
		}
		if err := r.checkSize(); err != nil {
			return err
		}
	}
	return nil
}

func writeJSON(buf *bytes.Buffer, v any) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		buf.WriteString("null")
		return
	}
	// Encode appends '\n'.
	buf.Truncate(buf.Len() - 1)
}

func (r *renderer) root(name string) (any, bool, error) {
	if v, ok := r.roots[name]; ok {
		return v, true, nil
	}
	raw, ok := r.c.Values[name]
	if !ok {
		return nil, false, nil
	}
	v, err := normalize(raw)
	if err != nil {
		return nil, false, fmt.Errorf("template root %q: %w", name, err)
	}
	r.roots[name] = v
	return v, true, nil
}

func normalize(v any) (any, error) {
	var raw []byte
	switch t := v.(type) {
	case nil, string, bool, float64, json.Number, map[string]any, []any:
		return t, nil
	case json.RawMessage:
		raw = t
	default:
		b, err := json.Marshal(t)
		if err != nil {
			return nil, fmt.Errorf("encode value: %w", err)
		}
		raw = b
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("decode value: %w", err)
	}
	return out, nil
}

func (r *renderer) lookup(ref Ref) (any, error) {
	if ref.Root() == SecretsRoot {
		return r.secret(ref)
	}
	cur, ok, err := r.root(ref.Root())
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &MissingError{Ref: ref, Reason: fmt.Sprintf("unknown root %q", ref.Root())}
	}
	for i, seg := range ref.Path[1:] {
		where := strings.Join(ref.Path[:i+1], ".")
		switch t := cur.(type) {
		case map[string]any:
			v, ok := t[seg]
			if !ok {
				return nil, &MissingError{Ref: ref, Reason: fmt.Sprintf("no key %q in %s", seg, where)}
			}
			cur = v
		case []any:
			n, ok := index(seg)
			if !ok {
				return nil, &MissingError{Ref: ref, Reason: fmt.Sprintf("%s is an array, %q is not an index", where, seg)}
			}
			if n >= len(t) {
				return nil, &MissingError{Ref: ref, Reason: fmt.Sprintf("index %d out of range in %s (length %d)", n, where, len(t))}
			}
			cur = t[n]
		case nil:
			if r.c.NullPropagates {
				return nil, nil
			}
			return nil, &MissingError{Ref: ref, Reason: fmt.Sprintf("%s is null", where)}
		default:
			return nil, &MissingError{Ref: ref, Reason: fmt.Sprintf("%s is not an object or array", where)}
		}
	}
	return cur, nil
}

func (r *renderer) secret(ref Ref) (any, error) {
	if len(ref.Path) != 2 {
		return nil, &MissingError{Ref: ref, Reason: "a secret reference is secrets.NAME"}
	}
	name := ref.Path[1]
	if v, ok := r.secrets[name]; ok {
		return v, nil
	}
	if r.c.Secrets == nil {
		return nil, &MissingError{Ref: ref, Reason: "no secrets available here"}
	}
	v, err := r.c.Secrets(r.ctx, name)
	if err != nil {
		return nil, fmt.Errorf("resolve secret %q: %w", name, err)
	}
	r.secrets[name] = v
	if r.c.OnSecret != nil {
		r.c.OnSecret(name, v)
	}
	return v, nil
}
