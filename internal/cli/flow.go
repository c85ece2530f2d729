package cli

import (
	"fmt"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"
)

// decideCmd is `turbocat approve` or `turbocat reject`: the decision on a
// run's waiting approval step.
func decideCmd(env *Env, verb string) *cobra.Command {
	var comment, output string
	what := map[string]string{"approve": "Approve", "reject": "Reject"}[verb]
	cmd := &cobra.Command{
		Use:   verb + " EXECUTION STEP",
		Short: what + " a run's waiting approval step",
		Long: what + ` the approval step STEP of run EXECUTION, which waits for a decision
(status waiting). Approving lets the run go on; rejecting fails the step with
Approval.Rejected (and the run, unless the step has onError: continue). The
decision, with its comment, is recorded in the step's output and audited.`,
		Example: fmt.Sprintf("  turbocat %s EXECUTION review\n  turbocat %s EXECUTION review --comment \"looks good\"", verb, verb),
		Args:    cobra.ExactArgs(2),
		RunE: withClient(env, &output, func(cmd *cobra.Command, c *client, args []string) error {
			body := map[string]any{}
			if comment != "" {
				body["comment"] = comment
			}
			var step map[string]any
			path := "/api/v1/executions/" + url.PathEscape(args[0]) + "/steps/" + url.PathEscape(args[1]) + "/" + verb
			if err := c.do(cmd.Context(), "POST", path, body, &step); err != nil {
				return err
			}
			if output == "json" {
				return printJSON(env.Stdout, step)
			}
			fmt.Fprintf(env.Stdout, "step %s of execution %s %s\n", str(step["stepKey"]), args[0], str(step["status"]))
			return nil
		}),
	}
	cmd.Flags().StringVar(&comment, "comment", "", "a comment recorded with the decision")
	addOutputFlag(cmd, &output)
	return cmd
}

// definitionCmd prints the Amazon States Language a workflow compiles to.
func definitionCmd(env *Env) *cobra.Command {
	var version int
	var output string
	cmd := &cobra.Command{
		Use:   "definition WORKFLOW",
		Short: "Print the state machine a workflow compiles to",
		Long: `Prints the Amazon States Language definition of a workflow (name or id), as
Step Functions runs it: a Task per agent step, Parallel for independent steps,
Choice for conditions, Map for forEach, Wait for waits, .waitForTaskToken Tasks
for approvals and states:startExecution.sync:2 Tasks for sub-workflows.`,
		Example: "  turbocat definition text-stats\n  turbocat definition text-stats --version 3 > text-stats.asl.json",
		Args:    cobra.ExactArgs(1),
		RunE: withClient(env, nil, func(cmd *cobra.Command, c *client, args []string) error {
			id, err := c.resolve(cmd.Context(), "workflows", args[0])
			if err != nil {
				return err
			}
			path := "/api/v1/workflows/" + id + "/definition"
			if version > 0 {
				path += "?version=" + strconv.Itoa(version)
			}
			if err := checkOutput(output); err != nil {
				return err
			}
			var def map[string]any
			if err := c.do(cmd.Context(), "GET", path, nil, &def); err != nil {
				return err
			}
			if output == "json" {
				return printJSON(env.Stdout, def) // with the version it is of
			}
			return printJSON(env.Stdout, def["definition"])
		}),
	}
	cmd.Flags().IntVar(&version, "version", 0, "a version of the workflow (default: the current one)")
	addOutputFlag(cmd, &output)
	return cmd
}
