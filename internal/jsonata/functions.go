package jsonata

import (
	"encoding/base64"
	"maps"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
)

// maxBuild bounds strings and arrays a function builds from a count the
// expression gives ($pad widths), so an expression cannot exhaust memory.
const maxBuild = 10_000_000

var builtins = map[string]*builtin{}

func def(name, sig string, fn func(c *call, args []any) (any, error)) {
	builtins[name] = &builtin{name: name, sig: mustSig(sig), fn: fn}
}

func init() {
	// Aggregation.
	def("sum", "<a<n>:n>", fnSum)
	def("count", "<a:n>", func(_ *call, a []any) (any, error) {
		if a[0] == undefined {
			return 0.0, nil
		}
		items, _ := asArray(a[0])
		return float64(len(items)), nil
	})
	def("max", "<a<n>:n>", func(_ *call, a []any) (any, error) { return extreme(a[0], 1) })
	def("min", "<a<n>:n>", func(_ *call, a []any) (any, error) { return extreme(a[0], -1) })
	def("average", "<a<n>:n>", func(_ *call, a []any) (any, error) {
		items, ok := asArray(a[0])
		if !ok || len(items) == 0 {
			return undefined, nil
		}
		s, _ := fnSum(nil, a)
		return s.(float64) / float64(len(items)), nil
	})

	// Strings.
	def("string", "<x-b?:s>", fnString)
	builtins["string"].nargs = 1
	def("substring", "<s-nn?:s>", fnSubstring)
	def("substringBefore", "<s-s:s>", func(_ *call, a []any) (any, error) {
		if a[0] == undefined {
			return undefined, nil
		}
		s, chars := a[0].(string), strOr(a[1], "")
		if i := strings.Index(s, chars); i >= 0 {
			return s[:i], nil
		}
		return s, nil
	})
	def("substringAfter", "<s-s:s>", func(_ *call, a []any) (any, error) {
		if a[0] == undefined {
			return undefined, nil
		}
		s, chars := a[0].(string), strOr(a[1], "")
		if i := strings.Index(s, chars); i >= 0 {
			return s[i+len(chars):], nil
		}
		return s, nil
	})
	def("lowercase", "<s-:s>", strFn(func(s string) string { return cases.Lower(language.Und).String(s) }))
	def("uppercase", "<s-:s>", strFn(func(s string) string { return cases.Upper(language.Und).String(s) }))
	def("length", "<s-:n>", func(_ *call, a []any) (any, error) {
		if a[0] == undefined {
			return undefined, nil
		}
		return float64(utf8.RuneCountInString(a[0].(string))), nil
	})
	def("trim", "<s-:s>", strFn(trim))
	def("pad", "<s-ns?:s>", fnPad)
	def("match", "<s-f<s:o>n?:a<o>>", fnMatch)
	def("contains", "<s-(sf):b>", fnContains)
	def("replace", "<s-(sf)(sf)n?:s>", fnReplace)
	def("split", "<s-(sf)n?:a<s>>", fnSplit)
	def("join", "<a<s>s?:s>", func(_ *call, a []any) (any, error) {
		if a[0] == undefined {
			return undefined, nil
		}
		items, _ := asArray(a[0])
		parts := make([]string, len(items))
		for i, it := range items {
			parts[i] = it.(string)
		}
		return strings.Join(parts, strOr(a[1], "")), nil
	})
	def("formatNumber", "<n-so?:s>", fnFormatNumber)
	def("formatBase", "<n-n?:s>", fnFormatBase)
	def("formatInteger", "<n-s:s>", fnFormatInteger)
	def("parseInteger", "<s-s:n>", fnParseInteger)
	def("number", "<(nsb)-:n>", fnNumber)
	def("floor", "<n-:n>", numFn(math.Floor))
	def("ceil", "<n-:n>", numFn(math.Ceil))
	def("round", "<n-n?:n>", fnRound)
	def("abs", "<n-:n>", numFn(math.Abs))
	def("sqrt", "<n-:n>", func(_ *call, a []any) (any, error) {
		if a[0] == undefined {
			return undefined, nil
		}
		f, _ := toNumber(a[0])
		if f < 0 {
			return nil, newError("D3060", 0, "sqrt", map[string]any{"value": f})
		}
		return math.Sqrt(f), nil
	})
	def("power", "<n-n:n>", func(_ *call, a []any) (any, error) {
		if a[0] == undefined {
			return undefined, nil
		}
		b, _ := toNumber(a[0])
		x, _ := toNumber(a[1])
		r := math.Pow(b, x)
		if math.IsNaN(r) || math.IsInf(r, 0) {
			return nil, newError("D3061", 0, "power", map[string]any{"value": b, "exp": x})
		}
		return r, nil
	})
	def("random", "<:n>", func(c *call, _ []any) (any, error) { return c.ev.random(), nil })
	def("boolean", "<x-:b>", func(_ *call, a []any) (any, error) {
		b, ok := truthy(a[0])
		if !ok {
			return undefined, nil
		}
		return b, nil
	})
	def("not", "<x-:b>", func(_ *call, a []any) (any, error) {
		b, ok := truthy(a[0])
		if !ok {
			return undefined, nil
		}
		return !b, nil
	})
	def("exists", "<x:b>", func(_ *call, a []any) (any, error) { return a[0] != undefined, nil })

	// Higher-order functions.
	def("map", "<af>", fnMap)
	def("filter", "<af>", fnFilter)
	def("single", "<af?>", fnSingle)
	def("reduce", "<afj?:j>", fnReduce)
	def("sift", "<o-f?:o>", fnSift)
	def("each", "<o-f:a>", fnEach)

	// Arrays and objects.
	def("zip", "<a+>", fnZip)
	builtins["zip"].nargs = -1
	def("keys", "<x-:a<s>>", func(_ *call, a []any) (any, error) { return keys(a[0]), nil })
	def("lookup", "<x-s:x>", func(_ *call, a []any) (any, error) {
		key, ok := a[1].(string)
		if !ok {
			return undefined, nil
		}
		return lookupField(a[0], key), nil
	})
	def("append", "<xx:a>", func(_ *call, a []any) (any, error) { return appendValues(a[0], a[1]), nil })
	def("spread", "<x-:a<o>>", fnSpread)
	def("merge", "<a<o>:o>", func(_ *call, a []any) (any, error) {
		if a[0] == undefined {
			return undefined, nil
		}
		items, _ := asArray(a[0])
		out := map[string]any{}
		for _, it := range items {
			for k, v := range it.(map[string]any) {
				out[k] = v
			}
		}
		return out, nil
	})
	def("reverse", "<a:a>", func(_ *call, a []any) (any, error) {
		if a[0] == undefined {
			return undefined, nil
		}
		items, _ := asArray(a[0])
		if len(items) <= 1 {
			return a[0], nil
		}
		out := make([]any, len(items))
		for i, it := range items {
			out[len(items)-1-i] = it
		}
		return out, nil
	})
	def("shuffle", "<a:a>", func(c *call, a []any) (any, error) {
		if a[0] == undefined {
			return undefined, nil
		}
		items, _ := asArray(a[0])
		if len(items) <= 1 {
			return a[0], nil
		}
		out := append([]any(nil), items...)
		for i := len(out) - 1; i > 0; i-- {
			j := int(math.Floor(c.ev.random() * float64(i+1)))
			out[i], out[j] = out[j], out[i]
		}
		return out, nil
	})
	def("distinct", "<x:x>", fnDistinct)
	def("sort", "<af?:a>", fnSort)
	def("type", "<x:s>", func(_ *call, a []any) (any, error) {
		if a[0] == undefined {
			return undefined, nil
		}
		return typeName(a[0]), nil
	})
	def("error", "<s?:x>", func(_ *call, a []any) (any, error) {
		msg := strOr(a[0], "$error() function evaluated")
		return nil, newError("D3137", 0, "", map[string]any{"message": msg})
	})
	def("assert", "<bs?:x>", func(_ *call, a []any) (any, error) {
		if b, _ := a[0].(bool); !b {
			msg := strOr(a[1], "$assert() statement failed")
			return nil, newError("D3141", 0, "", map[string]any{"message": msg})
		}
		return undefined, nil
	})
	def("clone", "<(oa)-:o>", func(_ *call, a []any) (any, error) { return clone(a[0]), nil })

	// Encoding.
	def("base64encode", "<s-:s>", strFn(func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }))
	def("base64decode", "<s-:s>", func(_ *call, a []any) (any, error) {
		if a[0] == undefined {
			return undefined, nil
		}
		s := a[0].(string)
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			if b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "=")); err != nil {
				return nil, newError("D3137", 0, "", map[string]any{"message": "Invalid base64 string"})
			}
		}
		return string(b), nil
	})
	def("encodeUrlComponent", "<s-:s>", urlFn("encodeUrlComponent", func(s string) (string, bool) { return encodeURI(s, uriUnreservedComponent) }))
	def("encodeUrl", "<s-:s>", urlFn("encodeUrl", func(s string) (string, bool) { return encodeURI(s, uriUnreserved) }))
	def("decodeUrlComponent", "<s-:s>", urlFn("decodeUrlComponent", func(s string) (string, bool) { return decodeURI(s, "") }))
	def("decodeUrl", "<s-:s>", urlFn("decodeUrl", func(s string) (string, bool) { return decodeURI(s, ";/?:@&=+$,#") }))

	// Date and time.
	def("now", "<s?s?:s>", fnNow)
	def("millis", "<:n>", func(c *call, _ []any) (any, error) { return float64(c.ev.now.UnixMilli()), nil })
	def("fromMillis", "<n-s?s?:s>", fnFromMillis)
	def("toMillis", "<s-s?:n>", fnToMillis)

	for name, b := range builtins {
		builtinEnv.vars[name] = b
	}
}

