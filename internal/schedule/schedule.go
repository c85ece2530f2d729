// Package schedule parses and evaluates Amazon EventBridge Scheduler
// schedule expressions, so Turbocat validates a deployment's schedule before
// it reaches AWS and the local runtime fires it at the same times:
//
//	cron(minutes hours day-of-month month day-of-week year)
//	rate(value unit)              unit: minute|minutes|hour|hours|day|days
//	at(yyyy-mm-ddThh:mm:ss)
//
// Expressions are evaluated in an IANA time zone. Like EventBridge
// Scheduler, a cron time that does not exist because clocks move forward
// is skipped, and a time that occurs twice because clocks move back fires
// once, at its first occurrence; rate days are 24-hour durations.
package schedule

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	// Lambda images carry no zoneinfo: embed it.
	_ "time/tzdata"

	"github.com/turbocat/turbocat/internal/turbocat"
)

// Kind is the type of a schedule expression.
type Kind string

// Kinds of schedule expressions.
const (
	KindCron Kind = "cron"
	KindRate Kind = "rate"
	KindAt   Kind = "at"
)

// Year bounds of cron expressions.
const (
	MinYear = 1970
	MaxYear = 2199
)

// Schedule is a parsed schedule expression in a time zone.
type Schedule struct {
	// Expr is the expression as given, trimmed.
	Expr string
	Kind Kind
	// Location is the time zone the expression is evaluated in.
	Location *time.Location

	// Every is the interval of a rate expression.
	Every time.Duration
	// Start anchors a rate expression: it fires at Start + k·Every. It
	// defaults to the Unix epoch, so rate(5 minutes) fires on multiples of
	// five minutes; set it to the schedule's start date to match
	// EventBridge Scheduler, which counts from the start.
	Start time.Time

	// At is the instant of an at expression.
	At time.Time

	cron *cronSpec
}

// Parse parses a schedule expression to evaluate in the IANA time zone tz
// ("" means UTC). Errors are EVALIDATION *turbocat.Error values whose
// message names the field at fault and what it allows.
func Parse(expr, tz string) (*Schedule, error) {
	loc, err := loadLocation(tz)
	if err != nil {
		return nil, err
	}
	e := strings.TrimSpace(expr)
	s := &Schedule{Expr: e, Location: loc, Start: time.Unix(0, 0).UTC()}
	open := strings.IndexByte(e, '(')
	if open < 0 || !strings.HasSuffix(e, ")") {
		return nil, invalid("schedule %q must be cron(...), rate(...) or at(...)", expr)
	}
	body := strings.TrimSpace(e[open+1 : len(e)-1])
	switch kind := strings.TrimSpace(e[:open]); kind {
	case "cron":
		s.Kind = KindCron
		s.cron, err = parseCron(body)
	case "rate":
		s.Kind = KindRate
		s.Every, err = parseRate(body)
	case "at":
		s.Kind = KindAt
		s.At, err = parseAt(body, loc)
	default:
		return nil, invalid("schedule %q: unknown expression type %q; use cron(...), rate(...) or at(...)", expr, kind)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

func invalid(format string, args ...any) *turbocat.Error {
	return turbocat.Errorf(turbocat.EVALIDATION, format, args...)
}

func loadLocation(tz string) (*time.Location, error) {
	if tz == "" || tz == "UTC" {
		return time.UTC, nil
	}
	if tz == "Local" || strings.HasPrefix(tz, "/") || strings.Contains(tz, "..") {
		return nil, invalid("time zone %q: use an IANA name such as Europe/Paris or America/New_York", tz)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, &turbocat.Error{Code: turbocat.EVALIDATION,
			Message: fmt.Sprintf("time zone %q is not an IANA time zone; use a name such as Europe/Paris or America/New_York", tz), Err: err}
	}
	return loc, nil
}

func parseRate(body string) (time.Duration, error) {
	f := strings.Fields(body)
	if len(f) != 2 {
		return 0, invalid("rate(%s): want rate(value unit), e.g. rate(5 minutes) or rate(1 hour)", body)
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n <= 0 {
		return 0, invalid("rate(%s): value %q must be a positive whole number", body, f[0])
	}
	units := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}
	unit := f[1]
	singular := strings.TrimSuffix(unit, "s")
	d, ok := units[singular]
	if !ok {
		return 0, invalid("rate(%s): unit %q must be minute(s), hour(s) or day(s)", body, unit)
	}
	if n == 1 && unit != singular {
		return 0, invalid("rate(%s): with value 1 the unit is singular: rate(1 %s)", body, singular)
	}
	if n > 1 && unit == singular {
		return 0, invalid("rate(%s): with value %d the unit is plural: rate(%d %ss)", body, n, n, singular)
	}
	const maxRate = 1_000_000_000 // bounds the duration far below overflow
	if n > maxRate {
		return 0, invalid("rate(%s): value %d is too large", body, n)
	}
	return time.Duration(n) * d, nil
}

var atRE = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$`)

// parseAt parses the local date-time of an at expression. A time that
// occurs twice (clocks back) is its first occurrence; a time that clocks
// skip (forward) is read with the offset before the skip, so it fires as
// many minutes after the skip as it was after its start.
func parseAt(body string, loc *time.Location) (time.Time, error) {
	if !atRE.MatchString(body) {
		return time.Time{}, invalid("at(%s): want at(yyyy-mm-ddThh:mm:ss), e.g. at(2027-03-01T09:30:00)", body)
	}
	wall, err := time.Parse("2006-01-02T15:04:05", body)
	if err != nil {
		var pe *time.ParseError
		reason := err.Error()
		if errors.As(err, &pe) && pe.Message != "" {
			reason = strings.TrimPrefix(pe.Message, ": ")
		}
		return time.Time{}, &turbocat.Error{Code: turbocat.EVALIDATION,
			Message: fmt.Sprintf("at(%s): no such date and time (%s)", body, reason), Err: err}
	}
	if t, ok := firstInstant(wall, loc); ok {
		return t, nil
	}
	_, before := wall.Add(-36 * time.Hour).In(loc).Zone()
	return wall.Add(-time.Duration(before) * time.Second).In(loc), nil
}

// Next returns the first fire time strictly after after, in the
// schedule's time zone; false when the schedule never fires again (an at
// time passed, or a cron expression past its last year).
func (s *Schedule) Next(after time.Time) (time.Time, bool) {
	switch s.Kind {
	case KindAt:
		if s.At.After(after) {
			return s.At, true
		}
		return time.Time{}, false
	case KindRate:
		return s.nextRate(after)
	case KindCron:
		return s.cron.next(after, s.Location)
	}
	return time.Time{}, false
}

// NextN returns up to n fire times after after, in increasing order.
func (s *Schedule) NextN(after time.Time, n int) []time.Time {
	var out []time.Time
	for len(out) < n {
		t, ok := s.Next(after)
		if !ok {
			break
		}
		out = append(out, t)
		after = t
	}
	return out
}

func (s *Schedule) nextRate(after time.Time) (time.Time, bool) {
	start := s.Start.Truncate(time.Second)
	if after.Before(start) {
		return start.In(s.Location), true
	}
	step := int64(s.Every / time.Second)
	k := (after.Unix()-start.Unix())/step + 1
	next := time.Unix(start.Unix()+k*step, 0)
	if !next.After(after) { // guards overflow at absurd instants
		return time.Time{}, false
	}
	return next.In(s.Location), true
}
