package schedule

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCronNextMatchesBruteForce checks the field-skipping search of Next
// against a minute-by-minute walk of real instants: an instant fires when
// its wall clock matches the fields and has not been seen before (so a
// repeated hour fires once and a skipped one never).
func TestCronNextMatchesBruteForce(t *testing.T) {
	t.Parallel()
	exprs := []string{
		"cron(*/7 * * * ? *)", "cron(0 * * * ? *)", "cron(30 1,2 * * ? *)", "cron(15,45 0-3 ? * SUN *)",
		"cron(0 2 L * ? *)", "cron(59 23 ? * 1#1 *)", "cron(0 0-23/5 ? * 6L *)", "cron(10 1 LW * ? *)",
	}
	windows := []struct{ zone, from string }{
		{"America/New_York", "2027-03-13T00:00:00Z"},
		{"America/New_York", "2027-11-06T00:00:00Z"},
		{"Europe/Paris", "2027-10-30T00:00:00Z"},
		{"Australia/Lord_Howe", "2027-04-03T00:00:00Z"}, // 30-minute DST shift
		{"UTC", "2028-02-27T00:00:00Z"},
	}
	for _, expr := range exprs {
		for _, w := range windows {
			s, err := Parse(expr, w.zone)
			require.NoError(t, err)
			from, err := time.Parse(time.RFC3339, w.from)
			require.NoError(t, err)
			to := from.Add(72 * time.Hour)

			var want []time.Time
			seen := map[time.Time]bool{}
			for m := from.Add(-26 * time.Hour); m.Before(to); m = m.Add(time.Minute) {
				l := m.In(s.Location)
				wall := time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), 0, 0, time.UTC)
				first := !seen[wall]
				seen[wall] = true
				c := s.cron
				if first && m.After(from) && c.minutes.has(l.Minute()) && c.hours.has(l.Hour()) && c.months.has(int(l.Month())) &&
					c.years.has(l.Year()) && c.day.matches(l.Year(), l.Month(), l.Day()) {
					want = append(want, m)
				}
			}
			var got []time.Time
			for after := from; ; {
				n, ok := s.Next(after)
				if !ok || !n.Before(to) {
					break
				}
				got = append(got, n.UTC())
				after = n
			}
			for i := range want {
				want[i] = want[i].UTC()
			}
			require.Equal(t, want, got, "%s in %s from %s", expr, w.zone, w.from)
		}
	}
}
