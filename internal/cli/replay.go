package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
)

// replayReport is the API's answer to a replay.
type replayReport struct {
	ReplayExecutionID string       `json:"replayExecutionId"`
	SourceExecutionID string       `json:"sourceExecutionId"`
	Version           int          `json:"version"`
	SourceVersion     int          `json:"sourceVersion"`
	Status            string       `json:"status"`
	Finished          bool         `json:"finished"`
	Steps             []replayStep `json:"steps"`
	ChangedSteps      []string     `json:"changedSteps"`
}

type replayStep struct {
	Key          string      `json:"key"`
	Status       string      `json:"status"`
	Changed      bool        `json:"changed"`
	InputChanged bool        `json:"inputChanged"`
	Source       *replaySide `json:"source"`
	Replay       *replaySide `json:"replay"`
	Diff         []struct {
		Path string          `json:"path"`
		Old  json.RawMessage `json:"old"`
		New  json.RawMessage `json:"new"`
	} `json:"diff"`
}

type replaySide struct {
	Status string          `json:"status"`
	Output json.RawMessage `json:"output"`
	Error  json.RawMessage `json:"error"`
}

// replayCmd replays a finished run and prints where the steps' outputs
// differ.
func replayCmd(env *Env) *cobra.Command {
	var output string
	var version int
	var report bool
	cmd := &cobra.Command{
		Use:   "replay EXECUTION",
		Short: "Replay a finished run against its recorded responses and print what changed",
		Long: `Runs the workflow again (its current version, or --version N) with the
input of the finished run EXECUTION, against that run's recorded responses:
api and llm steps take the output they recorded (no HTTP request, no model
call, no spend), code steps run. Prints each step — = same, ~ changed,
+ only in the replay, - only in the run — and, for a changed step, its
output's differences path by path (old → new). A step whose input differs
is marked "input changed" even when its output is the recorded one.

Exits 0 when no step changed and 2 when some did, so it can gate a change
to a prompt or a code agent. A replay still running after 25 s exits 1;
--report REPLAY prints its report later.`,
		Example: "  turbocat replay EXECUTION\n  turbocat replay EXECUTION --version 3\n  turbocat replay --report REPLAY -o json",
		Args:    cobra.ExactArgs(1),
		RunE: withClient(env, &output, func(cmd *cobra.Command, c *client, args []string) error {
			var rep replayReport
			id := url.PathEscape(args[0])
			if report {
				if err := c.do(cmd.Context(), "GET", "/api/v1/executions/"+id+"/replay-report", nil, &rep); err != nil {
					return err
				}
			} else {
				body := map[string]any{}
				if version > 0 {
					body["version"] = version
				}
				if err := c.do(cmd.Context(), "POST", "/api/v1/executions/"+id+"/replay?wait=25", body, &rep); err != nil {
					return err
				}
			}
			if output == "json" {
				if err := printJSON(env.Stdout, rep); err != nil {
					return err
				}
			} else {
				printReplay(env.Stdout, &rep)
			}
			switch {
			case !rep.Finished:
				return &ExitError{Code: 1, Err: fmt.Errorf("replay %s is still %s: run `turbocat replay --report %s` later", rep.ReplayExecutionID, rep.Status, rep.ReplayExecutionID)}
			case len(rep.ChangedSteps) > 0:
				return &ExitError{Code: 2}
			}
			return nil
		}),
	}
	cmd.Flags().IntVar(&version, "version", 0, "the workflow version to replay (default: its current version)")
	cmd.Flags().BoolVar(&report, "report", false, "print the report of the replay EXECUTION instead of starting one")
	addOutputFlag(cmd, &output)
	return cmd
}

// printReplay prints a replay report as a step-by-step diff.
func printReplay(w io.Writer, rep *replayReport) {
	fmt.Fprintf(w, "replay %s of execution %s: version %d against version %d's recordings, %s\n",
		rep.ReplayExecutionID, rep.SourceExecutionID, rep.Version, rep.SourceVersion, rep.Status)
	width := 0
	for _, st := range rep.Steps {
		width = max(width, len(st.Key))
	}
	for _, st := range rep.Steps {
		mark := map[string]string{"same": "=", "changed": "~", "added": "+", "removed": "-", "pending": "…"}[st.Status]
		var notes []string
		if st.InputChanged {
			notes = append(notes, "input changed")
		}
		if st.Source != nil && st.Replay != nil && st.Source.Status != st.Replay.Status {
			notes = append(notes, st.Source.Status+" → "+st.Replay.Status)
		}
		switch st.Status {
		case "added":
			notes = append(notes, "only in the replay ("+st.Replay.Status+")")
		case "removed":
			notes = append(notes, "only in the run ("+st.Source.Status+")")
		case "pending":
			notes = append(notes, "not finished yet")
		}
		if st.Replay != nil && st.Replay.Status == "failed" {
			var e struct{ Error, Cause string }
			_ = json.Unmarshal(st.Replay.Error, &e)
			notes = append(notes, "failed: "+e.Error+": "+clip(e.Cause, 160))
		}
		line := fmt.Sprintf("%s %-*s", mark, width, st.Key)
		if len(notes) > 0 {
			line += "  " + strings.Join(notes, "; ")
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
		for _, d := range st.Diff {
			fmt.Fprintf(w, "    %s: %s → %s\n", d.Path, diffValue(d.Old), diffValue(d.New))
		}
	}
	switch n := len(rep.ChangedSteps); n {
	case 0:
		fmt.Fprintln(w, "no step changed")
	case 1:
		fmt.Fprintf(w, "1 step changed: %s\n", rep.ChangedSteps[0])
	default:
		fmt.Fprintf(w, "%d steps changed: %s\n", n, strings.Join(rep.ChangedSteps, ", "))
	}
}

// diffValue shows one side of a difference: its compact JSON, or (none)
// where the value is missing.
func diffValue(v json.RawMessage) string {
	if len(v) == 0 {
		return "(none)"
	}
	return clip(string(v), 120)
}
