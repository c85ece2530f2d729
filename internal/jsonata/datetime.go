package jsonata

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Date and time functions with XPath fn:format-dateTime picture strings.

var (
	monthNames = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	dayNames   = []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}
)

const isoPicture = "[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001][Z01:01t]"

// dtMarker is one [component presentation,width] marker, or literal text.
type dtMarker struct {
	literal     string
	component   byte
	pres        string // presentation: digits pattern, N n Nn, I i, W w Ww, ...
	ordinal     bool
	traditional bool
	minWidth    int
	maxWidth    int
}

func parseDatePicture(p string) ([]dtMarker, error) {
	var out []dtMarker
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			out = append(out, dtMarker{literal: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '[' {
			if i+1 < len(p) && p[i+1] == '[' {
				lit.WriteByte('[')
				i++
				continue
			}
			end := strings.IndexByte(p[i:], ']')
			if end < 0 {
				return nil, newError("D3135", 0, "", nil)
			}
			flush()
			m, err := parseMarker(p[i+1 : i+end])
			if err != nil {
				return nil, err
			}
			out = append(out, m)
			i += end
			continue
		}
		if c == ']' && i+1 < len(p) && p[i+1] == ']' {
			i++
		}
		lit.WriteByte(c)
	}
	flush()
	return out, nil
}

func parseMarker(s string) (dtMarker, error) {
	s = strings.Join(strings.Fields(s), "")
	m := dtMarker{minWidth: -1, maxWidth: -1}
	if s == "" {
		return m, newError("D3132", 0, "", map[string]any{"value": ""})
	}
	m.component = s[0]
	if !strings.ContainsRune("YMDdFWwXxHhPmsfZzCE", rune(m.component)) {
		return m, newError("D3132", 0, "", map[string]any{"value": string(m.component)})
	}
	rest := s[1:]
	if i := strings.LastIndexByte(rest, ','); i >= 0 {
		w := rest[i+1:]
		rest = rest[:i]
		lo, hi, _ := strings.Cut(w, "-")
		if lo != "*" && lo != "" {
			m.minWidth, _ = strconv.Atoi(lo)
		}
		if hi != "*" && hi != "" {
			m.maxWidth, _ = strconv.Atoi(hi)
		}
	}
	if strings.HasSuffix(rest, "o") && rest != "o" {
		m.ordinal = true
		rest = rest[:len(rest)-1]
	} else if strings.HasSuffix(rest, "t") && len(rest) > 1 {
		m.traditional = true
		rest = rest[:len(rest)-1]
	}
	if rest == "" {
		switch m.component {
		case 'F', 'P', 'C', 'E':
			rest = "n"
		case 'm', 's':
			rest = "01"
		case 'Z', 'z':
			rest = "01:01"
		default:
			rest = "1"
		}
	}
	m.pres = rest
	if (rest == "N" || rest == "n" || rest == "Nn") && !strings.ContainsRune("MFPCEd", rune(m.component)) && m.component != 'x' {
		return m, newError("D3133", 0, "", map[string]any{"value": string(m.component)})
	}
	return m, nil
}

// parseTimezone parses "+hhmm", "-hh:mm" or "Z"-style offsets (minutes).
func parseTimezone(s string) (int, bool) {
	s = strings.ReplaceAll(s, ":", "")
	if len(s) < 2 {
		return 0, false
	}
	sign := 1
	switch s[0] {
	case '+':
		s = s[1:]
	case '-':
		sign = -1
		s = s[1:]
	}
	if len(s) <= 2 {
		h, err := strconv.Atoi(s)
		return sign * h * 60, err == nil
	}
	h, err1 := strconv.Atoi(s[:len(s)-2])
	m, err2 := strconv.Atoi(s[len(s)-2:])
	return sign * (h*60 + m), err1 == nil && err2 == nil
}

func fnNow(c *call, a []any) (any, error) {
	return formatMillis(c.ev.now.UnixMilli(), a[0], a[1])
}

func fnFromMillis(_ *call, a []any) (any, error) {
	if a[0] == undefined {
		return undefined, nil
	}
	f, _ := toNumber(a[0])
	return formatMillis(int64(f), a[1], a[2])
}

func formatMillis(ms int64, picture, tz any) (any, error) {
	t := time.UnixMilli(ms).UTC()
	pic, hasPic := picture.(string)
	tzs, hasTZ := tz.(string)
	if !hasPic && !hasTZ {
		return t.Format("2006-01-02T15:04:05.000Z"), nil
	}
	if !hasPic {
		pic = isoPicture
	}
	offset := 0
	if hasTZ {
		o, ok := parseTimezone(tzs)
		if !ok {
			return nil, newError("D3137", 0, "", map[string]any{"message": "invalid timezone " + tzs})
		}
		offset = o
	}
	t = t.In(time.FixedZone("", offset*60))
	markers, err := parseDatePicture(pic)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	for _, m := range markers {
		if m.component == 0 {
			b.WriteString(m.literal)
			continue
		}
		s, err := formatComponent(t, m, offset)
		if err != nil {
			return nil, err
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

func isoWeek(t time.Time) (int, int) { return t.ISOWeek() }

func formatComponent(t time.Time, m dtMarker, offset int) (string, error) {
	var value int
	switch m.component {
	case 'Y':
		value = t.Year()
	case 'M':
		value = int(t.Month())
	case 'D':
		value = t.Day()
	case 'd':
		value = t.YearDay()
	case 'F':
		value = (int(t.Weekday())+6)%7 + 1
	case 'W':
		_, value = isoWeek(t)
	case 'w':
		// Week of the month: ISO weeks counted from the month's first Monday week.
		first := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, t.Location())
		offsetDays := (int(first.Weekday()) + 6) % 7
		value = (t.Day()+offsetDays-1)/7 + 1
		if offsetDays > 3 {
			value--
		}
	case 'X':
		value, _ = isoWeek(t)
	case 'x':
		value = int(t.Month())
	case 'H':
		value = t.Hour()
	case 'h':
		value = t.Hour() % 12
		if value == 0 {
			value = 12
		}
	case 'P':
		ampm := "am"
		if t.Hour() >= 12 {
			ampm = "pm"
		}
		return applyCase(ampm, m.pres), nil
	case 'm':
		value = t.Minute()
	case 's':
		value = t.Second()
	case 'f':
		ms := t.Nanosecond() / int(time.Millisecond)
		digits := len(strings.TrimLeft(m.pres, "#"))
		if digits == 0 {
			digits = 1
		}
		s := strconv.Itoa(1000 + ms)[1:]
		if digits <= 3 {
			return s[:digits], nil
		}
		return s + strings.Repeat("0", digits-3), nil
	case 'Z', 'z':
		return formatTimezone(m, offset), nil
	case 'C':
		return "ISO", nil
	case 'E':
		return "ISO", nil
	}
	switch m.pres {
	case "N", "n", "Nn":
		var name string
		switch m.component {
		case 'M', 'x':
			name = monthNames[value-1]
		case 'F':
			name = dayNames[value-1]
		default:
			name = strconv.Itoa(value)
		}
		if m.maxWidth > 0 && len(name) > m.maxWidth {
			name = name[:m.maxWidth]
		}
		return applyCase(name, m.pres), nil
	}
	if m.component == 'Y' {
		width := countDigits(m.pres)
		if m.maxWidth > 0 {
			width = m.maxWidth
		} else if m.minWidth > 0 {
			width = m.minWidth
		}
		if width == 2 {
			value %= 100
		}
	}
	ip, err := parseIntegerPicture(m.pres)
	if err != nil {
		return "", err
	}
	ip.ordinal = m.ordinal
	s := formatInteger(int64(value), ip)
	if m.minWidth > 0 {
		for len([]rune(s)) < m.minWidth {
			s = "0" + s
		}
	}
	if m.component == 'Y' && m.maxWidth > 0 && len(s) > m.maxWidth {
		s = s[len(s)-m.maxWidth:]
	}
	return s, nil
}

func countDigits(p string) int {
	n := 0
	for _, r := range p {
		if r >= '0' && r <= '9' {
			n++
		}
	}
	return n
}

func applyCase(s, pres string) string {
	switch pres {
	case "N":
		return strings.ToUpper(s)
	case "n":
		return strings.ToLower(s)
	}
	return s
}

func formatTimezone(m dtMarker, offset int) string {
	if m.traditional && offset == 0 {
		return "Z"
	}
	sign := "+"
	if offset < 0 {
		sign = "-"
		offset = -offset
	}
	h, mm := offset/60, offset%60
	pres := m.pres
	var s string
	switch {
	case strings.Contains(pres, ":"):
		hp, _, _ := strings.Cut(pres, ":")
		hs := strconv.Itoa(h)
		for len(hs) < len(hp) {
			hs = "0" + hs
		}
		s = hs + ":" + strconv.Itoa(100 + mm)[1:]
	case len(pres) <= 2:
		hs := strconv.Itoa(h)
		for len(hs) < len(pres) {
			hs = "0" + hs
		}
		s = hs
		if mm != 0 {
			s += ":" + strconv.Itoa(100 + mm)[1:]
		}
	default:
		s = strconv.Itoa(10000 + h*100 + mm)[1:]
		for len(s) > len(pres) && s[0] == '0' {
			s = s[1:]
		}
	}
	if m.component == 'z' {
		return "GMT" + sign + s
	}
	return sign + s
}

// isoDateRE is the ISO 8601 form $toMillis accepts without a picture (as
// jsonata-js checks it): a time needs its seconds.
var isoDateRE = regexp.MustCompile(`^(\d{4})(?:-([01]\d)(?:-([0-3]\d)(?:T([0-2]\d):([0-5]\d):([0-5]\d)(?:\.(\d+))?)?)?)?(Z|[+-][0-2]\d:?[0-5]\d)?$`)

func fnToMillis(_ *call, a []any) (any, error) {
	if a[0] == undefined {
		return undefined, nil
	}
	s := a[0].(string)
	if pic, ok := a[1].(string); ok {
		return parseWithPicture(s, pic)
	}
	m := isoDateRE.FindStringSubmatch(s)
	if m == nil {
		return nil, newError("D3110", 0, "toMillis", map[string]any{"value": s})
	}
	num := func(i, def int) int {
		if m[i] == "" {
			return def
		}
		v, _ := strconv.Atoi(m[i])
		return v
	}
	ms := 0
	if m[7] != "" {
		frac := (m[7] + "000")[:3]
		ms, _ = strconv.Atoi(frac)
	}
	offset := 0
	if m[8] != "" && m[8] != "Z" {
		offset, _ = parseTimezone(m[8])
	}
	t := time.Date(num(1, 0), time.Month(num(2, 1)), num(3, 1), num(4, 0), num(5, 0), num(6, 0), ms*int(time.Millisecond), time.UTC)
	return float64(t.UnixMilli() - int64(offset)*60000), nil
}

// parseWithPicture parses a timestamp laid out as picture describes.
func parseWithPicture(s, picture string) (any, error) {
	markers, err := parseDatePicture(picture)
	if err != nil {
		return nil, err
	}
	vals := map[byte]int{}
	pm := -1
	offset := 0
	pos := 0
	for i, m := range markers {
		if m.component == 0 {
			if !strings.HasPrefix(s[pos:], m.literal) {
				return undefined, nil
			}
			pos += len(m.literal)
			continue
		}
		// A component runs to the next literal, or for digit pictures as
		// far as its digits go.
		end := len(s)
		if i+1 < len(markers) && markers[i+1].component == 0 {
			if j := strings.Index(s[pos:], markers[i+1].literal); j >= 0 {
				end = pos + j
			}
		} else if d := countDigits(m.pres); d > 0 && m.pres != "Nn" {
			end = min(pos+d, len(s))
			if i+1 == len(markers) {
				end = len(s)
			}
		}
		text := s[pos:end]
		pos = end
		switch m.component {
		case 'P':
			pm = 0
			if strings.EqualFold(text, "pm") {
				pm = 1
			}
			continue
		case 'Z', 'z':
			text = strings.TrimPrefix(text, "GMT")
			if text == "Z" {
				continue
			}
			o, ok := parseTimezone(text)
			if !ok {
				return undefined, nil
			}
			offset = o
			continue
		}
		switch m.pres {
		case "N", "n", "Nn":
			found := false
			names := monthNames
			if m.component == 'F' {
				names = dayNames
			}
			for k, nm := range names {
				if strings.EqualFold(nm, text) || (len(text) >= 3 && strings.HasPrefix(strings.ToLower(nm), strings.ToLower(text))) {
					vals[m.component] = k + 1
					found = true
					break
				}
			}
			if !found {
				return undefined, nil
			}
			continue
		}
		ip, err := parseIntegerPicture(m.pres)
		if err != nil {
			return nil, err
		}
		if m.ordinal {
			text = strings.TrimRight(text, "stndrh")
		}
		v, err := fnParseInteger(nil, []any{text, m.pres})
		if err != nil || v == undefined {
			return undefined, nil
		}
		_ = ip
		vals[m.component] = int(v.(float64))
	}
	if _, ok := vals['Y']; !ok {
		if _, ok := vals['d']; !ok {
			return nil, newError("D3136", 0, "", nil)
		}
	}
	get := func(c byte, def int) int {
		if v, ok := vals[c]; ok {
			return v
		}
		return def
	}
	hour := get('H', 0)
	if h, ok := vals['h']; ok {
		hour = h % 12
		if pm == 1 {
			hour += 12
		}
	}
	t := time.Date(get('Y', 1970), time.Month(get('M', 1)), get('D', 1), hour, get('m', 0), get('s', 0), 0, time.UTC)
	if d, ok := vals['d']; ok {
		t = time.Date(get('Y', 1970), 1, d, hour, get('m', 0), get('s', 0), 0, time.UTC)
	}
	ms := t.UnixMilli() - int64(offset)*60000
	if f, ok := vals['f']; ok {
		ms += int64(f)
	}
	return float64(ms), nil
}
