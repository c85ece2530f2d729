package schedule_test

import (
	"testing"
	"time"

	"github.com/turbocat/turbocat/internal/schedule"
)

func BenchmarkNext(b *testing.B) {
	after := time.Date(2026, 11, 26, 10, 37, 0, 0, time.UTC)
	for _, expr := range []string{
		"cron(0/15 * * * ? *)",
		"cron(0 9 ? * MON#5 *)",
		"cron(30 2 * * ? *)",
		"cron(0 12 29 2 ? 2100)", // never fires: walks to the end of 2100
	} {
		s, err := schedule.Parse(expr, "America/New_York")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(expr, func(b *testing.B) {
			for b.Loop() {
				s.Next(after)
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		if _, err := schedule.Parse("cron(0/5 8-18 ? * MON-FRI 2026-2030)", "Europe/Paris"); err != nil {
			b.Fatal(err)
		}
	}
}
