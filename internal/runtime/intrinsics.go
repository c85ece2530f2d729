package runtime

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"math"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/turbocat/turbocat/internal/turbocat"
)

// intrinsic is a parsed intrinsic function call or argument.
type intrinsic struct {
	fn   string       // function name for calls, e.g. "States.Format"
	args []*intrinsic // call arguments
	lit  any          // literal value (string, json.Number, bool, nil)
	path *jsonPath    // path argument
	kind argKind
}

type argKind int

const (
	argCall argKind = iota
	argLiteral
	argPath
)

// parseIntrinsic parses "States.Fn(args...)".
func parseIntrinsic(src string) (*intrinsic, error) {
	p := &intrinsicParser{s: src}
	in, err := p.call()
	if err != nil {
		return nil, fmt.Errorf("intrinsic %q: %w", src, err)
	}
	p.skipSpace()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("intrinsic %q: unexpected %q", src, p.s[p.i:])
	}
	return in, nil
}

type intrinsicParser struct {
	s string
	i int
}

func (p *intrinsicParser) skipSpace() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *intrinsicParser) call() (*intrinsic, error) {
	start := p.i
	for p.i < len(p.s) && p.s[p.i] != '(' {
		c := p.s[p.i]
		if !(c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return nil, fmt.Errorf("bad function name")
		}
		p.i++
	}
	if p.i >= len(p.s) {
		return nil, fmt.Errorf("expected (")
	}
	name := p.s[start:p.i]
	if _, ok := intrinsicFuncs[name]; !ok {
		return nil, fmt.Errorf("unknown function %q", name)
	}
	p.i++ // (
	in := &intrinsic{fn: name, kind: argCall}
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == ')' {
		p.i++
		return in, nil
	}
	for {
		p.skipSpace()
		arg, err := p.arg()
		if err != nil {
			return nil, err
		}
		in.args = append(in.args, arg)
		p.skipSpace()
		if p.i >= len(p.s) {
			return nil, fmt.Errorf("unterminated argument list")
		}
		if p.s[p.i] == ',' {
			p.i++
			continue
		}
		if p.s[p.i] == ')' {
			p.i++
			return in, nil
		}
		return nil, fmt.Errorf("unexpected %q in argument list", p.s[p.i])
	}
}

func (p *intrinsicParser) arg() (*intrinsic, error) {
	if p.i >= len(p.s) {
		return nil, fmt.Errorf("missing argument")
	}
	rest := p.s[p.i:]
	switch {
	case rest[0] == '\'':
		var b strings.Builder
		for j := 1; j < len(rest); j++ {
			c := rest[j]
			if c == '\\' && j+1 < len(rest) {
				j++
				// \{ and \} stay escaped for States.Format; \' and \\ unescape.
				if rest[j] == '{' || rest[j] == '}' {
					b.WriteByte('\\')
				}
				b.WriteByte(rest[j])
				continue
			}
			if c == '\'' {
				p.i += j + 1
				return &intrinsic{kind: argLiteral, lit: b.String()}, nil
			}
			b.WriteByte(c)
		}
		return nil, fmt.Errorf("unterminated string literal")
	case rest[0] == '$':
		end := pathEnd(rest)
		jp, err := parsePath(strings.TrimSpace(rest[:end]))
		if err != nil {
			return nil, err
		}
		p.i += end
		return &intrinsic{kind: argPath, path: jp}, nil
	case strings.HasPrefix(rest, "States."):
		return p.call()
	}
	end := 0
	for end < len(rest) && rest[end] != ',' && rest[end] != ')' {
		end++
	}
	tok := strings.TrimSpace(rest[:end])
	p.i += end
	switch tok {
	case "true":
		return &intrinsic{kind: argLiteral, lit: true}, nil
	case "false":
		return &intrinsic{kind: argLiteral, lit: false}, nil
	case "null":
		return &intrinsic{kind: argLiteral, lit: nil}, nil
	}
	v, err := decodeJSON([]byte(tok))
	n, ok := v.(json.Number)
	if err != nil || !ok {
		return nil, fmt.Errorf("bad argument %q", tok)
	}
	return &intrinsic{kind: argLiteral, lit: n}, nil
}

// pathEnd finds the end of a path argument: the first top-level ',' or ')'
// outside brackets and quotes.
func pathEnd(s string) int {
	depth := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '[' || c == '(':
			depth++
		case c == ']':
			depth--
		case c == ')':
			if depth == 0 {
				return i
			}
			depth--
		case c == ',' && depth == 0:
			return i
		}
	}
	return len(s)
}

