package jsonata

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ---- $formatNumber: XPath fn:format-number pictures ----

type decimalFormat struct {
	decimal, grouping, exponent, percent, perMille, zero, digit, pattern rune
	infinity, nan, minus                                                 string
}

func defaultDecimalFormat() decimalFormat {
	return decimalFormat{decimal: '.', grouping: ',', exponent: 'e', percent: '%', perMille: '‰', zero: '0', digit: '#',
		pattern: ';', infinity: "Infinity", nan: "NaN", minus: "-"}
}

type subPicture struct {
	prefix, suffix                string
	integer, fraction, exponent   string
	hasPercent, hasPerMille       bool
	hasExponent                   bool
	groupPositions                []int
	regularGrouping               int
	minInt, minFrac, maxFrac      int
	minExp, scaling               int
	fracGroupPositions            []int
	mantissaHasDecimal            bool
	decimalSeparatorWithoutDigits bool
}

func fnFormatNumber(_ *call, a []any) (any, error) {
	if a[0] == undefined {
		return undefined, nil
	}
	value, _ := toNumber(a[0])
	picture, _ := a[1].(string)
	f := defaultDecimalFormat()
	if opts, ok := a[2].(map[string]any); ok {
		single := func(key string, dst *rune) {
			if s, ok := opts[key].(string); ok && s != "" {
				*dst, _ = utf8.DecodeRuneInString(s)
			}
		}
		single("decimal-separator", &f.decimal)
		single("grouping-separator", &f.grouping)
		single("exponent-separator", &f.exponent)
		single("percent", &f.percent)
		single("per-mille", &f.perMille)
		single("zero-digit", &f.zero)
		single("digit", &f.digit)
		single("pattern-separator", &f.pattern)
		for key, dst := range map[string]*string{"infinity": &f.infinity, "NaN": &f.nan, "minus-sign": &f.minus} {
			if s, ok := opts[key].(string); ok {
				*dst = s
			}
		}
	}
	return formatNumber(value, picture, f)
}

func (f decimalFormat) isDigit(r rune) bool { return r >= f.zero && r <= f.zero+9 }

func (f decimalFormat) isActive(r rune) bool {
	return r == f.decimal || r == f.grouping || r == f.digit || r == f.pattern || f.isDigit(r) || r == f.exponent
}

