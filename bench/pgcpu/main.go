// Command pgcpu reads a Postgres server log written with
// log_min_duration_statement=0 and log_statement_stats=on (bench/pgcpu.sh
// sets both for one run of bench/hooks.sh) and prints, for each statement,
// how often it ran and the server's CPU time (user + system) and elapsed
// time per run, summed over its parse, bind and execute messages: where
// Postgres's share of a run goes. pg_stat_statements would say the same,
// but it must be preloaded at server start; this needs nothing but the log.
//
// Logging each message costs CPU itself: read the figures against the
// cheapest statement's, not as absolute costs.
package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

var (
	// "[pid] ... LOG:  duration: 0.042 ms  bind <stmt>: -- name: Foo :one"
	durationLine = regexp.MustCompile(`\[(\d+)\] .*LOG:  duration: ([\d.]+) ms  (parse|bind|execute) [^:]*: (.*)`)
	// "[pid] ... LOG:  EXECUTE MESSAGE STATISTICS"
	statsLine = regexp.MustCompile(`\[(\d+)\] .*LOG:  (PARSE|BIND|EXECUTE|QUERY) (MESSAGE )?STATISTICS`)
	// "!	0.000000 s user, 0.000056 s system, 0.000057 s elapsed"
	cpuLine = regexp.MustCompile(`!\s+([\d.]+) s user, ([\d.]+) s system, ([\d.]+) s elapsed`)
)

type stat struct {
	runs       int
	cpu, durMs float64
}

func main() {
	byName := map[string]*stat{}
	current := map[string]string{} // pid → statement of its last message
	statsPid := ""
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		if m := durationLine.FindStringSubmatch(line); m != nil {
			name := statementName(m[4])
			s := byName[name]
			if s == nil {
				s = &stat{}
				byName[name] = s
			}
			if m[3] == "execute" {
				s.runs++
			}
			d, _ := strconv.ParseFloat(m[2], 64)
			s.durMs += d
			current[m[1]] = name
			continue
		}
		if m := statsLine.FindStringSubmatch(line); m != nil {
			statsPid = m[1]
			continue
		}
		if m := cpuLine.FindStringSubmatch(line); m != nil && statsPid != "" {
			if name, ok := current[statsPid]; ok {
				user, _ := strconv.ParseFloat(m[1], 64)
				sys, _ := strconv.ParseFloat(m[2], 64)
				byName[name].cpu += user + sys
			}
			statsPid = ""
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "pgcpu:", err)
		os.Exit(1)
	}
	names := make([]string, 0, len(byName))
	maxRuns := 0
	for n, s := range byName {
		names = append(names, n)
		maxRuns = max(maxRuns, s.runs)
	}
	sort.Slice(names, func(a, b int) bool { return byName[names[a]].cpu > byName[names[b]].cpu })
	fmt.Printf("%-34s %8s %14s %16s\n", "statement", "runs", "cpu_ms_each", "elapsed_ms_each")
	for _, n := range names {
		s := byName[n]
		if s.runs == 0 || s.runs < maxRuns/10 {
			continue // set-up and background statements
		}
		fmt.Printf("%-34s %8d %14.3f %16.3f\n", n, s.runs, 1000*s.cpu/float64(s.runs), s.durMs/float64(s.runs))
	}
}

// statementName is the sqlc name of a statement ("-- name: X"), else its
// first 30 characters.
func statementName(sql string) string {
	if rest, ok := strings.CutPrefix(sql, "-- name: "); ok {
		if f := strings.Fields(rest); len(f) > 0 {
			return f[0]
		}
	}
	return strings.TrimSpace(sql[:min(len(sql), 30)])
}