// intrinsicError is a States.IntrinsicFailure.
type intrinsicError struct{ msg string }

func (e *intrinsicError) Error() string { return e.msg }

func ifail(format string, args ...any) error {
	return &intrinsicError{fmt.Sprintf(format, args...)}
}

// eval evaluates the intrinsic against the state input, context and
// variables.
func (in *intrinsic) eval(input any, env *stateEnv) (any, error) {
	switch in.kind {
	case argLiteral:
		return in.lit, nil
	case argPath:
		v, err := in.path.evalIn(input, env)
		if err != nil {
			return nil, err
		}
		return v, nil
	}
	args := make([]any, len(in.args))
	for i, a := range in.args {
		v, err := a.eval(input, env)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	f := intrinsicFuncs[in.fn]
	v, err := f(args)
	if err != nil {
		if _, ok := err.(*intrinsicError); ok {
			return nil, err
		}
		return nil, ifail("%s: %v", in.fn, err)
	}
	return v, nil
}

// variables returns the variables the intrinsic's path arguments read.
func (in *intrinsic) variables() []string {
	if in.kind == argPath {
		return pathVariable(in.path)
	}
	var out []string
	for _, a := range in.args {
		out = append(out, a.variables()...)
	}
	return out
}

var intrinsicFuncs map[string]func(args []any) (any, error)

func init() {
	intrinsicFuncs = map[string]func(args []any) (any, error){
		"States.Format":         fnFormat,
		"States.StringToJson":   fnStringToJSON,
		"States.JsonToString":   fnJSONToString,
		"States.Array":          func(args []any) (any, error) { return append([]any{}, args...), nil },
		"States.ArrayPartition": fnArrayPartition,
		"States.ArrayContains":  fnArrayContains,
		"States.ArrayRange":     fnArrayRange,
		"States.ArrayGetItem":   fnArrayGetItem,
		"States.ArrayLength":    fnArrayLength,
		"States.ArrayUnique":    fnArrayUnique,
		"States.Base64Encode":   fnBase64Encode,
		"States.Base64Decode":   fnBase64Decode,
		"States.Hash":           fnHash,
		"States.JsonMerge":      fnJSONMerge,
		"States.MathRandom":     fnMathRandom,
		"States.MathAdd":        fnMathAdd,
		"States.StringSplit":    fnStringSplit,
		"States.UUID":           fnUUID,
	}
}

func nargs(name string, args []any, lo, hi int) error {
	if len(args) < lo || len(args) > hi {
		if lo == hi {
			return ifail("%s expects %d arguments, got %d", name, lo, len(args))
		}
		return ifail("%s expects %d to %d arguments, got %d", name, lo, hi, len(args))
	}
	return nil
}

func argString(name string, v any, pos int) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", ifail("%s: argument %d must be a string", name, pos+1)
	}
	return s, nil
}

func argArray(name string, v any, pos int) ([]any, error) {
	a, ok := v.([]any)
	if !ok {
		return nil, ifail("%s: argument %d must be an array", name, pos+1)
	}
	return a, nil
}

func argInt(name string, v any, pos int) (int64, error) {
	f, ok := toFloat(v)
	if !ok || f != math.Trunc(f) {
		return 0, ifail("%s: argument %d must be an integer", name, pos+1)
	}
	return int64(f), nil
}

func fnFormat(args []any) (any, error) {
	if len(args) < 1 {
		return nil, ifail("States.Format expects at least 1 argument")
	}
	tmpl, err := argString("States.Format", args[0], 0)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	next := 1
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		if c == '\\' && i+1 < len(tmpl) && (tmpl[i+1] == '{' || tmpl[i+1] == '}') {
			b.WriteByte(tmpl[i+1])
			i++
			continue
		}
		if c == '{' && i+1 < len(tmpl) && tmpl[i+1] == '}' {
			if next >= len(args) {
				return nil, ifail("States.Format: not enough arguments for the template")
			}
			switch v := args[next].(type) {
			case string:
				b.WriteString(v)
			case map[string]any, []any:
				return nil, ifail("States.Format: arguments must be strings, numbers, booleans or null")
			default:
				b.WriteString(mustEncode(v))
			}
			next++
			i++
			continue
		}
		b.WriteByte(c)
	}
	if next != len(args) {
		return nil, ifail("States.Format: %d arguments for %d placeholders", len(args)-1, next-1)
	}
	return b.String(), nil
}