func formatNumber(value float64, picture string, f decimalFormat) (string, error) {
	parts := strings.Split(picture, string(f.pattern))
	if len(parts) > 2 {
		return "", newError("D3080", 0, "", nil)
	}
	pics := make([]*subPicture, len(parts))
	for i, p := range parts {
		sp, err := parseSubPicture(p, f)
		if err != nil {
			return "", err
		}
		pics[i] = sp
	}
	if math.IsNaN(value) {
		return f.nan, nil
	}
	pic := pics[0]
	negative := value < 0 || (value == 0 && math.Signbit(value))
	if negative && len(pics) > 1 {
		pic = pics[1]
	}
	minusPrefix := ""
	if negative && len(pics) == 1 {
		minusPrefix = f.minus
	}
	abs := math.Abs(value)
	if pic.hasPercent {
		abs *= 100
	} else if pic.hasPerMille {
		abs *= 1000
	}
	if math.IsInf(abs, 0) {
		return minusPrefix + pic.prefix + f.infinity + pic.suffix, nil
	}
	exp := 0
	if pic.hasExponent && abs != 0 {
		// Scale the mantissa to the picture's integer digits.
		e := int(math.Floor(math.Log10(abs)))
		if pic.scaling > 0 {
			exp = e - pic.scaling + 1
		} else {
			exp = e + 1
		}
		abs = abs / math.Pow(10, float64(exp))
		if abs >= math.Pow(10, float64(max(pic.scaling, 0))) && pic.scaling > 0 {
			abs /= 10
			exp++
		}
	}
	// Round half to even at the maximum fractional digits, in decimal.
	digits := roundDecimal(abs, pic.maxFrac)
	intPart, fracPart, _ := strings.Cut(digits, ".")
	intPart = strings.TrimLeft(intPart, "0")
	for len(intPart) < pic.minInt {
		intPart = "0" + intPart
	}
	if intPart == "" && pic.hasExponent {
		intPart = "0"
	}
	for len(fracPart) < pic.minFrac {
		fracPart += "0"
	}
	for len(fracPart) > pic.minFrac && strings.HasSuffix(fracPart, "0") {
		fracPart = fracPart[:len(fracPart)-1]
	}
	// Grouping separators.
	intRunes := []rune(substituteDigits(intPart, f.zero))
	if pic.regularGrouping > 0 {
		var b []rune
		for i, r := range intRunes {
			if i > 0 && (len(intRunes)-i)%pic.regularGrouping == 0 {
				b = append(b, f.grouping)
			}
			b = append(b, r)
		}
		intRunes = b
	} else if len(pic.groupPositions) > 0 {
		var b []rune
		for i, r := range intRunes {
			pos := len(intRunes) - i
			for _, g := range pic.groupPositions {
				if i > 0 && pos == g {
					b = append(b, f.grouping)
				}
			}
			b = append(b, r)
		}
		intRunes = b
	}
	fracRunes := []rune(substituteDigits(fracPart, f.zero))
	if len(pic.fracGroupPositions) > 0 {
		var b []rune
		for i, r := range fracRunes {
			for _, g := range pic.fracGroupPositions {
				if i == g && i > 0 {
					b = append(b, f.grouping)
				}
			}
			b = append(b, r)
		}
		fracRunes = b
	}
	var out strings.Builder
	out.WriteString(minusPrefix)
	out.WriteString(pic.prefix)
	out.WriteString(string(intRunes))
	if len(fracRunes) > 0 || pic.decimalSeparatorWithoutDigits {
		out.WriteRune(f.decimal)
		out.WriteString(string(fracRunes))
	}
	if pic.hasExponent {
		out.WriteRune(f.exponent)
		es := strconv.Itoa(abs0(exp))
		for len(es) < pic.minExp {
			es = "0" + es
		}
		if exp < 0 {
			out.WriteString(f.minus)
		}
		out.WriteString(substituteDigits(es, f.zero))
	}
	out.WriteString(pic.suffix)
	return out.String(), nil
}

func abs0(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

func substituteDigits(s string, zero rune) string {
	if zero == '0' {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return zero + (r - '0')
		}
		return r
	}, s)
}

// roundDecimal renders v with at most frac fractional digits, halves to
// even, using exact decimal arithmetic on v's shortest representation.
func roundDecimal(v float64, frac int) string {
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(v, 'g', -1, 64))
	if !ok {
		return strconv.FormatFloat(v, 'f', frac, 64)
	}
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(frac)), nil)
	r.Mul(r, new(big.Rat).SetInt(scale))
	num, den := r.Num(), r.Denom()
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	twice := new(big.Int).Mul(m, big.NewInt(2))
	switch twice.Cmp(den) {
	case 1:
		q.Add(q, big.NewInt(1))
	case 0:
		if q.Bit(0) == 1 {
			q.Add(q, big.NewInt(1))
		}
	}
	s := q.String()
	if frac == 0 {
		return s
	}
	for len(s) <= frac {
		s = "0" + s
	}
	return s[:len(s)-frac] + "." + s[len(s)-frac:]
}

