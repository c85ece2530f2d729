package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/turbocat/turbocat/internal/turbocat"
)

// Request bounds.
const (
	MaxBodyBytes = 1 << 20 // 1 MiB
	MaxJSONDepth = 32
	DefaultLimit = 20
	MaxLimit     = 100
)

// readBody reads at most MaxBodyBytes of the body; more is ETOOLARGE.
func readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength > MaxBodyBytes {
		return nil, tooLarge()
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, turbocat.Errorf(turbocat.EVALIDATION, "could not read the request body")
	}
	if len(b) > MaxBodyBytes {
		return nil, tooLarge()
	}
	return b, nil
}

func tooLarge() error {
	return turbocat.Errorf(turbocat.ETOOLARGE, "request body exceeds %d bytes", MaxBodyBytes)
}

// DecodeJSON decodes body into v strictly: one JSON value, no unknown
// fields, bounded nesting. Errors are EVALIDATION with the field at fault.
func DecodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return turbocat.ValidationError("request body is required: a JSON object")
	}
	if err := checkDepth(body, MaxJSONDepth); err != nil {
		return err
	}
	if err := checkText(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return turbocat.ValidationError("request body must be a single JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return turbocat.ValidationError("request body must be a single JSON value")
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return turbocat.ValidationError(fmt.Sprintf("malformed JSON at byte %d", syn.Offset))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return turbocat.ValidationError("wrong type", turbocat.FieldError{Field: field, Message: "must be " + jsonKind(typ.Type.Kind().String())})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return turbocat.ValidationError("unknown field", turbocat.FieldError{Field: name, Message: "is not a known field"})
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return turbocat.ValidationError("malformed JSON: unexpected end of input")
	}
	var te *time.ParseError
	if errors.As(err, &te) {
		return turbocat.ValidationError("invalid timestamp: use RFC 3339, e.g. 2030-01-02T15:04:05Z")
	}
	return turbocat.ValidationError("malformed JSON")
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	case "bool":
		return "true or false"
	}
	return "a number"
}

// checkDepth rejects JSON nested deeper than max, before any decoding.
func checkDepth(b []byte, max int) error {
	depth, inString, escaped := 0, false, false
	for _, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > max {
				return turbocat.ValidationError(fmt.Sprintf("JSON nested deeper than %d levels", max))
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}

// decode reads and strictly decodes the request body into v.
func decode(r *http.Request, v any) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	return DecodeJSON(body, v)
}

// decodeOptional is decode for routes whose body may be omitted.
func decodeOptional(r *http.Request, v any) error {
	body, err := readBody(r)
	if err != nil || len(bytes.TrimSpace(body)) == 0 {
		return err
	}
	return DecodeJSON(body, v)
}

// pageOf parses limit and cursor query parameters.
func pageOf(r *http.Request) (turbocat.Page, error) {
	p := turbocat.Page{Limit: DefaultLimit, Cursor: r.URL.Query().Get("cursor")}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			return p, turbocat.ValidationError("invalid limit", turbocat.FieldError{Field: "limit", Message: fmt.Sprintf("must be 1 to %d", MaxLimit)})
		}
		p.Limit = n
	}
	if len(p.Cursor) > 200 {
		return p, turbocat.ValidationError("invalid cursor", turbocat.FieldError{Field: "cursor", Message: "not a cursor returned by this API"})
	}
	return p, nil
}

// timeParam parses an optional RFC 3339 query parameter.
func timeParam(r *http.Request, name string) (*time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, turbocat.ValidationError("invalid "+name, turbocat.FieldError{Field: name, Message: "must be an RFC 3339 timestamp, e.g. 2030-01-02T15:04:05Z"})
	}
	return &t, nil
}

// oneOf checks an optional enum query parameter.
func oneOf(name, v string, allowed ...string) error {
	if v == "" || slices.Contains(allowed, v) {
		return nil
	}
	return turbocat.ValidationError("invalid "+name, turbocat.FieldError{Field: name, Message: "must be one of " + strings.Join(allowed, ", ")})
}

// checkText refuses JSON that Postgres cannot store as text: invalid UTF-8
// and the NUL character (\u0000), naming the field where it is. The body
// is syntactically checked later; a body too broken to walk is left to
// the decoder's error.
func checkText(body []byte) error {
	bad := -1
	if !utf8.Valid(body) {
		for i := 0; i < len(body); {
			r, size := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && size <= 1 {
				bad = i
				break
			}
			i += size
		}
	}
	hasNUL := bytes.Contains(body, []byte(`\u0000`))
	if bad < 0 && !hasNUL {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	type level struct {
		object bool
		key    string
		index  int
		inKey  bool // an object awaiting its next key
	}
	var stack []level
	path := func() string {
		var b strings.Builder
		for _, l := range stack {
			switch {
			case l.object && l.key != "":
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(l.key)
			case !l.object:
				fmt.Fprintf(&b, "[%d]", l.index)
			}
		}
		if b.Len() == 0 {
			return "body"
		}
		return b.String()
	}
	check := func(start, end int64, tok json.Token) error {
		if bad >= int(start) && bad < int(end) {
			return turbocat.ValidationError("invalid text", turbocat.FieldError{Field: path(), Message: "is not valid UTF-8"})
		}
		if str, ok := tok.(string); ok && strings.ContainsRune(str, 0) {
			return turbocat.ValidationError("invalid text", turbocat.FieldError{Field: path(), Message: "contains a NUL character (\\u0000), which cannot be stored"})
		}
		return nil
	}
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		end := dec.InputOffset()
		closing := tok == json.Delim('}') || tok == json.Delim(']')
		if n := len(stack); n > 0 && !closing {
			top := &stack[n-1]
			if top.object && top.inKey {
				top.key, _ = tok.(string)
				top.inKey = false
				if err := check(start, end, tok); err != nil {
					return err
				}
				continue
			}
			if !top.object {
				top.index++
			}
		}
		if err := check(start, end, tok); err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, level{object: true, inKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, level{index: -1})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ended: its object now awaits the next key.
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].inKey = true
		}
	}
}

// checkQuery refuses query parameters that Postgres cannot store or
// compare as text (invalid UTF-8, NUL), naming the parameter.
func checkQuery(r *http.Request) error {
	for name, vs := range r.URL.Query() {
		for _, v := range append([]string{name}, vs...) {
			if !utf8.ValidString(v) {
				return turbocat.ValidationError("invalid query parameter", turbocat.FieldError{Field: name, Message: "is not valid UTF-8"})
			}
			if strings.ContainsRune(v, 0) {
				return turbocat.ValidationError("invalid query parameter", turbocat.FieldError{Field: name, Message: "contains a NUL character"})
			}
		}
	}
	return nil
}
