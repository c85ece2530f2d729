package jsonata

import (
	"encoding/json"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Values are the decoded-JSON shapes the runtime uses: nil (JSON null),
// bool, string, float64 or json.Number, map[string]any and []any; plus,
// inside the evaluator, undefined, *sequence, *lambda and *builtin.

type undefinedType struct{}

// undefined is JSONata's "no value", distinct from JSON null (nil).
var undefined any = undefinedType{}

// sequence is a JSONata result sequence: a flattened list of values that
// collapses to its single item (unless keepSingleton) and to undefined
// when empty. tuples holds the items of a tuple stream.
type sequence struct {
	items         []any
	keepSingleton bool
	outerWrapper  bool
	tupleStream   bool
	tuples        []tuple
}

// tuple is one item of a tuple stream: the context value "@" and the
// variables bound on the way (focus, index and parent bindings).
type tuple map[string]any

func (s *sequence) push(v any) { s.items = append(s.items, v) }

// toNumber returns v as a float64 when it is a JSON number.
func toNumber(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil || isInf(f)
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	}
	return 0, false
}

func isNumber(v any) bool {
	switch v.(type) {
	case float64, json.Number, int, int64:
		return true
	}
	return false
}

func isInf(f float64) bool { return math.IsInf(f, 0) }

// isArray reports whether v is an array or a sequence, and returns its items.
func asArray(v any) ([]any, bool) {
	switch a := v.(type) {
	case []any:
		return a, true
	case *sequence:
		return a.items, true
	}
	return nil, false
}

func isFunc(v any) bool {
	switch v.(type) {
	case *lambda, *builtin:
		return true
	}
	return false
}

// plain converts a value for storage outside the evaluator: sequences
// become arrays, recursively inside arrays and objects built here.
func plain(v any) any {
	switch x := v.(type) {
	case *sequence:
		out := make([]any, len(x.items))
		for i, it := range x.items {
			out[i] = plain(it)
		}
		return out
	}
	return v
}

// typeName is $type's name for a value.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64, json.Number, int, int64:
		return "number"
	case map[string]any:
		return "object"
	case []any, *sequence:
		return "array"
	case *lambda, *builtin:
		return "function"
	}
	return "undefined"
}

// scalarEqual compares a number, string, boolean or null a with b; ok is
// false when a is none of those.
func scalarEqual(a, b any) (eq, ok bool) {
	if af, isNum := toNumber(a); isNum {
		bf, bNum := toNumber(b)
		return bNum && af == bf, true
	}
	switch x := a.(type) {
	case string:
		y, isStr := b.(string)
		return isStr && x == y, true
	case bool:
		y, isBool := b.(bool)
		return isBool && x == y, true
	case nil:
		return b == nil, true
	}
	return false, false
}

// deepEqual is JSONata's = on values.
func deepEqual(a, b any) bool {
	if eq, ok := scalarEqual(a, b); ok {
		return eq
	}
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !deepEqual(v, w) {
				return false
			}
		}
		return true
	}
	if xa, ok := asArray(a); ok {
		ya, ok := asArray(b)
		if !ok || len(xa) != len(ya) {
			return false
		}
		for i := range xa {
			if !deepEqual(xa[i], ya[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}

// strictEqual is JavaScript's === as the in operator uses it: values for
// scalars, identity for objects and arrays.
func strictEqual(a, b any) bool {
	if eq, ok := scalarEqual(a, b); ok {
		return eq
	}
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		return ok && reflect.ValueOf(x).UnsafePointer() == reflect.ValueOf(y).UnsafePointer()
	case []any:
		y, ok := b.([]any)
		return ok && len(x) == len(y) && (len(x) == 0 || &x[0] == &y[0])
	}
	return false
}

// truthy is JSONata's $boolean; ok is false for undefined.
func truthy(v any) (bool, bool) {
	switch x := v.(type) {
	case undefinedType:
		return false, false
	case nil:
		return false, true
	case bool:
		return x, true
	case string:
		return x != "", true
	case map[string]any:
		return len(x) > 0, true
	case *lambda, *builtin:
		return false, true
	}
	if f, ok := toNumber(v); ok {
		return f != 0, true
	}
	if a, ok := asArray(v); ok {
		switch len(a) {
		case 0:
			return false, true
		case 1:
			b, _ := truthy(a[0])
			return b, true
		}
		for _, it := range a {
			if b, _ := truthy(it); b {
				return true, true
			}
		}
		return false, true
	}
	return false, true
}

func boolOf(v any) bool {
	b, _ := truthy(v)
	return b
}

// flatten flattens nested arrays into one.
func flatten(v any, out []any) []any {
	if a, ok := asArray(v); ok {
		for _, it := range a {
			out = flatten(it, out)
		}
		return out
	}
	return append(out, v)
}

// FormatNumber renders a float64 as JavaScript's Number.prototype.toString
// does (and so JSON.stringify): integers without a fraction or exponent up
// to 1e21, exponents written as e+21 or e-7.
func FormatNumber(f float64) string {
	return string(AppendNumber(nil, f))
}

// AppendNumber appends FormatNumber(f) to b.
func AppendNumber(b []byte, f float64) []byte {
	if f == 0 {
		return append(b, '0')
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		if math.Abs(f) < 1<<53 {
			return strconv.AppendInt(b, int64(f), 10)
		}
		return strconv.AppendFloat(b, f, 'f', -1, 64)
	}
	abs := math.Abs(f)
	if abs >= 1e21 || abs < 1e-6 {
		// Shortest digits in exponent form, with JavaScript's exponent style.
		s := strconv.FormatFloat(f, 'e', -1, 64)
		mant, exp, _ := strings.Cut(s, "e")
		b = append(b, mant...)
		b = append(b, 'e')
		if exp[0] == '-' {
			b = append(b, '-')
		} else {
			b = append(b, '+')
		}
		return append(b, strings.TrimLeft(exp[1:], "0")...)
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

// stringify renders a value as JSON with JavaScript number formatting;
// functions render as "" inside structures (JSON.stringify drops them).
// prettyNumbers applies $string's 15 significant digit rounding.
func stringify(v any, prettyNumbers bool) (string, error) {
	b, err := appendValue(nil, v, prettyNumbers)
	return string(b), err
}

func appendValue(b []byte, v any, round bool) ([]byte, error) {
	switch x := v.(type) {
	case nil, undefinedType:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case string:
		return appendQuoted(b, x), nil
	case *lambda, *builtin:
		return append(b, `""`...), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k, v := range x {
			if v == undefined {
				continue
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, '{')
		var err error
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendQuoted(b, k)
			b = append(b, ':')
			if b, err = appendValue(b, x[k], round); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	}
	if f, ok := toNumber(v); ok {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return append(b, "null"...), nil
		}
		if round {
			f = roundSignificant(f, 15)
		}
		return AppendNumber(b, f), nil
	}
	if a, ok := asArray(v); ok {
		b = append(b, '[')
		var err error
		for i, it := range a {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendValue(b, it, round); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, raw...), nil
}

// roundSignificant rounds f to n significant digits (toPrecision).
func roundSignificant(f float64, n int) float64 {
	if f == 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return f
	}
	r, err := strconv.ParseFloat(strconv.FormatFloat(f, 'e', n-1, 64), 64)
	if err != nil {
		return f
	}
	return r
}

func appendQuoted(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// clone deep-copies arrays and objects.
func clone(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = clone(e)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = clone(e)
		}
		return a
	case *sequence:
		return clone(plain(x))
	}
	return v
}