func parseSubPicture(p string, f decimalFormat) (*subPicture, error) {
	runes := []rune(p)
	sp := &subPicture{}
	// Prefix: passive characters before the first active one; suffix:
	// after the last.
	first, last := -1, -1
	for i, r := range runes {
		if f.isActive(r) && r != f.exponent {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return nil, newError("D3085", 0, "", nil)
	}
	// An exponent separator right after the last active digit extends the
	// active part when digits follow it.
	end := last + 1
	for end < len(runes) && runes[end] == f.exponent && end+1 < len(runes) && f.isDigit(runes[end+1]) {
		j := end + 1
		for j < len(runes) && f.isDigit(runes[j]) {
			j++
		}
		end = j
	}
	sp.prefix = string(runes[:first])
	sp.suffix = string(runes[end:])
	active := runes[first:end]
	for _, r := range sp.prefix + sp.suffix {
		switch r {
		case f.percent:
			if sp.hasPercent {
				return nil, newError("D3082", 0, "", nil)
			}
			sp.hasPercent = true
		case f.perMille:
			if sp.hasPerMille {
				return nil, newError("D3083", 0, "", nil)
			}
			sp.hasPerMille = true
		}
	}
	if sp.hasPercent && sp.hasPerMille {
		return nil, newError("D3084", 0, "", nil)
	}
	mantissa := active
	for i, r := range active {
		if r == f.exponent && i > 0 && i+1 < len(active) {
			rest := active[i+1:]
			allDigits := true
			for _, d := range rest {
				if !f.isDigit(d) {
					allDigits = false
				}
			}
			if allDigits {
				mantissa = active[:i]
				sp.exponent = string(rest)
				sp.hasExponent = true
				break
			}
		}
	}
	if sp.hasExponent && (sp.hasPercent || sp.hasPerMille) {
		return nil, newError("D3092", 0, "", nil)
	}
	decimals := 0
	for _, r := range mantissa {
		if r == f.decimal {
			decimals++
		}
	}
	if decimals > 1 {
		return nil, newError("D3081", 0, "", nil)
	}
	intPart, fracPart := mantissa, []rune(nil)
	for i, r := range mantissa {
		if r == f.decimal {
			intPart, fracPart = mantissa[:i], mantissa[i+1:]
			sp.mantissaHasDecimal = true
		}
	}
	sp.integer, sp.fraction = string(intPart), string(fracPart)
	hasDigit := false
	for _, r := range mantissa {
		if f.isDigit(r) || r == f.digit {
			hasDigit = true
		}
	}
	if !hasDigit {
		return nil, newError("D3085", 0, "", nil)
	}
	for i, r := range mantissa {
		if !f.isActive(r) && i > 0 && i < len(mantissa)-1 {
			return nil, newError("D3086", 0, "", nil)
		}
	}
	if sp.mantissaHasDecimal {
		if len(intPart) > 0 && intPart[len(intPart)-1] == f.grouping || len(fracPart) > 0 && fracPart[0] == f.grouping {
			return nil, newError("D3087", 0, "", nil)
		}
	} else if len(intPart) > 0 && intPart[len(intPart)-1] == f.grouping {
		return nil, newError("D3088", 0, "", nil)
	}
	if strings.Contains(string(mantissa), string([]rune{f.grouping, f.grouping})) {
		return nil, newError("D3089", 0, "", nil)
	}
	seenDigit := false
	for _, r := range intPart {
		if f.isDigit(r) {
			seenDigit = true
		} else if r == f.digit && seenDigit {
			return nil, newError("D3090", 0, "", nil)
		}
	}
	seenOptional := false
	for _, r := range fracPart {
		if r == f.digit {
			seenOptional = true
		} else if f.isDigit(r) && seenOptional {
			return nil, newError("D3091", 0, "", nil)
		}
	}
	// Grouping positions, counted from the decimal separator.
	pos := 0
	for i := len(intPart) - 1; i >= 0; i-- {
		if intPart[i] == f.grouping {
			sp.groupPositions = append(sp.groupPositions, pos)
		} else {
			pos++
		}
	}
	if n := len(sp.groupPositions); n > 0 {
		g := sp.groupPositions[0]
		regular := g > 0
		for i, p := range sp.groupPositions {
			if p != g*(i+1) {
				regular = false
			}
		}
		// Regular only if no optional digit padding suggests otherwise.
		if regular {
			sp.regularGrouping = g
		}
	}
	pos = 0
	for _, r := range fracPart {
		if r == f.grouping {
			sp.fracGroupPositions = append(sp.fracGroupPositions, pos)
		} else {
			pos++
		}
	}
	for _, r := range intPart {
		if f.isDigit(r) {
			sp.minInt++
		}
	}
	for _, r := range fracPart {
		if f.isDigit(r) {
			sp.minFrac++
		}
		if f.isDigit(r) || r == f.digit {
			sp.maxFrac++
		}
	}
	sp.scaling = sp.minInt
	for _, r := range sp.exponent {
		if f.isDigit(r) {
			sp.minExp++
		}
	}
	if sp.minInt == 0 && sp.maxFrac == 0 {
		if sp.hasExponent {
			sp.minFrac, sp.maxFrac = 1, 1
		} else {
			sp.minInt = 1
		}
	}
	if sp.hasExponent && sp.minInt == 0 && !strings.ContainsRune(sp.integer, f.digit) {
		sp.minInt = 1
	}
	if sp.minInt == 0 && sp.minFrac == 0 {
		sp.minFrac = 1
	}
	return sp, nil
}

// ---- $formatBase ----

func fnFormatBase(_ *call, a []any) (any, error) {
	if a[0] == undefined {
		return undefined, nil
	}
	v, _ := toNumber(a[0])
	radix := 10.0
	if a[1] != undefined {
		radix, _ = toNumber(a[1])
	}
	if radix < 2 || radix > 36 {
		return nil, newError("D3100", 0, "formatBase", map[string]any{"value": radix})
	}
	r := roundHalfEven(v, 0)
	return strconv.FormatInt(int64(r), int(radix)), nil
}

// ---- $formatInteger and $parseInteger: XPath fn:format-integer ----

var (
	fewWords     = []string{"Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten", "Eleven", "Twelve", "Thirteen", "Fourteen", "Fifteen", "Sixteen", "Seventeen", "Eighteen", "Nineteen"}
	ordinalWords = []string{"Zeroth", "First", "Second", "Third", "Fourth", "Fifth", "Sixth", "Seventh", "Eighth", "Ninth", "Tenth", "Eleventh", "Twelfth", "Thirteenth", "Fourteenth", "Fifteenth", "Sixteenth", "Seventeenth", "Eighteenth", "Nineteenth"}
	decadeWords  = []string{"Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety", "Hundred"}
	magnitudes   = []string{"Thousand", "Million", "Billion", "Trillion"}
)

func numberToWords(n int64, ordinal bool) string {
	var lookup func(num int64, prev, ord bool) string
	lookup = func(num int64, prev, ord bool) string {
		words := ""
		switch {
		case num <= 19:
			if prev {
				words = " and "
			}
			if ord {
				words += ordinalWords[num]
			} else {
				words += fewWords[num]
			}
		case num < 100:
			tens, rem := num/10, num%10
			if prev {
				words = " and "
			}
			words += decadeWords[tens-2]
			if rem > 0 {
				words += "-" + lookup(rem, false, ord)
			} else if ord {
				words = words[:len(words)-1] + "ieth"
			}
		case num < 1000:
			hundreds, rem := num/100, num%100
			if prev {
				words = ", "
			}
			words += fewWords[hundreds] + " Hundred"
			if rem > 0 {
				words += lookup(rem, true, ord)
			} else if ord {
				words += "th"
			}
		default:
			mag := int(math.Floor(math.Log10(float64(num)) / 3))
			if mag > len(magnitudes) {
				mag = len(magnitudes)
			}
			factor := int64(math.Pow(10, float64(mag*3)))
			mant := num / factor
			rem := num - mant*factor
			if prev {
				words = ", "
			}
			words += lookup(mant, false, false) + " " + magnitudes[mag-1]
			if rem > 0 {
				words += lookup(rem, true, ord)
			} else if ord {
				words += "th"
			}
		}
		return words
	}
	return lookup(n, false, ordinal)
}

var wordValues = func() map[string]int64 {
	m := map[string]int64{}
	for i, w := range fewWords {
		m[strings.ToLower(w)] = int64(i)
	}
	for i, w := range ordinalWords {
		m[strings.ToLower(w)] = int64(i)
	}
	for i, w := range decadeWords[:8] {
		lw := strings.ToLower(w)
		m[lw] = int64(i+2) * 10
		m[lw[:len(lw)-1]+"ieth"] = int64(i+2) * 10
	}
	m["hundred"], m["hundredth"] = 100, 100
	for i, w := range magnitudes {
		lw := strings.ToLower(w)
		v := int64(math.Pow(10, float64((i+1)*3)))
		m[lw], m[lw+"th"] = v, v
	}
	return m
}()

func wordsToNumber(s string) (int64, bool) {
	fields := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return r == ' ' || r == ',' || r == '-' })
	var total, current int64
	seen := false
	for _, f := range fields {
		if f == "and" {
			continue
		}
		v, ok := wordValues[f]
		if !ok {
			return 0, false
		}
		seen = true
		switch {
		case v == 100:
			current *= 100
		case v >= 1000:
			total += current * v
			current = 0
		default:
			current += v
		}
	}
	return total + current, seen
}

