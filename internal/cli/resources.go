package cli

import (
	"context"
	"fmt"
	"net/url"

	"github.com/spf13/cobra"
)

// resourceCmd is `turbocat <plural> list|get` for agents, workflows and
// templates.
func resourceCmd(env *Env, plural, singular string, header []string, row func(map[string]any) []string) *cobra.Command {
	cmd := &cobra.Command{
		Use:     plural,
		Short:   "List and show " + plural,
		Example: fmt.Sprintf("  turbocat %s list\n  turbocat %s get NAME_OR_ID -o json", plural, plural),
	}
	var output, search string
	list := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List your " + plural,
		Example: fmt.Sprintf("  turbocat %s list\n  turbocat %s list --search report -o json", plural, plural),
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			c, err := authedClient(env)
			if err != nil {
				return err
			}
			q := url.Values{}
			if search != "" {
				q.Set("search", search)
			}
			items, err := c.list(cmd.Context(), "/api/v1/"+plural, q)
			if err != nil {
				return err
			}
			return printList(env, output, header, items, row)
		},
	}
	addOutputFlag(list, &output)
	list.Flags().StringVar(&search, "search", "", "only "+plural+" whose name or description contains this")
	var getOutput string
	get := &cobra.Command{
		Use:     "get NAME_OR_ID",
		Short:   "Show one " + singular,
		Example: fmt.Sprintf("  turbocat %s get my-%s\n  turbocat %s get my-%s -o json", plural, singular, plural, singular),
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(getOutput); err != nil {
				return err
			}
			c, err := authedClient(env)
			if err != nil {
				return err
			}
			id, err := c.resolve(cmd.Context(), plural, args[0])
			if err != nil {
				return err
			}
			var it map[string]any
			if err := c.do(cmd.Context(), "GET", "/api/v1/"+plural+"/"+id, nil, &it); err != nil {
				return err
			}
			if getOutput == "json" {
				return printJSON(env.Stdout, it)
			}
			printTable(env.Stdout, header, [][]string{row(it)})
			return nil
		},
	}
	addOutputFlag(get, &getOutput)
	cmd.AddCommand(list, get)
	return cmd
}

func executionsCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "executions",
		Aliases: []string{"execution", "exec"},
		Short:   "List, show, cancel and retry runs",
		Example: "  turbocat executions list --status failed\n  turbocat executions get EXECUTION\n  turbocat executions retry EXECUTION --wait",
	}
	header := []string{"ID", "WORKFLOW", "VERSION", "STATUS", "TRIGGER", "STARTED", "DURATION"}
	row := func(m map[string]any) []string {
		d := "-"
		if v, ok := m["durationMs"].(float64); ok {
			d = fmt.Sprintf("%gms", v)
		}
		return []string{str(m["id"]), str(m["workflowId"]), str(m["workflowVersion"]), str(m["status"]), str(m["trigger"]), str(m["startedAt"]), d}
	}

	var output, workflow, status string
	list := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List runs, newest first",
		Example: "  turbocat executions list\n  turbocat executions list --workflow digest --status failed -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			c, err := authedClient(env)
			if err != nil {
				return err
			}
			q := url.Values{}
			if workflow != "" {
				id, err := c.resolve(cmd.Context(), "workflows", workflow)
				if err != nil {
					return err
				}
				q.Set("workflowId", id)
			}
			if status != "" {
				q.Set("status", status)
			}
			items, err := c.list(cmd.Context(), "/api/v1/executions", q)
			if err != nil {
				return err
			}
			if output != "json" {
				showWorkflowNames(cmd.Context(), c, items...)
			}
			return printList(env, output, header, items, row)
		},
	}
	addOutputFlag(list, &output)
	list.Flags().StringVar(&workflow, "workflow", "", "only runs of this workflow (name or id)")
	list.Flags().StringVar(&status, "status", "", "only runs in this status (pending, running, completed, failed, cancelled, timed_out)")

	var getOutput string
	get := &cobra.Command{
		Use:     "get EXECUTION",
		Short:   "Show a run and its steps",
		Example: "  turbocat executions get EXECUTION\n  turbocat executions get EXECUTION -o json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(getOutput); err != nil {
				return err
			}
			c, err := authedClient(env)
			if err != nil {
				return err
			}
			var ex map[string]any
			if err := c.do(cmd.Context(), "GET", "/api/v1/executions/"+args[0], nil, &ex); err != nil {
				return err
			}
			if getOutput == "json" {
				return printJSON(env.Stdout, ex)
			}
			showWorkflowNames(cmd.Context(), c, ex)
			printTable(env.Stdout, header, [][]string{row(ex)})
			steps, _ := ex["steps"].([]any)
			if len(steps) > 0 {
				fmt.Fprintln(env.Stdout)
				rows := [][]string{}
				for _, s := range steps {
					m, _ := s.(map[string]any)
					d := "-"
					if v, ok := m["durationMs"].(float64); ok {
						d = fmt.Sprintf("%gms", v)
					}
					rows = append(rows, []string{str(m["stepKey"]), str(m["status"]), str(m["attempt"]), d, str(m["error"])})
				}
				printTable(env.Stdout, []string{"STEP", "STATUS", "ATTEMPT", "DURATION", "ERROR"}, rows)
			}
			return nil
		},
	}
	addOutputFlag(get, &getOutput)

	cancel := &cobra.Command{
		Use:     "cancel EXECUTION",
		Short:   "Cancel a run",
		Example: "  turbocat executions cancel EXECUTION",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := authedClient(env)
			if err != nil {
				return err
			}
			var ex map[string]any
			if err := c.do(cmd.Context(), "POST", "/api/v1/executions/"+args[0]+"/cancel", map[string]any{}, &ex); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "execution %s %s\n", args[0], str(ex["status"]))
			return nil
		},
	}

	var retryWait bool
	var retryOutput string
	retry := &cobra.Command{
		Use:     "retry EXECUTION",
		Short:   "Start a new run with the input of a finished one",
		Example: "  turbocat executions retry EXECUTION\n  turbocat executions retry EXECUTION --wait",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(retryOutput); err != nil {
				return err
			}
			c, err := authedClient(env)
			if err != nil {
				return err
			}
			var started map[string]any
			if err := c.do(cmd.Context(), "POST", "/api/v1/executions/"+args[0]+"/retry", map[string]any{}, &started); err != nil {
				return err
			}
			id := str(started["executionId"])
			if id == "-" {
				id = str(started["id"])
			}
			if !retryWait {
				if retryOutput == "json" {
					return printJSON(env.Stdout, started)
				}
				fmt.Fprintln(env.Stdout, id)
				return nil
			}
			ex, err := waitRun(cmd.Context(), c, id, retryOutput != "json", isTerminal(env.Stdout))
			if err != nil {
				return err
			}
			return reportRun(env, ex, retryOutput)
		},
	}
	retry.Flags().BoolVarP(&retryWait, "wait", "w", false, "wait for the new run to end")
	addOutputFlag(retry, &retryOutput)

	cmd.AddCommand(list, get, cancel, retry)
	return cmd
}

// printList writes items as JSON or as a table of row(item).
// showWorkflowNames puts workflow names in place of the workflowId of items,
// for tables (JSON output keeps ids). A failed lookup leaves the ids.
func showWorkflowNames(ctx context.Context, c *client, items ...map[string]any) {
	wfs, err := c.list(ctx, "/api/v1/workflows", nil)
	if err != nil {
		return
	}
	names := map[string]string{}
	for _, w := range wfs {
		names[str(w["id"])] = str(w["name"])
	}
	for _, it := range items {
		if n, ok := names[str(it["workflowId"])]; ok {
			it["workflowId"] = n
		}
	}
}

func printList(env *Env, output string, header []string, items []map[string]any, row func(map[string]any) []string) error {
	if output == "json" {
		if items == nil {
			items = []map[string]any{}
		}
		return printJSON(env.Stdout, items)
	}
	rows := make([][]string, 0, len(items))
	for _, it := range items {
		rows = append(rows, row(it))
	}
	printTable(env.Stdout, header, rows)
	return nil
}
