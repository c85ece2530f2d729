package schedule_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/schedule"
	"github.com/turbocat/turbocat/internal/turbocat"
)

func ts(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err)
	return v
}

// TestNext checks fire times computed by hand (weekdays from the calendar,
// DST transitions from the tz database: New York 2027-03-14 02:00→03:00 and
// 2027-11-07 02:00→01:00; Paris 2027-03-28 02:00→03:00 and 2027-10-31
// 03:00→02:00).
func TestNext(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, expr, tz, after string
		want                  []string
	}{
		{"daily UTC", "cron(0 10 * * ? *)", "", "2026-11-26T10:37:00Z",
			[]string{"2026-11-27T10:00:00Z", "2026-11-28T10:00:00Z"}},
		{"exactly at a fire time is after it", "cron(0 10 * * ? *)", "UTC", "2026-11-27T10:00:00Z",
			[]string{"2026-11-28T10:00:00Z"}},
		{"weekdays skip the weekend", "cron(0 18 ? * MON-FRI *)", "", "2026-11-27T19:00:00Z",
			[]string{"2026-11-30T18:00:00Z", "2026-12-01T18:00:00Z"}},
		{"day names lower case", "cron(0 18 ? * sat,sun *)", "", "2026-11-26T00:00:00Z",
			[]string{"2026-11-28T18:00:00Z", "2026-11-29T18:00:00Z", "2026-12-05T18:00:00Z"}},
		{"every 15 minutes", "cron(0/15 * * * ? *)", "", "2026-11-26T10:37:12Z",
			[]string{"2026-11-26T10:45:00Z", "2026-11-26T11:00:00Z", "2026-11-26T11:15:00Z"}},
		{"step within a range of hours", "cron(5/20 9-10 * * ? *)", "", "2026-11-26T09:00:00Z",
			[]string{"2026-11-26T09:05:00Z", "2026-11-26T09:25:00Z", "2026-11-26T09:45:00Z", "2026-11-26T10:05:00Z",
				"2026-11-26T10:25:00Z", "2026-11-26T10:45:00Z", "2026-11-27T09:05:00Z"}},
		{"range with a step", "cron(0 0-12/6 * * ? *)", "", "2026-11-26T01:00:00Z",
			[]string{"2026-11-26T06:00:00Z", "2026-11-26T12:00:00Z", "2026-11-27T00:00:00Z"}},
		{"month names", "cron(0 0 1 JAN,JUL ? *)", "", "2026-11-26T00:00:00Z",
			[]string{"2027-01-01T00:00:00Z", "2027-07-01T00:00:00Z", "2028-01-01T00:00:00Z"}},
		{"year list ends", "cron(0 0 1 1 ? 2027,2030)", "", "2026-11-26T00:00:00Z",
			[]string{"2027-01-01T00:00:00Z", "2030-01-01T00:00:00Z"}},
		{"last day of month across a leap February", "cron(0 0 L * ? *)", "", "2028-01-15T00:00:00Z",
			[]string{"2028-01-31T00:00:00Z", "2028-02-29T00:00:00Z", "2028-03-31T00:00:00Z", "2028-04-30T00:00:00Z"}},
		{"29 February only in leap years", "cron(0 12 29 2 ? *)", "", "2025-03-01T00:00:00Z",
			[]string{"2028-02-29T12:00:00Z", "2032-02-29T12:00:00Z"}},
		{"2100 is not a leap year", "cron(0 12 29 2 ? 2100)", "", "2025-03-01T00:00:00Z", nil},
		{"31st skips short months", "cron(0 0 31 * ? *)", "", "2026-11-01T00:00:00Z",
			[]string{"2026-12-31T00:00:00Z", "2027-01-31T00:00:00Z", "2027-03-31T00:00:00Z"}},
		{"15W moves off a Sunday", "cron(0 9 15W * ? *)", "", "2026-11-01T00:00:00Z",
			[]string{"2026-11-16T09:00:00Z", "2026-12-15T09:00:00Z", "2027-01-15T09:00:00Z"}},
		{"1W on a Saturday stays in the month", "cron(0 9 1W * ? *)", "", "2026-07-31T00:00:00Z",
			[]string{"2026-08-03T09:00:00Z", "2026-09-01T09:00:00Z"}},
		{"28W on a last-day Sunday goes back to Friday", "cron(0 9 28W 2 ? *)", "", "2027-01-01T00:00:00Z",
			[]string{"2027-02-26T09:00:00Z"}},
		{"31W skips 30-day months", "cron(0 9 31W 11,12 ? 2026)", "", "2026-11-01T00:00:00Z",
			[]string{"2026-12-31T09:00:00Z"}},
		{"LW is the last weekday", "cron(0 9 LW * ? *)", "", "2026-11-01T00:00:00Z",
			[]string{"2026-11-30T09:00:00Z", "2026-12-31T09:00:00Z", "2027-01-29T09:00:00Z"}},
		{"second Tuesday", "cron(0 9 ? * 3#2 *)", "", "2026-11-26T00:00:00Z",
			[]string{"2026-12-08T09:00:00Z", "2027-01-12T09:00:00Z", "2027-02-09T09:00:00Z"}},
		{"fifth Monday only in some months", "cron(0 9 ? * MON#5 *)", "", "2026-11-01T00:00:00Z",
			[]string{"2026-11-30T09:00:00Z", "2027-03-29T09:00:00Z"}},
		{"last Friday", "cron(0 17 ? * 6L *)", "", "2026-11-01T00:00:00Z",
			[]string{"2026-11-27T17:00:00Z", "2026-12-25T17:00:00Z", "2027-01-29T17:00:00Z"}},
		{"L in day-of-week is Saturday", "cron(0 8 ? * L *)", "", "2026-11-26T00:00:00Z",
			[]string{"2026-11-28T08:00:00Z", "2026-12-05T08:00:00Z"}},
		{"time zone offset", "cron(0 9 * * ? *)", "Asia/Kolkata", "2026-11-26T00:00:00Z",
			[]string{"2026-11-26T03:30:00Z", "2026-11-27T03:30:00Z"}},

		{"DST spring: 02:30 does not exist in New York and is skipped", "cron(30 2 * * ? *)", "America/New_York", "2027-03-13T08:00:00Z",
			[]string{"2027-03-15T06:30:00Z", "2027-03-16T06:30:00Z"}},
		{"DST spring: hourly jumps from 01:00 EST to 03:00 EDT", "cron(0 * * * ? *)", "America/New_York", "2027-03-14T05:30:00Z",
			[]string{"2027-03-14T06:00:00Z", "2027-03-14T07:00:00Z", "2027-03-14T08:00:00Z"}},
		{"DST fall: 01:30 New York fires once, the first time", "cron(30 1 * * ? *)", "America/New_York", "2027-11-06T16:00:00Z",
			[]string{"2027-11-07T05:30:00Z", "2027-11-08T06:30:00Z"}},
		{"DST fall: hourly does not repeat 01:00", "cron(0 * * * ? *)", "America/New_York", "2027-11-07T04:30:00Z",
			[]string{"2027-11-07T05:00:00Z", "2027-11-07T07:00:00Z", "2027-11-07T08:00:00Z"}},
		{"DST fall: from inside the repeated hour", "cron(*/20 * * * ? *)", "America/New_York", "2027-11-07T06:10:00Z",
			[]string{"2027-11-07T07:00:00Z", "2027-11-07T07:20:00Z"}},
		{"DST: Paris 09:00 keeps its wall time", "cron(0 9 * * ? *)", "Europe/Paris", "2027-03-27T12:00:00Z",
			[]string{"2027-03-28T07:00:00Z", "2027-03-29T07:00:00Z"}},
		{"DST: Paris 02:30 skipped in spring, once in autumn", "cron(30 2 ? * SUN *)", "Europe/Paris", "2027-03-27T00:00:00Z",
			[]string{"2027-04-04T00:30:00Z"}},
		{"DST: Paris autumn 02:30 at its first occurrence", "cron(30 2 31 10 ? 2027)", "Europe/Paris", "2027-10-30T00:00:00Z",
			[]string{"2027-10-31T00:30:00Z"}},

		{"rate from the epoch grid", "rate(5 minutes)", "", "2026-11-26T10:37:30Z",
			[]string{"2026-11-26T10:40:00Z", "2026-11-26T10:45:00Z"}},
		{"rate of one hour", "rate(1 hour)", "Europe/Paris", "2026-11-26T10:00:00Z",
			[]string{"2026-11-26T11:00:00Z", "2026-11-26T12:00:00Z"}},
		{"rate of days is 24 hours across DST", "rate(1 day)", "America/New_York", "2027-03-13T00:00:01Z",
			[]string{"2027-03-14T00:00:00Z", "2027-03-15T00:00:00Z"}},
		{"at in its zone", "at(2027-03-01T09:30:00)", "Europe/Paris", "2026-11-26T00:00:00Z",
			[]string{"2027-03-01T08:30:00Z"}},
		{"at in a skipped hour reads with the offset before the skip", "at(2027-03-14T02:30:00)", "America/New_York", "2027-03-01T00:00:00Z",
			[]string{"2027-03-14T07:30:00Z"}},
		{"at in a repeated hour is its first occurrence", "at(2027-11-07T01:30:00)", "America/New_York", "2027-11-01T00:00:00Z",
			[]string{"2027-11-07T05:30:00Z"}},
		{"at already passed", "at(2027-03-01T09:30:00)", "Europe/Paris", "2027-03-01T08:30:00Z", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s, err := schedule.Parse(c.expr, c.tz)
			require.NoError(t, err)
			// Ask for one more when none is wanted, to see that none comes.
			got := s.NextN(ts(t, c.after), max(len(c.want), 1))
			var want []time.Time
			for _, w := range c.want {
				want = append(want, ts(t, w))
			}
			require.Len(t, got, len(want), "fire times: %v", got)
			for i := range want {
				require.True(t, want[i].Equal(got[i]), "fire %d: want %s, got %s", i, want[i], got[i].UTC())
				require.Equal(t, s.Location, got[i].Location(), "times are in the schedule's zone")
			}
		})
	}
}