var romanNumerals = []struct {
	value int64
	s     string
}{{1000, "m"}, {900, "cm"}, {500, "d"}, {400, "cd"}, {100, "c"}, {90, "xc"}, {50, "l"}, {40, "xl"}, {10, "x"}, {9, "ix"}, {5, "v"}, {4, "iv"}, {1, "i"}}

func toRoman(n int64) string {
	var b strings.Builder
	for _, rn := range romanNumerals {
		for n >= rn.value {
			b.WriteString(rn.s)
			n -= rn.value
		}
	}
	return b.String()
}

func fromRoman(s string) (int64, bool) {
	s = strings.ToLower(s)
	var total int64
	for s != "" {
		matched := false
		for _, rn := range romanNumerals {
			if strings.HasPrefix(s, rn.s) {
				total += rn.value
				s = s[len(rn.s):]
				matched = true
				break
			}
		}
		if !matched {
			return 0, false
		}
	}
	return total, true
}

func toLetters(n int64, base rune) string {
	var out []rune
	for n > 0 {
		n--
		out = append([]rune{base + rune(n%26)}, out...)
		n /= 26
	}
	return string(out)
}

func fromLetters(s string, base rune) (int64, bool) {
	var n int64
	for _, r := range s {
		d := r - base
		if d < 0 || d >= 26 {
			return 0, false
		}
		n = n*26 + int64(d) + 1
	}
	return n, len(s) > 0
}