func fnStringToJSON(args []any) (any, error) {
	if err := nargs("States.StringToJson", args, 1, 1); err != nil {
		return nil, err
	}
	s, err := argString("States.StringToJson", args[0], 0)
	if err != nil {
		return nil, err
	}
	v, err := decodeJSON([]byte(s))
	if err != nil {
		return nil, ifail("States.StringToJson: invalid JSON: %v", err)
	}
	return v, nil
}

func fnJSONToString(args []any) (any, error) {
	if err := nargs("States.JsonToString", args, 1, 1); err != nil {
		return nil, err
	}
	return mustEncode(args[0]), nil
}

func fnArrayPartition(args []any) (any, error) {
	if err := nargs("States.ArrayPartition", args, 2, 2); err != nil {
		return nil, err
	}
	a, err := argArray("States.ArrayPartition", args[0], 0)
	if err != nil {
		return nil, err
	}
	n, err := argInt("States.ArrayPartition", args[1], 1)
	if err != nil {
		return nil, err
	}
	if n <= 0 {
		return nil, ifail("States.ArrayPartition: chunk size must be positive")
	}
	out := []any{}
	for i := 0; i < len(a); i += int(n) {
		out = append(out, append([]any{}, a[i:min(len(a), i+int(n))]...))
	}
	return out, nil
}

func fnArrayContains(args []any) (any, error) {
	if err := nargs("States.ArrayContains", args, 2, 2); err != nil {
		return nil, err
	}
	a, err := argArray("States.ArrayContains", args[0], 0)
	if err != nil {
		return nil, err
	}
	for _, x := range a {
		if jsonEqual(x, args[1]) {
			return true, nil
		}
	}
	return false, nil
}

func fnArrayRange(args []any) (any, error) {
	if err := nargs("States.ArrayRange", args, 3, 3); err != nil {
		return nil, err
	}
	var n [3]int64
	for i := range n {
		v, err := argInt("States.ArrayRange", args[i], i)
		if err != nil {
			return nil, err
		}
		n[i] = v
	}
	if n[2] == 0 {
		return nil, ifail("States.ArrayRange: step must not be 0")
	}
	out := []any{}
	for v := n[0]; (n[2] > 0 && v <= n[1]) || (n[2] < 0 && v >= n[1]); v += n[2] {
		if len(out) == 1000 {
			return nil, ifail("States.ArrayRange: result exceeds 1000 items")
		}
		out = append(out, json.Number(strconv.FormatInt(v, 10)))
	}
	return out, nil
}

func fnArrayGetItem(args []any) (any, error) {
	if err := nargs("States.ArrayGetItem", args, 2, 2); err != nil {
		return nil, err
	}
	a, err := argArray("States.ArrayGetItem", args[0], 0)
	if err != nil {
		return nil, err
	}
	i, err := argInt("States.ArrayGetItem", args[1], 1)
	if err != nil {
		return nil, err
	}
	if i < 0 || int(i) >= len(a) {
		return nil, ifail("States.ArrayGetItem: index %d out of bounds", i)
	}
	return a[i], nil
}

func fnArrayLength(args []any) (any, error) {
	if err := nargs("States.ArrayLength", args, 1, 1); err != nil {
		return nil, err
	}
	a, err := argArray("States.ArrayLength", args[0], 0)
	if err != nil {
		return nil, err
	}
	return json.Number(strconv.Itoa(len(a))), nil
}

func fnArrayUnique(args []any) (any, error) {
	if err := nargs("States.ArrayUnique", args, 1, 1); err != nil {
		return nil, err
	}
	a, err := argArray("States.ArrayUnique", args[0], 0)
	if err != nil {
		return nil, err
	}
	out := []any{}
	for _, x := range a {
		dup := false
		for _, y := range out {
			if jsonEqual(x, y) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, x)
		}
	}
	return out, nil
}

func fnBase64Encode(args []any) (any, error) {
	if err := nargs("States.Base64Encode", args, 1, 1); err != nil {
		return nil, err
	}
	s, err := argString("States.Base64Encode", args[0], 0)
	if err != nil {
		return nil, err
	}
	if len(s) > 10000 {
		return nil, ifail("States.Base64Encode: input exceeds 10000 characters")
	}
	return base64.StdEncoding.EncodeToString([]byte(s)), nil
}