func TestNextEndsWithTheYears(t *testing.T) {
	t.Parallel()
	s, err := schedule.Parse("cron(0 0 1 1 ? 2027,2030)", "")
	require.NoError(t, err)
	got := s.NextN(ts(t, "2026-01-01T00:00:00Z"), 5)
	require.Len(t, got, 2, "nothing after the last listed year")
	_, ok := s.Next(ts(t, "2030-01-01T00:00:00Z"))
	require.False(t, ok)
	every, err := schedule.Parse("cron(* * * * ? *)", "")
	require.NoError(t, err)
	_, ok = every.Next(ts(t, "2199-12-31T23:59:00Z"))
	require.False(t, ok, "cron years end in 2199")
	first, ok := every.Next(ts(t, "1900-06-01T00:00:00Z"))
	require.True(t, ok)
	require.Equal(t, ts(t, "1970-01-01T00:00:00Z"), first, "cron years begin in 1970")
}

func TestRateStart(t *testing.T) {
	t.Parallel()
	s, err := schedule.Parse("rate(90 minutes)", "UTC")
	require.NoError(t, err)
	s.Start = ts(t, "2026-11-26T10:07:00Z")
	got := s.NextN(ts(t, "2026-11-26T00:00:00Z"), 3)
	require.Equal(t, []time.Time{ts(t, "2026-11-26T10:07:00Z"), ts(t, "2026-11-26T11:37:00Z"), ts(t, "2026-11-26T13:07:00Z")}, got,
		"a rate fires at its start, then every interval")
	require.Equal(t, 90*time.Minute, s.Every)
	require.Equal(t, schedule.KindRate, s.Kind)
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	cases := []struct{ expr, tz, want string }{
		{"cron(0 10 * * * *)", "", "one of day-of-month (*) and day-of-week (*) must be ?"},
		{"cron(0 10 ? * ? *)", "", "only one of day-of-month and day-of-week may be ?"},
		{"cron(0 10 * * ?)", "", "want six fields"},
		{"cron(60 10 * * ? *)", "", `cron minutes field "60": 60 is outside 0-59`},
		{"cron(0 24 * * ? *)", "", `cron hours field "24": 24 is outside 0-23`},
		{"cron(0 0 32 * ? *)", "", "cron day-of-month field \"32\": 32 is outside 1-31"},
		{"cron(0 0 0 * ? *)", "", "0 is outside 1-31"},
		{"cron(0 0 1 13 ? *)", "", "cron month field \"13\": 13 is outside 1-12 (allowed: values 1-12 or JAN-DEC"},
		{"cron(0 0 1 JANUARY ? *)", "", `"JANUARY" is not a value`},
		{"cron(0 0 ? * 8 *)", "", "cron day-of-week field \"8\": 8 is outside 1-7 (allowed: values 1-7 or SUN-SAT, wildcards , - * ? L #)"},
		{"cron(0 0 ? * 0 *)", "", "0 is outside 1-7"},
		{"cron(0 0 1 * ? 1969)", "", "cron year field \"1969\": 1969 is outside 1970-2199"},
		{"cron(0 0 1 * ? 2200)", "", "2200 is outside 1970-2199"},
		{"cron(0 0 ? * 3#6 *)", "", "the week after # must be 1-5"},
		{"cron(0 0 ? * 3#1,6#3 *)", "", "# allows one expression only"},
		{"cron(0 0 ? * 9#1 *)", "", "9 is outside 1-7"},
		{"cron(0 0 1,L * ? *)", "", "L and W stand alone"},
		{"cron(0 0 1-5W * ? *)", "", "W follows one day"},
		{"cron(0 0 32W * ? *)", "", "W follows one day"},
		{"cron(0 0 3#1 * ? *)", "", "# belongs in day-of-week"},
		{"cron(0 0 ? * MON/2 *)", "", "/ is not allowed in day-of-week"},
		{"cron(0 0 ? * 2L,3 *)", "", "L stands alone or after one day"},
		{"cron(0 0 5-1 * ? *)", "", "range 5-1 goes backwards"},
		{"cron(*/0 * * * ? *)", "", `step "0" must be a positive whole number`},
		{"cron(1,,2 * * * ? *)", "", "a value is missing"},
		{"cron(0 ? * * ? *)", "", "? is only allowed in day-of-month or day-of-week"},
		{"rate(1 minutes)", "", "with value 1 the unit is singular: rate(1 minute)"},
		{"rate(5 minute)", "", "with value 5 the unit is plural: rate(5 minutes)"},
		{"rate(0 minutes)", "", "must be a positive whole number"},
		{"rate(-3 hours)", "", "must be a positive whole number"},
		{"rate(5 weeks)", "", "unit \"weeks\" must be minute(s), hour(s) or day(s)"},
		{"rate(five minutes)", "", "must be a positive whole number"},
		{"rate(5)", "", "want rate(value unit)"},
		{"at(2027-03-01 09:30:00)", "", "want at(yyyy-mm-ddThh:mm:ss)"},
		{"at(2027-02-30T09:30:00)", "", "at(2027-02-30T09:30:00): no such date and time (day out of range)"},
		{"at(2027-03-01T24:30:00)", "", "no such date and time (hour out of range)"},
		{"at(2027-3-1T09:30:00)", "", "want at(yyyy-mm-ddThh:mm:ss)"},
		{"every(5m)", "", `unknown expression type "every"`},
		{"0 10 * * ? *", "", "must be cron(...), rate(...) or at(...)"},
		{"", "", "must be cron(...), rate(...) or at(...)"},
		{"rate(5 minutes)", "Mars/Olympus_Mons", `time zone "Mars/Olympus_Mons" is not an IANA time zone`},
		{"rate(5 minutes)", "Local", "use an IANA name"},
	}
	for _, c := range cases {
		t.Run(c.expr+" "+c.tz, func(t *testing.T) {
			t.Parallel()
			s, err := schedule.Parse(c.expr, c.tz)
			require.Nil(t, s)
			require.Equal(t, turbocat.EVALIDATION, turbocat.ErrorCodeOf(err), "error: %v", err)
			require.Contains(t, turbocat.AsError(err).Message, c.want)
		})
	}
}

func TestParseAccepts(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		expr string
		kind schedule.Kind
	}{
		{"cron(0 12 * * ? *)", schedule.KindCron},
		{"  cron( 0   12 * * ? * )  ", schedule.KindCron},
		{"cron(0-59/1 0,6,12,18 1-31 JAN-DEC ? 2026-2199)", schedule.KindCron},
		{"cron(15 10 ? * 6L 2027-2030)", schedule.KindCron},
		{"rate(1 day)", schedule.KindRate},
		{"rate(12 hours)", schedule.KindRate},
		{"at(2030-12-31T23:59:59)", schedule.KindAt},
	} {
		s, err := schedule.Parse(c.expr, "Europe/Berlin")
		require.NoError(t, err, c.expr)
		require.Equal(t, c.kind, s.Kind, c.expr)
		require.Equal(t, "Europe/Berlin", s.Location.String())
	}
}