// integerPicture is an analysed format-integer picture.
type integerPicture struct {
	primary  string // "decimal", "a", "A", "i", "I", "w", "W", "Ww"
	ordinal  bool
	zero     rune // decimal digit family
	mandDigs int
	optDigs  int
	groups   []struct {
		pos int
		sep rune
	}
	regular int
}

func parseIntegerPicture(p string) (*integerPicture, error) {
	ip := &integerPicture{zero: '0'}
	primary := p
	if i := strings.LastIndexByte(p, ';'); i >= 0 {
		primary = p[:i]
		mod := p[i+1:]
		if strings.HasPrefix(mod, "o") {
			ip.ordinal = true
		}
	}
	switch primary {
	case "A", "a", "I", "i", "W", "w", "Ww":
		ip.primary = primary
		return ip, nil
	}
	ip.primary = "decimal"
	runes := []rune(primary)
	family := rune(-1)
	pos := 0
	for i := len(runes) - 1; i >= 0; i-- {
		r := runes[i]
		switch {
		case unicode.IsDigit(r):
			z := r - rune(digitValue(r))
			if family >= 0 && z != family {
				return nil, newError("D3131", 0, "", nil)
			}
			family = z
			ip.mandDigs++
			pos++
		case r == '#':
			ip.optDigs++
			pos++
		default:
			ip.groups = append(ip.groups, struct {
				pos int
				sep rune
			}{pos, r})
		}
	}
	if ip.mandDigs == 0 && ip.optDigs == 0 {
		return nil, newError("D3130", 0, "", map[string]any{"value": primary})
	}
	if family >= 0 {
		ip.zero = family
	}
	if n := len(ip.groups); n > 0 {
		g := ip.groups[0].pos
		regular := g > 0
		for i, gp := range ip.groups {
			if gp.pos != g*(i+1) || gp.sep != ip.groups[0].sep {
				regular = false
			}
		}
		if regular && (ip.mandDigs+ip.optDigs) <= g*(n+1) {
			ip.regular = g
		}
	}
	return ip, nil
}

