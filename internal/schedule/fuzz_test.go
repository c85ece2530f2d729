package schedule_test

import (
	"testing"
	"time"

	"github.com/turbocat/turbocat/internal/schedule"
)

var fuzzZones = []string{"", "America/New_York", "Europe/Paris", "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Chatham"}

// FuzzParse checks that Parse never panics and that whatever parses fires
// at strictly increasing times after the instant asked about.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"cron(0 10 * * ? *)", "cron(0/15 * * * ? *)", "cron(5/20 9-10 * * ? *)", "cron(0 0 L * ? *)",
		"cron(0 9 15W * ? *)", "cron(0 9 LW * ? *)", "cron(0 9 ? * 3#2 *)", "cron(0 17 ? * 6L *)",
		"cron(30 2 * * ? *)", "cron(0 12 29 2 ? 2100)", "cron(* * * * ? *)", "cron(0 0 1 JAN,JUL ? 2027,2199)",
		"rate(1 minute)", "rate(7 days)", "at(2027-03-01T09:30:00)", "cron(0 0 ? * 1#5 2199)", "cron(59 23 31 12 ? 2199)",
	} {
		f.Add(s, uint8(1), int64(1_800_000_000))
	}
	f.Fuzz(func(t *testing.T, expr string, zone uint8, afterUnix int64) {
		s, err := schedule.Parse(expr, fuzzZones[int(zone)%len(fuzzZones)])
		if err != nil {
			return
		}
		after := time.Unix(afterUnix%(400*365*86400), 0)
		for range 5 {
			next, ok := s.Next(after)
			if !ok {
				return
			}
			if !next.After(after) {
				t.Fatalf("%s: Next(%s) = %s, not after it", expr, after, next)
			}
			after = next
		}
	})
}