func strOr(v any, def string) string {
	if s, ok := v.(string); ok {
		return s
	}
	return def
}

func strFn(f func(string) string) func(*call, []any) (any, error) {
	return func(_ *call, a []any) (any, error) {
		if a[0] == undefined {
			return undefined, nil
		}
		return f(a[0].(string)), nil
	}
}

func numFn(f func(float64) float64) func(*call, []any) (any, error) {
	return func(_ *call, a []any) (any, error) {
		if a[0] == undefined {
			return undefined, nil
		}
		x, _ := toNumber(a[0])
		return f(x), nil
	}
}

func (ev *evaluator) random() float64 {
	if ev.rand != nil {
		return ev.rand()
	}
	return rand.Float64()
}

func fnSum(_ *call, a []any) (any, error) {
	if a[0] == undefined {
		return undefined, nil
	}
	items, _ := asArray(a[0])
	total := 0.0
	for _, it := range items {
		f, _ := toNumber(it)
		total += f
	}
	return total, nil
}

func extreme(v any, sign float64) (any, error) {
	items, ok := asArray(v)
	if !ok || len(items) == 0 {
		return undefined, nil
	}
	best, _ := toNumber(items[0])
	for _, it := range items[1:] {
		f, _ := toNumber(it)
		if (f-best)*sign > 0 {
			best = f
		}
	}
	return best, nil
}

