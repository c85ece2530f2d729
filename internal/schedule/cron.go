package schedule

import (
	"strconv"
	"strings"
	"time"
)

// field describes one cron field for parsing and error messages.
type field struct {
	name     string
	min, max int
	names    []string // names[i] is the value min+i, e.g. JAN for 1
	allowed  string   // wildcards, for messages
}

var (
	minutesField = field{name: "minutes", min: 0, max: 59, allowed: ", - * /"}
	hoursField   = field{name: "hours", min: 0, max: 23, allowed: ", - * /"}
	domField     = field{name: "day-of-month", min: 1, max: 31, allowed: ", - * ? / L W"}
	monthField   = field{name: "month", min: 1, max: 12, allowed: ", - * /",
		names: []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}}
	dowField = field{name: "day-of-week", min: 1, max: 7, allowed: ", - * ? L #",
		names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}}
	yearField = field{name: "year", min: MinYear, max: MaxYear, allowed: ", - * /"}
)

func (f field) rangeText() string {
	s := strconv.Itoa(f.min) + "-" + strconv.Itoa(f.max)
	if f.names != nil {
		s += " or " + f.names[0] + "-" + f.names[len(f.names)-1]
	}
	return s
}

// set is the allowed values of a field, indexed from the field's min.
type set struct {
	min  int
	bits []bool
}

func newSet(f field) set { return set{min: f.min, bits: make([]bool, f.max-f.min+1)} }

func (s set) has(v int) bool {
	i := v - s.min
	return i >= 0 && i < len(s.bits) && s.bits[i]
}

// nextFrom returns the smallest allowed value >= v, or false.
func (s set) nextFrom(v int) (int, bool) {
	for i := max(v-s.min, 0); i < len(s.bits); i++ {
		if s.bits[i] {
			return s.min + i, true
		}
	}
	return 0, false
}

// dayRule is the day-of-month or day-of-week part of a cron expression
// (the other one is "?").
type dayRule struct {
	byDOW bool

	days        set  // day-of-month values
	lastDay     bool // L
	lastWeekday bool // LW
	nearest     int  // nW; 0 if unused

	weekdays set          // day-of-week values, 1 = Sunday
	lastOf   time.Weekday // nL: the last such weekday of the month
	hasLast  bool
	nth      int // n#k: k-th weekday nthDay of the month
	nthDay   time.Weekday
}

type cronSpec struct {
	minutes, hours, months, years set
	day                           dayRule
}

func parseCron(body string) (*cronSpec, error) {
	f := strings.Fields(body)
	if len(f) != 6 {
		return nil, invalid("cron(%s): want six fields \"minutes hours day-of-month month day-of-week year\", got %d; e.g. cron(0 9 ? * MON-FRI *)", body, len(f))
	}
	c := &cronSpec{}
	var err error
	if c.minutes, err = parseList(f[0], minutesField); err != nil {
		return nil, err
	}
	if c.hours, err = parseList(f[1], hoursField); err != nil {
		return nil, err
	}
	if c.months, err = parseList(f[3], monthField); err != nil {
		return nil, err
	}
	if c.years, err = parseList(f[5], yearField); err != nil {
		return nil, err
	}
	dom, dow := f[2], f[4]
	switch {
	case dom == "?" && dow == "?":
		return nil, invalid("cron(%s): only one of day-of-month and day-of-week may be ?; put the days in the other", body)
	case dom != "?" && dow != "?":
		return nil, invalid("cron(%s): one of day-of-month (%s) and day-of-week (%s) must be ?, e.g. cron(0 9 * * ? *) or cron(0 9 ? * MON *)", body, dom, dow)
	case dow == "?":
		c.day, err = parseDOM(dom)
	default:
		c.day, err = parseDOW(dow)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

func fieldErr(f field, tok, format string, args ...any) error {
	msg := "cron " + f.name + " field \"" + tok + "\": " + format
	return invalid(msg+" (allowed: values "+f.rangeText()+", wildcards "+f.allowed+")", args...)
}

// value parses a number or a name of f.
func (f field) value(tok, whole string) (int, error) {
	if n, err := strconv.Atoi(tok); err == nil {
		if n < f.min || n > f.max {
			return 0, fieldErr(f, whole, "%d is outside %d-%d", n, f.min, f.max)
		}
		return n, nil
	}
	for i, name := range f.names {
		if strings.EqualFold(tok, name) {
			return f.min + i, nil
		}
	}
	if tok == "" {
		return 0, fieldErr(f, whole, "a value is missing")
	}
	return 0, fieldErr(f, whole, "%q is not a value", tok)
}

// parseList parses a comma list of *, n, a-b, with an optional /step.
func parseList(tok string, f field) (set, error) {
	s := newSet(f)
	if tok == "?" {
		return s, fieldErr(f, tok, "? is only allowed in day-of-month or day-of-week")
	}
	for item := range strings.SplitSeq(tok, ",") {
		rng, stepText, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n <= 0 {
				return s, fieldErr(f, tok, "step %q must be a positive whole number", stepText)
			}
			step = n
		}
		lo, hi := f.min, f.max
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			var err error
			if lo, err = f.value(a, tok); err != nil {
				return s, err
			}
			if hi, err = f.value(b, tok); err != nil {
				return s, err
			}
			if lo > hi {
				return s, fieldErr(f, tok, "range %s goes backwards; write it low-high", rng)
			}
		default:
			v, err := f.value(rng, tok)
			if err != nil {
				return s, err
			}
			lo = v
			if !hasStep {
				hi = v
			}
		}
		step = min(step, f.max-f.min+1) // a larger step selects lo alone
		for v := lo; v <= hi; v += step {
			s.bits[v-f.min] = true
		}
	}
	return s, nil
}

