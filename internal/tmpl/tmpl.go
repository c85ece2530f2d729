// Package tmpl is Turbocat's template language, used everywhere a value is
// computed from a JSON context: workflow step inputs, agent configs, webhook
// payloads.
//
// A template is a reference written between double braces, e.g.
// "{{inputs.url}}", "{{ steps.fetch.output.body.items.0 }}",
// "{{execution.id}}", "{{input.x}}" or "{{secrets.NAME}}". A reference is a
// dot-separated path: the first segment names a root of the [Context], each
// further segment is an object key or, on an array, a zero-based index.
// Segments are made of letters, digits, '_', '-' and '$'; whitespace inside
// the braces is ignored. "\{{" writes a literal "{{".
//
// [Render] walks any JSON value (objects, arrays, strings; object keys are
// not templated). A string that is exactly one template is replaced by the
// referenced value with its JSON type kept (an object stays an object, a
// number a number). A template embedded in a longer string is rendered as
// text: strings verbatim, other values as compact JSON. A reference that does
// not resolve is an error naming it.
//
// The root "secrets" is special: "{{secrets.NAME}}" is resolved through the
// [Context.Secrets] callback at render time only, and every resolved value is
// reported to [Context.OnSecret] so that a scrubber can remove it from logs,
// errors and outputs.
package tmpl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// SecretsRoot is the reference root resolved through [Context.Secrets].
const SecretsRoot = "secrets"

// Ref is one reference found in a template.
type Ref struct {
	// Path is the dot-separated path, first segment the root
	// (e.g. ["steps", "fetch", "output", "body"]).
	Path []string
	// Offset is the byte offset of the opening "{{" in the template string.
	Offset int
	// Field is where the template string sits in a JSON value, as a
	// dot-separated path ("body.items.0"); empty for a bare string or the
	// root value. Set by ReferencesIn.
	Field string
}

// Root returns the first path segment ("inputs", "steps", "secrets", ...).
func (r Ref) Root() string {
	if len(r.Path) == 0 {
		return ""
	}
	return r.Path[0]
}

// String returns the reference as written canonically, e.g. "steps.fetch.output".
func (r Ref) String() string { return strings.Join(r.Path, ".") }

// SyntaxError is a template that cannot be parsed. Offset is the byte offset
// in the template string where the problem is.
type SyntaxError struct {
	// Field is the JSON path of the string holding the template (ReferencesIn), or "".
	Field  string
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: template syntax error at offset %d: %s", e.Field, e.Offset, e.Msg)
	}
	return fmt.Sprintf("template syntax error at offset %d: %s", e.Offset, e.Msg)
}

// part is a piece of a parsed template: literal text or a reference.
type part struct {
	text string
	ref  *Ref
}

// parse splits s into literal text and references.
func parse(s string) ([]part, error) {
	var parts []part
	var lit strings.Builder
	i := 0
	for i < len(s) {
		if s[i] == '\\' && strings.HasPrefix(s[i+1:], "{{") {
			lit.WriteString("{{")
			i += 3
			continue
		}
		if !strings.HasPrefix(s[i:], "{{") {
			lit.WriteByte(s[i])
			i++
			continue
		}
		start := i
		end := strings.Index(s[i+2:], "}}")
		if end < 0 {
			return nil, &SyntaxError{Offset: start, Msg: `unclosed "{{"`}
		}
		body := s[i+2 : i+2+end]
		path, err := parsePath(body, start)
		if err != nil {
			return nil, err
		}
		if lit.Len() > 0 {
			parts = append(parts, part{text: lit.String()})
			lit.Reset()
		}
		parts = append(parts, part{ref: &Ref{Path: path, Offset: start}})
		i = i + 2 + end + 2
	}
	if lit.Len() > 0 {
		parts = append(parts, part{text: lit.String()})
	}
	return parts, nil
}

func parsePath(body string, offset int) ([]string, error) {
	trimmed := strings.TrimSpace(body)
	if trimmed == "" {
		return nil, &SyntaxError{Offset: offset, Msg: "empty reference"}
	}
	segs := strings.Split(trimmed, ".")
	for _, seg := range segs {
		if seg == "" {
			return nil, &SyntaxError{Offset: offset, Msg: fmt.Sprintf("empty path segment in %q", trimmed)}
		}
		for _, c := range seg {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '$') {
				return nil, &SyntaxError{Offset: offset, Msg: fmt.Sprintf("invalid character %q in reference %q", c, trimmed)}
			}
		}
	}
	if isIndex(segs[0]) {
		return nil, &SyntaxError{Offset: offset, Msg: fmt.Sprintf("reference %q must start with a name", trimmed)}
	}
	return segs, nil
}

func isIndex(seg string) bool {
	if seg == "" {
		return false
	}
	for _, c := range seg {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func index(seg string) (int, bool) {
	if !isIndex(seg) {
		return 0, false
	}
	n, err := strconv.Atoi(seg)
	if err != nil {
		return 0, false
	}
	return n, true
}

// References lists the references in the template string s, in order of
// appearance. A syntax error is a *SyntaxError giving the byte offset.
func References(s string) ([]Ref, error) {
	parts, err := parse(s)
	if err != nil {
		return nil, err
	}
	var refs []Ref
	for _, p := range parts {
		if p.ref != nil {
			refs = append(refs, *p.ref)
		}
	}
	return refs, nil
}

// HasTemplate reports whether s contains a template reference, or a
// malformed one (an unclosed or invalid "{{...").
func HasTemplate(s string) bool {
	refs, err := References(s)
	return err != nil || len(refs) > 0
}

// ErrTooLarge is returned (wrapped) when the rendered value exceeds the size bound.
var ErrTooLarge = errors.New("rendered value too large")

// MissingError is a reference that does not resolve in the context.
type MissingError struct {
	Ref    Ref
	Reason string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("reference {{%s}} not found: %s", e.Ref.String(), e.Reason)
}

// ReferencesIn lists the references in every string of a JSON value (object
// keys are not templates), in document order, each with the JSON path of its
// string in Ref.Field. A syntax error is a *SyntaxError naming the field.
func ReferencesIn(value json.RawMessage) ([]Ref, error) {
	dec := json.NewDecoder(bytes.NewReader(value))
	dec.UseNumber()
	var refs []Ref
	if err := collectRefs(dec, nil, &refs); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("invalid JSON: trailing data")
	}
	return refs, nil
}

func collectRefs(dec *json.Decoder, path []string, refs *[]Ref) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	switch t := tok.(type) {
	case json.Delim:
		for i := 0; dec.More(); i++ {
			seg := strconv.Itoa(i)
			if t == '{' {
				kt, err := dec.Token()
				if err != nil {
					return fmt.Errorf("invalid JSON: %w", err)
				}
				seg, _ = kt.(string)
			}
			if err := collectRefs(dec, append(path, seg), refs); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return fmt.Errorf("invalid JSON: %w", err)
		}
	case string:
		field := strings.Join(path, ".")
		found, err := References(t)
		if err != nil {
			var se *SyntaxError
			if errors.As(err, &se) {
				se.Field = field
			}
			return err
		}
		for _, r := range found {
			r.Field = field
			*refs = append(*refs, r)
		}
	}
	return nil
}