// toJSString is $string's conversion (without prettify).
func toJSString(v any) (string, error) {
	return stringValue(v, false)
}

func stringValue(v any, pretty bool) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case *lambda, *builtin:
		return "", nil
	}
	if f, ok := toNumber(v); ok {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return "", newError("D3001", 0, "string", map[string]any{"value": f})
		}
		if _, isJSON := v.(float64); !isJSON {
			return FormatNumber(roundSignificant(f, 15)), nil
		}
		return FormatNumber(roundSignificant(f, 15)), nil
	}
	if s, ok := v.(*sequence); ok && s.outerWrapper && len(s.items) > 0 {
		v = s.items[0]
	}
	if pretty {
		return prettyJSON(v, ""), nil
	}
	return stringify(v, true)
}

func prettyJSON(v any, indent string) string {
	inner := indent + "  "
	switch x := v.(type) {
	case map[string]any:
		s, _ := stringify(map[string]any{}, true)
		if len(x) == 0 {
			return s
		}
		keys := sortedKeys(x)
		var b strings.Builder
		b.WriteString("{\n")
		first := true
		for _, k := range keys {
			if x[k] == undefined {
				continue
			}
			if !first {
				b.WriteString(",\n")
			}
			first = false
			b.WriteString(inner)
			b.Write(appendQuoted(nil, k))
			b.WriteString(": ")
			b.WriteString(prettyJSON(x[k], inner))
		}
		b.WriteString("\n" + indent + "}")
		return b.String()
	}
	if items, ok := asArray(v); ok {
		if len(items) == 0 {
			return "[]"
		}
		var b strings.Builder
		b.WriteString("[\n")
		for i, it := range items {
			if i > 0 {
				b.WriteString(",\n")
			}
			b.WriteString(inner)
			b.WriteString(prettyJSON(it, inner))
		}
		b.WriteString("\n" + indent + "]")
		return b.String()
	}
	s, _ := stringify(v, true)
	return s
}