func parseDOM(tok string) (dayRule, error) {
	r := dayRule{}
	up := strings.ToUpper(tok)
	switch {
	case up == "L":
		r.lastDay = true
		return r, nil
	case up == "LW":
		r.lastWeekday = true
		return r, nil
	case strings.HasSuffix(up, "W"):
		n, err := strconv.Atoi(up[:len(up)-1])
		if err != nil || n < 1 || n > 31 {
			return r, fieldErr(domField, tok, "W follows one day 1-31, e.g. 15W (the weekday nearest the 15th)")
		}
		r.nearest = n
		return r, nil
	case strings.ContainsAny(up, "LW"):
		return r, fieldErr(domField, tok, "L and W stand alone (L, LW, 15W), not in lists or ranges")
	case strings.Contains(up, "#"):
		return r, fieldErr(domField, tok, "# belongs in day-of-week, e.g. 2#1 for the first Monday")
	}
	s, err := parseList(tok, domField)
	r.days = s
	return r, err
}

func parseDOW(tok string) (dayRule, error) {
	r := dayRule{byDOW: true}
	up := strings.ToUpper(tok)
	switch {
	case strings.Contains(up, "/"):
		return r, fieldErr(dowField, tok, "/ is not allowed in day-of-week; list the days, e.g. MON,WED,FRI")
	case strings.Contains(up, "#"):
		d, k, _ := strings.Cut(up, "#")
		if strings.Contains(tok, ",") {
			return r, fieldErr(dowField, tok, "# allows one expression only, e.g. 3#2, not a list")
		}
		v, err := dowField.value(d, tok)
		if err != nil {
			return r, err
		}
		n, err := strconv.Atoi(k)
		if err != nil || n < 1 || n > 5 {
			return r, fieldErr(dowField, tok, "the week after # must be 1-5, e.g. 3#2 for the second Tuesday")
		}
		r.nth, r.nthDay = n, time.Weekday(v-1)
		return r, nil
	case up == "L":
		// The last day of the week: Saturday.
		r.weekdays = newSet(dowField)
		r.weekdays.bits[6] = true
		return r, nil
	case strings.HasSuffix(up, "L"):
		v, err := dowField.value(up[:len(up)-1], tok)
		if err != nil {
			return r, err
		}
		r.hasLast, r.lastOf = true, time.Weekday(v-1)
		return r, nil
	case strings.Contains(up, "L"):
		return r, fieldErr(dowField, tok, "L stands alone or after one day, e.g. 6L for the last Friday")
	}
	s, err := parseList(tok, dowField)
	r.weekdays = s
	return r, err
}

func daysIn(year int, month time.Month) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func weekday(year int, month time.Month, day int) time.Weekday {
	return time.Date(year, month, day, 0, 0, 0, 0, time.UTC).Weekday()
}

