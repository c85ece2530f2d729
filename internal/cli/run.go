package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// pollInterval is how often run --wait reads the execution.
const pollInterval = 300 * time.Millisecond

type execStep struct {
	StepKey    string          `json:"stepKey"`
	Status     string          `json:"status"`
	Attempt    int             `json:"attempt"`
	DurationMs *int64          `json:"durationMs"`
	Error      json.RawMessage `json:"error"`
}

type execution struct {
	ID         string          `json:"id"`
	WorkflowID string          `json:"workflowId"`
	Status     string          `json:"status"`
	Output     json.RawMessage `json:"outputData"`
	Error      json.RawMessage `json:"error"`
	DurationMs *int64          `json:"durationMs"`
	Steps      []execStep      `json:"steps"`

	raw json.RawMessage // the API's whole object, for -o json
}

func finished(status string) bool {
	switch status {
	case "completed", "failed", "cancelled", "timed_out":
		return true
	}
	return false
}

// readInput parses --input: inline JSON, @file, or @- for standard input.
func readInput(env *Env, v string) (map[string]any, error) {
	if v == "" {
		return map[string]any{}, nil
	}
	raw := []byte(v)
	if strings.HasPrefix(v, "@") {
		var err error
		if v == "@-" {
			raw, err = io.ReadAll(env.Stdin)
		} else {
			raw, err = os.ReadFile(v[1:])
		}
		if err != nil {
			return nil, fmt.Errorf("read --input: %w", err)
		}
	}
	var in map[string]any
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, fmt.Errorf("--input must be a JSON object: %w", err)
	}
	return in, nil
}