func fnString(_ *call, a []any) (any, error) {
	if a[0] == undefined {
		return undefined, nil
	}
	pretty, _ := a[1].(bool)
	return stringValue(a[0], pretty)
}

// runesSlice is JavaScript's Array.prototype.slice on code points.
func runesSlice(r []rune, start, end int) string {
	n := len(r)
	norm := func(i int) int {
		if i < 0 {
			i += n
			if i < 0 {
				i = 0
			}
		}
		if i > n {
			i = n
		}
		return i
	}
	s, e := norm(start), norm(end)
	if s >= e {
		return ""
	}
	return string(r[s:e])
}

func toInt(f float64) int {
	if math.IsNaN(f) {
		return 0
	}
	if f > math.MaxInt32 {
		return math.MaxInt32
	}
	if f < math.MinInt32 {
		return math.MinInt32
	}
	return int(f) // truncates toward zero, as JavaScript's ToIntegerOrInfinity
}

func fnSubstring(_ *call, a []any) (any, error) {
	if a[0] == undefined {
		return undefined, nil
	}
	r := []rune(a[0].(string))
	sf, _ := toNumber(a[1])
	start := toInt(sf)
	if len(r)+start < 0 {
		start = 0
	}
	if a[2] == undefined {
		return runesSlice(r, start, len(r)), nil
	}
	lf, _ := toNumber(a[2])
	length := toInt(lf)
	if length <= 0 {
		return "", nil
	}
	end := start + length
	if start < 0 {
		end = len(r) + start + length
	}
	return runesSlice(r, start, end), nil
}

var trimRE = regexp.MustCompile(`[ \t\n\r]+`)

func trim(s string) string {
	s = trimRE.ReplaceAllString(s, " ")
	s = strings.TrimPrefix(s, " ")
	return strings.TrimSuffix(s, " ")
}

func fnPad(_ *call, a []any) (any, error) {
	if a[0] == undefined {
		return undefined, nil
	}
	s := a[0].(string)
	wf, _ := toNumber(a[1])
	width := toInt(wf)
	char := strOr(a[2], "")
	if char == "" {
		char = " "
	}
	left := width < 0
	if left {
		width = -width
	}
	if width > maxBuild {
		return nil, newError("D3137", 0, "", map[string]any{"message": "$pad width is too large"})
	}
	padLen := width - utf8.RuneCountInString(s)
	if padLen <= 0 {
		return s, nil
	}
	pad := []rune(strings.Repeat(char, padLen))[:padLen]
	if left {
		return string(pad) + s, nil
	}
	return s + string(pad), nil
}