func fnBase64Decode(args []any) (any, error) {
	if err := nargs("States.Base64Decode", args, 1, 1); err != nil {
		return nil, err
	}
	s, err := argString("States.Base64Decode", args[0], 0)
	if err != nil {
		return nil, err
	}
	if len(s) > 10000 {
		return nil, ifail("States.Base64Decode: input exceeds 10000 characters")
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, ifail("States.Base64Decode: invalid base64: %v", err)
	}
	if !utf8.Valid(b) {
		return nil, ifail("States.Base64Decode: decoded data is not UTF-8")
	}
	return string(b), nil
}

func fnHash(args []any) (any, error) {
	if err := nargs("States.Hash", args, 2, 2); err != nil {
		return nil, err
	}
	algo, err := argString("States.Hash", args[1], 1)
	if err != nil {
		return nil, err
	}
	var data string
	if s, ok := args[0].(string); ok {
		data = s
	} else {
		data = mustEncode(args[0])
	}
	if len(data) > 10000 {
		return nil, ifail("States.Hash: input exceeds 10000 characters")
	}
	sum, ok := hashHex(algo, data)
	if !ok {
		return nil, ifail("States.Hash: unsupported algorithm %q", algo)
	}
	return sum, nil
}

// hashHex is the hex digest of data with one of the algorithms States.Hash
// and $hash accept (MD5, SHA-1, SHA-256, SHA-384, SHA-512); false for
// another.
func hashHex(alg, data string) (string, bool) {
	var h hash.Hash
	switch alg {
	case "MD5":
		h = md5.New()
	case "SHA-1":
		h = sha1.New()
	case "SHA-256":
		h = sha256.New()
	case "SHA-384":
		h = sha512.New384()
	case "SHA-512":
		h = sha512.New()
	default:
		return "", false
	}
	h.Write([]byte(data))
	return hex.EncodeToString(h.Sum(nil)), true
}

func fnJSONMerge(args []any) (any, error) {
	if err := nargs("States.JsonMerge", args, 3, 3); err != nil {
		return nil, err
	}
	a, ok1 := args[0].(map[string]any)
	b, ok2 := args[1].(map[string]any)
	if !ok1 || !ok2 {
		return nil, ifail("States.JsonMerge: the first two arguments must be objects")
	}
	deep, ok := args[2].(bool)
	if !ok {
		return nil, ifail("States.JsonMerge: the third argument must be a boolean")
	}
	if deep {
		return nil, ifail("States.JsonMerge: deep merging is not supported; the third argument must be false")
	}
	out := make(map[string]any, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out, nil
}

func fnMathRandom(args []any) (any, error) {
	if err := nargs("States.MathRandom", args, 2, 3); err != nil {
		return nil, err
	}
	lo, err := argInt("States.MathRandom", args[0], 0)
	if err != nil {
		return nil, err
	}
	hi, err := argInt("States.MathRandom", args[1], 1)
	if err != nil {
		return nil, err
	}
	if hi <= lo {
		return nil, ifail("States.MathRandom: end must be greater than start")
	}
	var r *mrand.Rand
	if len(args) == 3 {
		seed, err := argInt("States.MathRandom", args[2], 2)
		if err != nil {
			return nil, err
		}
		r = mrand.New(mrand.NewPCG(uint64(seed), 0))
	} else {
		var b [16]byte
		_, _ = rand.Read(b[:])
		r = mrand.New(mrand.NewPCG(beUint64(b[:8]), beUint64(b[8:])))
	}
	return json.Number(strconv.FormatInt(lo+r.Int64N(hi-lo), 10)), nil
}

func beUint64(b []byte) uint64 {
	var v uint64
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	return v
}

func fnMathAdd(args []any) (any, error) {
	if err := nargs("States.MathAdd", args, 2, 2); err != nil {
		return nil, err
	}
	a, err := argInt("States.MathAdd", args[0], 0)
	if err != nil {
		return nil, err
	}
	b, err := argInt("States.MathAdd", args[1], 1)
	if err != nil {
		return nil, err
	}
	return json.Number(strconv.FormatInt(a+b, 10)), nil
}

func fnStringSplit(args []any) (any, error) {
	if err := nargs("States.StringSplit", args, 2, 2); err != nil {
		return nil, err
	}
	s, err := argString("States.StringSplit", args[0], 0)
	if err != nil {
		return nil, err
	}
	d, err := argString("States.StringSplit", args[1], 1)
	if err != nil {
		return nil, err
	}
	parts := strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(d, r) })
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out, nil
}

func fnUUID(args []any) (any, error) {
	if err := nargs("States.UUID", args, 0, 0); err != nil {
		return nil, err
	}
	return newUUID(), nil
}

func newUUID() string { return turbocat.NewID() }
