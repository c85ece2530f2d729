package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"slices"

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
	var search string
	list := listCmd(env, listSpec{
		short:   "List your " + plural,
		example: fmt.Sprintf("  turbocat %s list\n  turbocat %s list --search report -o json", plural, plural),
		path:    "/api/v1/" + plural, header: header, row: row,
		query: func(context.Context, *client) (url.Values, error) {
			q := url.Values{}
			if search != "" {
				q.Set("search", search)
			}
			return q, nil
		},
	})
	list.Flags().StringVar(&search, "search", "", "only "+plural+" whose name or description contains this")
	var getOutput string
	get := &cobra.Command{
		Use:     "get NAME_OR_ID",
		Short:   "Show one " + singular,
		Example: fmt.Sprintf("  turbocat %s get my-%s\n  turbocat %s get my-%s -o json", plural, singular, plural, singular),
		Args:    cobra.ExactArgs(1),
		RunE: withClient(env, &getOutput, func(cmd *cobra.Command, c *client, args []string) error {
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
		}),
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

	var workflow, status, deployment, trigger string
	list := listCmd(env, listSpec{
		short:   "List runs, newest first",
		example: "  turbocat executions list\n  turbocat executions list --workflow digest --status failed -o json\n  turbocat executions list --deployment DEPLOYMENT --trigger schedule --status failed",
		path:    "/api/v1/executions", header: header, row: row, workflowNames: true,
		query: func(ctx context.Context, c *client) (url.Values, error) {
			q := url.Values{}
			if status != "" {
				q.Set("status", status)
			}
			if deployment != "" {
				q.Set("deploymentId", deployment)
			}
			if trigger != "" {
				q.Set("trigger", trigger)
			}
			return q, workflowFilter(ctx, c, workflow, q)
		},
	})
	list.Flags().StringVar(&workflow, "workflow", "", "only runs of this workflow (name or id)")
	list.Flags().StringVar(&status, "status", "", "only runs in this status (queued, pending, running, waiting, completed, failed, cancelled, timed_out)")
	list.Flags().StringVar(&deployment, "deployment", "", "only runs of this deployment (its webhook, schedule or environment)")
	list.Flags().StringVar(&trigger, "trigger", "", "only runs started this way (api, webhook, schedule, retry, replay)")

	var getOutput string
	get := &cobra.Command{
		Use:     "get EXECUTION",
		Short:   "Show a run and its steps",
		Example: "  turbocat executions get EXECUTION\n  turbocat executions get EXECUTION -o json",
		Args:    cobra.ExactArgs(1),
		RunE: withClient(env, &getOutput, func(cmd *cobra.Command, c *client, args []string) error {
			var ex map[string]any
			if err := c.do(cmd.Context(), "GET", "/api/v1/executions/"+args[0], nil, &ex); err != nil {
				return err
			}
			if getOutput == "json" {
				return printJSON(env.Stdout, ex)
			}
			showWorkflowNames(cmd.Context(), c, ex)
			printTable(env.Stdout, header, [][]string{row(ex)})
			if e := errorText(ex["error"]); e != "" {
				fmt.Fprintf(env.Stdout, "error: %s\n", e)
			}
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
					rows = append(rows, []string{str(m["stepKey"]), str(m["status"]), str(m["attempt"]), d, orDash(errorText(m["error"]))})
				}
				printTable(env.Stdout, []string{"STEP", "STATUS", "ATTEMPT", "DURATION", "ERROR"}, rows)
			}
			return nil
		}),
	}
	addOutputFlag(get, &getOutput)

	cancel := resourceAction(env, "executions", "cancel EXECUTION", "Cancel a run", "  turbocat executions cancel EXECUTION",
		"POST", "/cancel", func(w io.Writer, ex map[string]any) {
			fmt.Fprintf(w, "execution %s %s\n", str(ex["id"]), str(ex["status"]))
		})

	var retryWait bool
	var retryOutput string
	retry := &cobra.Command{
		Use:     "retry EXECUTION",
		Short:   "Start a new run with the input of a finished one",
		Example: "  turbocat executions retry EXECUTION\n  turbocat executions retry EXECUTION --wait",
		Args:    cobra.ExactArgs(1),
		RunE: withClient(env, &retryOutput, func(cmd *cobra.Command, c *client, args []string) error {
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
		}),
	}
	retry.Flags().BoolVarP(&retryWait, "wait", "w", false, "wait for the new run to end")
	addOutputFlag(retry, &retryOutput)

	cmd.AddCommand(list, get, cancel, retry)
	return cmd
}

// printList writes items as JSON or as a table of row(item).
// listSpec describes a `list` subcommand over an API collection.
type listSpec struct {
	short, example, path string
	header               []string
	row                  func(map[string]any) []string
	// query returns the collection's filters (nil: none); it may look
	// names up.
	query func(ctx context.Context, c *client) (url.Values, error)
	// keep filters the items (nil keeps every one).
	keep func(map[string]any) bool
	// workflowNames shows workflow names instead of ids in tables.
	workflowNames bool
}

// listCmd is `list` (alias ls): every page of the collection, as a table or
// with -o json. The caller adds its filter flags.
func listCmd(env *Env, spec listSpec) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   spec.short,
		Example: spec.example,
		Args:    cobra.NoArgs,
		RunE: withClient(env, &output, func(cmd *cobra.Command, c *client, _ []string) error {
			var q url.Values
			if spec.query != nil {
				var err error
				if q, err = spec.query(cmd.Context(), c); err != nil {
					return err
				}
			}
			items, err := c.list(cmd.Context(), spec.path, q)
			if err != nil {
				return err
			}
			if spec.keep != nil {
				items = slices.DeleteFunc(items, func(m map[string]any) bool { return !spec.keep(m) })
			}
			if spec.workflowNames && output != "json" {
				showWorkflowNames(cmd.Context(), c, items...)
			}
			return printList(env, output, spec.header, items, spec.row)
		}),
	}
	addOutputFlag(cmd, &output)
	return cmd
}

// workflowFilter sets q's workflowId to the workflow named (or given by
// id) by workflow, when it is not empty.
func workflowFilter(ctx context.Context, c *client, workflow string, q url.Values) error {
	if workflow == "" {
		return nil
	}
	id, err := c.resolve(ctx, "workflows", workflow)
	if err != nil {
		return err
	}
	q.Set("workflowId", id)
	return nil
}

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