func fnNumber(_ *call, a []any) (any, error) {
	switch x := a[0].(type) {
	case undefinedType:
		return undefined, nil
	case bool:
		if x {
			return 1.0, nil
		}
		return 0.0, nil
	case string:
		if f, ok := parseJSNumber(x); ok {
			return f, nil
		}
		return nil, newError("D3030", 0, "number", map[string]any{"value": x})
	}
	f, _ := toNumber(a[0])
	return f, nil
}

var (
	numberRE    = regexp.MustCompile(`^-?(0|([1-9][0-9]*))(\.[0-9]+)?([Ee][-+]?[0-9]+)?$`)
	radixNumRE  = regexp.MustCompile(`^(0[xX][0-9A-Fa-f]+)|(0[oO][0-7]+)|(0[bB][0-1]+)$`)
	radixPrefix = map[byte]int{'x': 16, 'X': 16, 'o': 8, 'O': 8, 'b': 2, 'B': 2}
)

func parseJSNumber(s string) (float64, bool) {
	if numberRE.MatchString(s) {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) {
			return 0, false
		}
		return f, true
	}
	if len(s) > 2 && radixNumRE.MatchString(s) {
		n, err := strconv.ParseUint(s[2:], radixPrefix[s[1]], 64)
		if err != nil {
			return 0, false
		}
		return float64(n), true
	}
	return 0, false
}

func fnRound(_ *call, a []any) (any, error) {
	if a[0] == undefined {
		return undefined, nil
	}
	x, _ := toNumber(a[0])
	prec := 0
	if a[1] != undefined {
		p, _ := toNumber(a[1])
		prec = toInt(p)
	}
	return roundHalfEven(x, prec), nil
}

// roundHalfEven rounds x to prec decimal places, halves to even, shifting
// the decimal point in the decimal text as JSONata does to avoid binary
// error.
func roundHalfEven(x float64, prec int) float64 {
	shift := func(v float64, by int) float64 {
		s := FormatNumber(v)
		mant, exp, hasExp := strings.Cut(s, "e")
		e := 0
		if hasExp {
			e, _ = strconv.Atoi(exp)
		}
		r, err := strconv.ParseFloat(mant+"e"+strconv.Itoa(e+by), 64)
		if err != nil {
			return v
		}
		return r
	}
	if prec != 0 {
		x = shift(x, prec)
	}
	r := math.Floor(x + 0.5) // JavaScript's Math.round: halves up
	if math.Abs(r-x) == 0.5 && math.Mod(math.Abs(r), 2) == 1 {
		r--
	}
	if prec != 0 {
		r = shift(r, -prec)
	}
	if r == 0 {
		r = 0 // no negative zero
	}
	return r
}

// Higher-order functions call back with as many of (value, index, array)
// as the callback declares.
func hofArgs(fn any, v any, i int, arr []any) []any {
	n := arity(fn)
	args := []any{v}
	if n >= 2 {
		args = append(args, float64(i))
	}
	if n >= 3 {
		args = append(args, arr)
	}
	return args
}

func fnMap(c *call, a []any) (any, error) {
	if a[0] == undefined {
		return undefined, nil
	}
	items, _ := asArray(a[0])
	out := &sequence{}
	for i, it := range items {
		r, err := c.ev.apply(a[1], hofArgs(a[1], it, i, items), c.input, c.env, 0)
		if err != nil {
			return nil, err
		}
		if r != undefined {
			out.push(r)
		}
	}
	return out, nil
}

func fnFilter(c *call, a []any) (any, error) {
	if a[0] == undefined {
		return undefined, nil
	}
	items, _ := asArray(a[0])
	out := &sequence{}
	for i, it := range items {
		r, err := c.ev.apply(a[1], hofArgs(a[1], it, i, items), c.input, c.env, 0)
		if err != nil {
			return nil, err
		}
		if boolOf(r) {
			out.push(it)
		}
	}
	return out, nil
}