func runCmd(env *Env) *cobra.Command {
	var input, output, idem, environment string
	var wait, logs bool
	cmd := &cobra.Command{
		Use:   "run WORKFLOW",
		Short: "Run a workflow (by name or id)",
		Long: `Starts a run of WORKFLOW (a name or an id) and prints its execution id: of
its current version, or with --env of the version deployed to that environment.
With --wait, follows the run and prints each step as it ends; with --logs,
prints the run's log lines as they come instead. Either way the exit code is
0 when the run completed and 1 when it failed, was cancelled or timed out.`,
		Example: `  turbocat run digest --input '{"url": "https://example.com"}' --wait
  turbocat run digest --input @input.json
  turbocat run digest --env prod --wait
  turbocat run digest --input '{"url": "https://example.com"}' --logs
  echo '{"n": 3}' | turbocat run 6f1c2b9e-8d4a-4f3e-9a51-0c2d3e4f5a6b --input @- --wait -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			ctx := cmd.Context()
			c, err := authedClient(env)
			if err != nil {
				return err
			}
			in, err := readInput(env, input)
			if err != nil {
				return err
			}
			id, err := c.resolve(ctx, "workflows", args[0])
			if err != nil {
				return err
			}
			body := map[string]any{"input": in}
			if idem != "" {
				body["idempotencyKey"] = idem
			}
			if environment != "" {
				body["environment"] = environment
			}
			var started struct {
				ExecutionID string `json:"executionId"`
				Status      string `json:"status"`
			}
			if err := c.do(ctx, "POST", "/api/v1/workflows/"+id+"/execute", body, &started); err != nil {
				return err
			}
			if !wait && !logs {
				if output == "json" {
					return printJSON(env.Stdout, started)
				}
				fmt.Fprintln(env.Stdout, started.ExecutionID)
				return nil
			}
			if output != "json" {
				fmt.Fprintf(env.Stdout, "execution %s started\n", started.ExecutionID)
			}
			if logs {
				// The log lines as they come, until the run ends; then the
				// outcome as with --wait.
				if err := followLogs(ctx, c, started.ExecutionID, logPrinter(env.Stdout, "")); err != nil {
					return err
				}
			}
			ex, err := waitRun(ctx, c, started.ExecutionID, output != "json" && !logs, isTerminal(env.Stdout))
			if err != nil {
				return err
			}
			return reportRun(env, ex, output)
		},
	}
	f := cmd.Flags()
	f.StringVar(&input, "input", "", "run input: a JSON object, @file or @- (standard input)")
	f.BoolVarP(&wait, "wait", "w", false, "wait for the run to end, printing steps as they end")
	f.BoolVar(&logs, "logs", false, "print the run's log lines as they come, until it ends (implies --wait)")
	f.StringVar(&environment, "env", "", "run the version deployed to this environment (default: the current version)")
	f.StringVar(&idem, "idempotency-key", "", "the same key returns the first run instead of starting another")
	addOutputFlag(cmd, &output)
	return cmd
}

func authedClient(env *Env) (*client, error) {
	c, err := env.client()
	if err != nil {
		return nil, err
	}
	if !c.authorized() {
		return nil, errNotLoggedIn
	}
	return c, nil
}

// waitRun polls the execution until it ends, printing each step once when
// it reaches a final status. On a terminal (tty) the finished steps get a
// mark and a status line below them names the steps running now; it is
// rewritten in place and cleared at the end.
func waitRun(ctx context.Context, c *client, id string, print, tty bool) (*execution, error) {
	out := c.env.Stdout
	seen := map[string]bool{}
	waiting := map[string]bool{} // waiting steps announced
	status := ""                 // the status line on screen
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		var raw json.RawMessage
		if err := c.do(ctx, "GET", "/api/v1/executions/"+id, nil, &raw); err != nil {
			return nil, err
		}
		ex := execution{raw: raw}
		if err := json.Unmarshal(raw, &ex); err != nil {
			return nil, fmt.Errorf("decode execution %s: %w", id, err)
		}
		var lines, running []string
		for _, s := range ex.Steps {
			if s.Status == "running" {
				running = append(running, s.StepKey)
			}
			if s.Status == "waiting" && !waiting[s.StepKey] {
				waiting[s.StepKey] = true
				lines = append(lines, fmt.Sprintf("  \u29d7 %s waiting (an approval: turbocat approve %s %s)", s.StepKey, id, s.StepKey))
			}
			if seen[s.StepKey] || (s.Status != "completed" && s.Status != "failed" && s.Status != "skipped") {
				continue
			}
			seen[s.StepKey] = true
			lines = append(lines, stepLine(s, tty))
		}
		next := ""
		if tty && len(running) > 0 && !finished(ex.Status) {
			next = fmt.Sprintf("  \u22ef running %s (%d done)", strings.Join(running, ", "), len(seen))
		}
		if print && (len(lines) > 0 || next != status) {
			if status != "" {
				fmt.Fprint(out, "\r\x1b[K")
			}
			for _, l := range lines {
				fmt.Fprintln(out, l)
			}
			fmt.Fprint(out, next)
			status = next
		}
		if finished(ex.Status) {
			return &ex, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for execution %s: %w", id, ctx.Err())
		case <-t.C:
		}
	}
}

// fmtMs renders a duration in milliseconds: 850ms, 12.3s.
func fmtMs(ms int64) string {
	if ms < 1000 {
		return fmt.Sprintf("%dms", ms)
	}
	return (time.Duration(ms) * time.Millisecond).Round(100 * time.Millisecond).String()
}

func stepLine(s execStep, tty bool) string {
	dur := ""
	if s.DurationMs != nil {
		dur = " " + fmtMs(*s.DurationMs)
	}
	errText := ""
	if e := errorText(s.Error); e != "" {
		errText = " " + e
	}
	if tty {
		mark := map[string]string{"completed": "\u2713", "failed": "\u2717", "skipped": "-"}[s.Status]
		return fmt.Sprintf("  %s %s%s%s", mark, s.StepKey, dur, errText)
	}
	return fmt.Sprintf("step %s %s%s%s", s.StepKey, s.Status, dur, errText)
}

// reportRun prints the end of a run and turns a failed run into exit code 1.
func reportRun(env *Env, ex *execution, output string) error {
	if output == "json" {
		var v any = ex
		if ex.raw != nil {
			v = ex.raw
		}
		if err := printJSON(env.Stdout, v); err != nil {
			return err
		}
	} else {
		dur := ""
		if ex.DurationMs != nil {
			dur = " in " + fmtMs(*ex.DurationMs)
		}
		fmt.Fprintf(env.Stdout, "execution %s %s%s\n", ex.ID, ex.Status, dur)
		if ex.Status == "completed" && len(ex.Output) > 0 {
			fmt.Fprintf(env.Stdout, "output: %s\n", ex.Output)
		}
	}
	if ex.Status != "completed" {
		msg := fmt.Sprintf("execution %s %s", ex.ID, ex.Status)
		if e := errorText(ex.Error); e != "" {
			msg += ": " + e
		}
		return &ExitError{Code: 1, Err: fmt.Errorf("%s", msg)}
	}
	return nil
}

func logsCmd(env *Env) *cobra.Command {
	var follow bool
	var output string
	cmd := &cobra.Command{
		Use:   "logs EXECUTION",
		Short: "Print an execution's log lines",
		Long: `Prints the log lines of EXECUTION, oldest first. With -f, keeps printing new
lines until the run ends (a server-sent event stream from turbocat dev).`,
		Example: "  turbocat logs 0b7c6a8e-1f2d-4c3b-8a9e-7d6c5b4a3f21\n  turbocat logs -f $(turbocat run digest)\n  turbocat logs EXECUTION -o json",
		Args:    cobra.ExactArgs(1),
		RunE: withClient(env, &output, func(cmd *cobra.Command, c *client, args []string) error {
			print := logPrinter(env.Stdout, output)
			if follow {
				return followLogs(cmd.Context(), c, args[0], print)
			}
			q := url.Values{}
			for {
				var page struct {
					Items      []map[string]any
					NextCursor string
				}
				q.Set("limit", "100")
				if err := c.do(cmd.Context(), "GET", "/api/v1/executions/"+args[0]+"/logs?"+q.Encode(), nil, &page); err != nil {
					return err
				}
				for _, l := range page.Items {
					if err := print(l); err != nil {
						return err
					}
				}
				if page.NextCursor == "" || len(page.Items) == 0 {
					return nil
				}
				q.Set("cursor", page.NextCursor)
			}
		}),
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing lines until the run ends")
	addOutputFlag(cmd, &output)
	return cmd
}

// logPrinter prints one log line: as text, or as a JSON object a line.
// The live text a model generates (the stream's "text" events) prints as
// it comes, after a "[step] " header, and a log line after it starts a new
// line.
func logPrinter(w io.Writer, output string) func(map[string]any) error {
	inText := ""
	return func(l map[string]any) error {
		if output == "json" {
			b, _ := json.Marshal(l)
			_, err := fmt.Fprintln(w, string(b))
			return err
		}
		if text, ok := l["text"].(string); ok && l["message"] == nil {
			head := str(l["stepKey"]) + "#" + str(l["turn"])
			if head != inText {
				if inText != "" {
					fmt.Fprintln(w)
				}
				fmt.Fprintf(w, "[%s] ", str(l["stepKey"]))
				inText = head
			}
			_, err := fmt.Fprint(w, text)
			return err
		}
		if inText != "" {
			fmt.Fprintln(w)
			inText = ""
		}
		_, err := fmt.Fprintf(w, "%s %-5s [%s] %s\n", str(l["createdAt"]), str(l["level"]), str(l["stepKey"]), str(l["message"]))
		return err
	}
}

// followLogs reads the server-sent event stream of an execution's logs,
// reconnecting with Last-Event-ID if the server closes it early, until the
// `end` event.
func followLogs(ctx context.Context, c *client, id string, print func(map[string]any) error) error {
	last := ""
	for {
		req, err := c.request(ctx, "GET", "/api/v1/executions/"+id+"/logs?follow=true", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Accept", "text/event-stream")
		if last != "" {
			req.Header.Set("Last-Event-ID", last)
		}
		res, err := c.http.Do(req)
		if err != nil {
			return c.unreachable("GET", "/api/v1/executions/"+id+"/logs", err)
		}
		if res.StatusCode >= 400 {
			e := decodeError(res)
			res.Body.Close()
			return e
		}
		if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
			// API Gateway cannot stream: poll with the cursor instead.
			res.Body.Close()
			return pollLogs(ctx, c, id, last, print)
		}
		ended, err := readEvents(res.Body, func(event, eid, data string) error {
			if event != "log" && event != "text" {
				return nil
			}
			if eid != "" {
				last = eid
			}
			var l map[string]any
			if err := json.Unmarshal([]byte(data), &l); err != nil {
				return fmt.Errorf("decode log event: %w", err)
			}
			return print(l)
		})
		res.Body.Close()
		if err != nil || ended {
			return err
		}
		// The server closed the stream before the end: reconnect after a
		// pause, resuming after the last line printed.
		select {
		case <-ctx.Done():
			return fmt.Errorf("follow logs of %s: %w", id, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// pollLogs prints the log lines after cursor as they come, reading the
// logs page by page, until the run has ended and every line is printed.
func pollLogs(ctx context.Context, c *client, id, cursor string, print func(map[string]any) error) error {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		var ex execution
		if err := c.do(ctx, "GET", "/api/v1/executions/"+id, nil, &ex); err != nil {
			return err
		}
		for {
			q := url.Values{"limit": {"100"}}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			var page struct{ Items []map[string]any }
			if err := c.do(ctx, "GET", "/api/v1/executions/"+id+"/logs?"+q.Encode(), nil, &page); err != nil {
				return err
			}
			for _, l := range page.Items {
				if err := print(l); err != nil {
					return err
				}
				cursor = str(l["sequence"])
			}
			if len(page.Items) < 100 {
				break
			}
		}
		// The status was read before the lines: every line of an ended run
		// has been printed.
		if finished(ex.Status) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("follow logs of %s: %w", id, ctx.Err())
		case <-t.C:
		}
	}
}

// readEvents parses a text/event-stream, calling fn per event; it reports
// whether an `end` event arrived.
func readEvents(r io.Reader, fn func(event, id, data string) error) (bool, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4<<20)
	var event, id string
	var data []string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if event == "" && len(data) == 0 {
				continue
			}
			if event == "" {
				event = "message"
			}
			if event == "end" {
				return true, nil
			}
			if err := fn(event, id, strings.Join(data, "\n")); err != nil {
				return false, err
			}
			event, id, data = "", "", nil
		case strings.HasPrefix(line, ":"):
		default:
			k, v, _ := strings.Cut(line, ":")
			v = strings.TrimPrefix(v, " ")
			switch k {
			case "event":
				event = v
			case "id":
				id = v
			case "data":
				data = append(data, v)
			}
		}
	}
	return false, sc.Err()
}