func digitValue(r rune) int {
	for z := r; z >= r-9; z-- {
		if !unicode.IsDigit(z) {
			return int(r - z - 1)
		}
	}
	return int(r - (r - 9))
}

func ordinalSuffix(n int64) string {
	if n%100 >= 11 && n%100 <= 13 {
		return "th"
	}
	switch n % 10 {
	case 1:
		return "st"
	case 2:
		return "nd"
	case 3:
		return "rd"
	}
	return "th"
}

func formatInteger(v int64, ip *integerPicture) string {
	neg := v < 0
	if neg {
		v = -v
	}
	var s string
	switch ip.primary {
	case "A":
		s = toLetters(v, 'A')
	case "a":
		s = toLetters(v, 'a')
	case "I":
		s = strings.ToUpper(toRoman(v))
	case "i":
		s = toRoman(v)
	case "W", "w", "Ww":
		s = numberToWords(v, ip.ordinal)
		switch ip.primary {
		case "W":
			s = strings.ToUpper(s)
		case "w":
			s = strings.ToLower(s)
		}

	default:
		digits := strconv.FormatInt(v, 10)
		for len(digits) < ip.mandDigs {
			digits = "0" + digits
		}
		digits = substituteDigits(digits, ip.zero)
		rs := []rune(digits)
		var b []rune
		for i, r := range rs {
			fromRight := len(rs) - i
			if i > 0 {
				if ip.regular > 0 {
					if fromRight%ip.regular == 0 {
						b = append(b, ip.groups[0].sep)
					}
				} else {
					for _, g := range ip.groups {
						if g.pos == fromRight {
							b = append(b, g.sep)
						}
					}
				}
			}
			b = append(b, r)
		}
		s = string(b)
		if ip.ordinal {
			s += ordinalSuffix(v)
		}
	}
	if neg {
		s = "-" + s
	}
	return s
}

func fnFormatInteger(_ *call, a []any) (any, error) {
	if a[0] == undefined {
		return undefined, nil
	}
	v, _ := toNumber(a[0])
	pic, ok := a[1].(string)
	if !ok {
		return undefined, nil
	}
	ip, err := parseIntegerPicture(pic)
	if err != nil {
		return nil, err
	}
	return formatInteger(int64(math.Floor(v)), ip), nil
}

func fnParseInteger(_ *call, a []any) (any, error) {
	if a[0] == undefined {
		return undefined, nil
	}
	s := a[0].(string)
	pic, ok := a[1].(string)
	if !ok {
		return undefined, nil
	}
	ip, err := parseIntegerPicture(pic)
	if err != nil {
		return nil, err
	}
	var n int64
	ok = false
	switch ip.primary {
	case "A":
		n, ok = fromLetters(s, 'A')
	case "a":
		n, ok = fromLetters(s, 'a')
	case "I", "i":
		n, ok = fromRoman(s)
	case "W", "w", "Ww":
		n, ok = wordsToNumber(s)
	default:
		var b strings.Builder
		for _, r := range s {
			if unicode.IsDigit(r) {
				b.WriteRune('0' + rune(digitValue(r)))
			}
		}
		n, err = strconv.ParseInt(b.String(), 10, 64)
		ok = err == nil
	}
	if !ok {
		return undefined, nil
	}
	return float64(n), nil
}