func fnSingle(c *call, a []any) (any, error) {
	if a[0] == undefined {
		return undefined, nil
	}
	items, _ := asArray(a[0])
	found := false
	var result any
	for i, it := range items {
		ok := true
		if a[1] != undefined {
			r, err := c.ev.apply(a[1], hofArgs(a[1], it, i, items), c.input, c.env, 0)
			if err != nil {
				return nil, err
			}
			ok = boolOf(r)
		}
		if ok {
			if found {
				return nil, newError("D3138", 0, "single", nil)
			}
			found, result = true, it
		}
	}
	if !found {
		return nil, newError("D3139", 0, "single", nil)
	}
	return result, nil
}

func fnReduce(c *call, a []any) (any, error) {
	if a[0] == undefined {
		return undefined, nil
	}
	items, _ := asArray(a[0])
	n := arity(a[1])
	if n < 2 {
		return nil, newError("D3050", 0, "reduce", nil)
	}
	var acc any
	i := 0
	if a[2] == undefined && len(items) > 0 {
		acc, i = items[0], 1
	} else {
		acc = a[2]
	}
	for ; i < len(items); i++ {
		args := []any{acc, items[i]}
		if n >= 3 {
			args = append(args, float64(i))
		}
		if n >= 4 {
			args = append(args, items)
		}
		r, err := c.ev.apply(a[1], args, c.input, c.env, 0)
		if err != nil {
			return nil, err
		}
		acc = r
	}
	return acc, nil
}

// applyEntry calls fn, of arity n, with an object entry as $sift and $each
// pass it: (value, key, object), as many as fn takes.
func (c *call) applyEntry(fn any, n int, obj map[string]any, k string) (any, error) {
	args := []any{obj[k]}
	if n >= 2 {
		args = append(args, k)
	}
	if n >= 3 {
		args = append(args, obj)
	}
	return c.ev.apply(fn, args, c.input, c.env, 0)
}

func fnSift(c *call, a []any) (any, error) {
	obj, ok := a[0].(map[string]any)
	if !ok {
		return undefined, nil
	}
	out := map[string]any{}
	n := arity(a[1])
	for _, k := range sortedKeys(obj) {
		r, err := c.applyEntry(a[1], n, obj, k)
		if err != nil {
			return nil, err
		}
		if boolOf(r) {
			out[k] = obj[k]
		}
	}
	if len(out) == 0 {
		return undefined, nil
	}
	return out, nil
}

func fnEach(c *call, a []any) (any, error) {
	obj, ok := a[0].(map[string]any)
	if !ok {
		return undefined, nil
	}
	out := &sequence{}
	n := arity(a[1])
	for _, k := range sortedKeys(obj) {
		r, err := c.applyEntry(a[1], n, obj, k)
		if err != nil {
			return nil, err
		}
		if r != undefined {
			out.push(r)
		}
	}
	return out, nil
}

func fnZip(_ *call, a []any) (any, error) {
	var arrays [][]any
	shortest := -1
	for _, x := range a {
		items, _ := asArray(x)
		arrays = append(arrays, items)
		if shortest < 0 || len(items) < shortest {
			shortest = len(items)
		}
	}
	out := make([]any, 0, max(shortest, 0))
	for i := 0; i < shortest; i++ {
		tuple := make([]any, len(arrays))
		for j := range arrays {
			tuple[j] = arrays[j][i]
		}
		out = append(out, tuple)
	}
	return out, nil
}

func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

func keys(v any) any {
	out := &sequence{}
	if items, ok := asArray(v); ok {
		seen := map[string]bool{}
		for _, it := range items {
			if m, ok := it.(map[string]any); ok {
				for _, k := range sortedKeys(m) {
					if !seen[k] {
						seen[k] = true
						out.push(k)
					}
				}
			}
		}
		return out
	}
	if m, ok := v.(map[string]any); ok {
		for _, k := range sortedKeys(m) {
			out.push(k)
		}
	}
	return out
}

func fnSpread(_ *call, a []any) (any, error) {
	switch x := a[0].(type) {
	case map[string]any:
		out := &sequence{}
		for _, k := range sortedKeys(x) {
			out.push(map[string]any{k: x[k]})
		}
		return out, nil
	case []any, *sequence:
		items, _ := asArray(x)
		out := &sequence{}
		for _, it := range items {
			r, _ := fnSpread(nil, []any{it})
			out.items = appendSpread(out.items, r)
		}
		return out, nil
	}
	return a[0], nil
}