// matches reports whether the rule selects day of year/month.
func (r dayRule) matches(year int, month time.Month, day int) bool {
	last := daysIn(year, month)
	wd := weekday(year, month, day)
	if r.byDOW {
		switch {
		case r.nth > 0:
			return wd == r.nthDay && (day-1)/7+1 == r.nth
		case r.hasLast:
			return wd == r.lastOf && day+7 > last
		}
		return r.weekdays.has(int(wd) + 1)
	}
	switch {
	case r.lastDay:
		return day == last
	case r.lastWeekday:
		return day == nearestWeekday(year, month, last)
	case r.nearest > 0:
		return r.nearest <= last && day == nearestWeekday(year, month, r.nearest)
	}
	return r.days.has(day)
}

// nearestWeekday is the Monday-Friday day closest to day, in the same month.
func nearestWeekday(year int, month time.Month, day int) int {
	last := daysIn(year, month)
	switch weekday(year, month, day) {
	case time.Saturday:
		if day == 1 {
			return 3 // Monday the 3rd
		}
		return day - 1
	case time.Sunday:
		if day == last {
			return day - 2 // Friday
		}
		return day + 1
	}
	return day
}

// next returns the first fire time after after. It walks wall-clock
// fields in loc from the minute after after; wall times that do not exist
// (clocks forward) are skipped, repeated ones fire at their first instant.
func (c *cronSpec) next(after time.Time, loc *time.Location) (time.Time, bool) {
	l := after.In(loc)
	// Wall clock as a UTC time, so arithmetic has no DST.
	w := time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), 0, 0, time.UTC).Add(time.Minute)
	if w.Year() < MinYear {
		w = time.Date(MinYear, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	for w.Year() <= MaxYear {
		y, mo, d := w.Date()
		if !c.years.has(y) {
			ny, ok := c.years.nextFrom(y + 1)
			if !ok {
				return time.Time{}, false
			}
			w = time.Date(ny, 1, 1, 0, 0, 0, 0, time.UTC)
			continue
		}
		if !c.months.has(int(mo)) {
			nm, ok := c.months.nextFrom(int(mo) + 1)
			if !ok {
				w = time.Date(y+1, 1, 1, 0, 0, 0, 0, time.UTC)
			} else {
				w = time.Date(y, time.Month(nm), 1, 0, 0, 0, 0, time.UTC)
			}
			continue
		}
		if !c.day.matches(y, mo, d) {
			w = time.Date(y, mo, d+1, 0, 0, 0, 0, time.UTC)
			continue
		}
		h, mi := w.Hour(), w.Minute()
		if !c.hours.has(h) {
			nh, ok := c.hours.nextFrom(h + 1)
			if !ok {
				w = time.Date(y, mo, d+1, 0, 0, 0, 0, time.UTC)
			} else {
				w = time.Date(y, mo, d, nh, 0, 0, 0, time.UTC)
			}
			continue
		}
		if !c.minutes.has(mi) {
			nmi, ok := c.minutes.nextFrom(mi + 1)
			if !ok {
				w = time.Date(y, mo, d, h+1, 0, 0, 0, time.UTC)
			} else {
				w = time.Date(y, mo, d, h, nmi, 0, 0, time.UTC)
			}
			continue
		}
		if t, ok := firstInstant(w, loc); ok && t.After(after) {
			return t, true
		}
		w = w.Add(time.Minute)
	}
	return time.Time{}, false
}

// firstInstant returns the earliest instant whose wall clock in loc is
// wall (given as a UTC time); false when clocks skip wall.
func firstInstant(wall time.Time, loc *time.Location) (time.Time, bool) {
	var best time.Time
	found := false
	seen := map[int]bool{}
	for _, probe := range []time.Duration{-36 * time.Hour, 0, 36 * time.Hour} {
		_, off := wall.Add(probe).In(loc).Zone()
		if seen[off] {
			continue
		}
		seen[off] = true
		t := wall.Add(-time.Duration(off) * time.Second).In(loc)
		if _, o := t.Zone(); o != off {
			continue
		}
		if !found || t.Before(best) {
			best, found = t, true
		}
	}
	return best, found
}