func appendSpread(dst []any, v any) []any {
	if items, ok := asArray(v); ok {
		return append(dst, items...)
	}
	if v == undefined {
		return dst
	}
	return append(dst, v)
}

func fnDistinct(_ *call, a []any) (any, error) {
	items, ok := asArray(a[0])
	if !ok {
		return a[0], nil
	}
	if len(items) <= 1 {
		return a[0], nil
	}
	var out []any
	for _, it := range items {
		dup := false
		for _, seen := range out {
			if deepEqual(it, seen) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, it)
		}
	}
	if _, isSeq := a[0].(*sequence); isSeq {
		return &sequence{items: out}, nil
	}
	return out, nil
}

func fnSort(c *call, a []any) (any, error) {
	if a[0] == undefined {
		return undefined, nil
	}
	items, _ := asArray(a[0])
	if len(items) <= 1 {
		return a[0], nil
	}
	var greater func(x, y any) (bool, error)
	if a[1] == undefined {
		allNum, allStr := true, true
		for _, it := range items {
			if !isNumber(it) {
				allNum = false
			}
			if _, ok := it.(string); !ok {
				allStr = false
			}
		}
		if !allNum && !allStr {
			return nil, newError("D3070", 0, "sort", nil)
		}
		greater = func(x, y any) (bool, error) {
			if allNum {
				xf, _ := toNumber(x)
				yf, _ := toNumber(y)
				return xf > yf, nil
			}
			return x.(string) > y.(string), nil
		}
	} else {
		fn := a[1]
		greater = func(x, y any) (bool, error) {
			r, err := c.ev.apply(fn, []any{x, y}, c.input, c.env, 0)
			if err != nil {
				return false, err
			}
			return boolOf(r), nil
		}
	}
	return mergeSort(append([]any(nil), items...), greater)
}

// mergeSort is a stable merge sort that takes the right element when
// greater(left, right), as JSONata's $sort does.
func mergeSort(items []any, greater func(x, y any) (bool, error)) ([]any, error) {
	if len(items) <= 1 {
		return items, nil
	}
	mid := len(items) / 2
	left, err := mergeSort(append([]any(nil), items[:mid]...), greater)
	if err != nil {
		return nil, err
	}
	right, err := mergeSort(append([]any(nil), items[mid:]...), greater)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(items))
	for len(left) > 0 && len(right) > 0 {
		g, err := greater(left[0], right[0])
		if err != nil {
			return nil, err
		}
		if g {
			out = append(out, right[0])
			right = right[1:]
		} else {
			out = append(out, left[0])
			left = left[1:]
		}
	}
	out = append(out, left...)
	return append(out, right...), nil
}

// URI encoding as JavaScript's encodeURIComponent and encodeURI do it.
const (
	uriUnreservedComponent = "-_.!~*'()"
	uriUnreserved          = "-_.!~*'();/?:@&=+$,#"
)

func encodeURI(s, keep string) (string, bool) {
	if !utf8.ValidString(s) {
		return "", false
	}
	var b strings.Builder
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xF])
	}
	return b.String(), true
}

func decodeURI(s, reserved string) (string, bool) {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", false
		}
		if n < 0x80 && strings.IndexByte(reserved, byte(n)) >= 0 {
			b = append(b, s[i:i+3]...)
		} else {
			b = append(b, byte(n))
		}
		i += 2
	}
	if !utf8.Valid(b) {
		return "", false
	}
	return string(b), true
}

func urlFn(name string, f func(string) (string, bool)) func(*call, []any) (any, error) {
	return func(_ *call, a []any) (any, error) {
		if a[0] == undefined {
			return undefined, nil
		}
		s := a[0].(string)
		r, ok := f(s)
		if !ok {
			return nil, newError("D3140", 0, name, map[string]any{"value": s})
		}
		return r, nil
	}
}
