package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
)

func deployCmd(env *Env) *cobra.Command {
	var environment, schedule, timezone, output, input string
	var canary, version int
	cmd := &cobra.Command{
		Use:   "deploy WORKFLOW --env ENV",
		Short: "Deploy a workflow's current version to an environment",
		Long: `Deploy publishes the workflow's current version (or --version N) and points the environment at it;
the environment's previous deployment steps aside and is kept for rollback. The
environment's webhook URL stays the same across deploys; its signing secret is
shown once, on the first deploy to the environment (rotate it with turbocat
deployments rotate-secret).`,
		Example: `  turbocat deploy digest --env prod
  turbocat deploy digest --env prod --schedule 'cron(0 9 * * ? *)' --timezone Europe/Paris
  turbocat deploy digest --env prod --canary 10
  turbocat deploy digest --env prod --version 3
  turbocat deploy pricing --env nightly --schedule 'rate(1 day)' --input '{"sku": "A-1"}'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if environment == "" {
				return fmt.Errorf("--env is required (e.g. --env prod)")
			}
			c, err := authedClient(env)
			if err != nil {
				return err
			}
			id, err := c.resolve(cmd.Context(), "workflows", args[0])
			if err != nil {
				return err
			}
			body := map[string]any{"environment": environment}
			if cmd.Flags().Changed("schedule") {
				body["schedule"] = schedule
			}
			if timezone != "" {
				body["timezone"] = timezone
			}
			if canary > 0 {
				body["canary"] = map[string]any{"weight": canary}
			}
			if version > 0 {
				body["version"] = version
			}
			if input != "" {
				in, err := readInput(env, input)
				if err != nil {
					return err
				}
				body["input"] = in
			}
			var d map[string]any
			if err := c.do(cmd.Context(), "POST", "/api/v1/workflows/"+id+"/deployments", body, &d); err != nil {
				return err
			}
			if output == "json" {
				return printJSON(env.Stdout, d)
			}
			fmt.Fprintf(env.Stdout, "deployment %s: %s version %s is %s\n", str(d["id"]), environment, str(d["version"]), str(d["status"]))
			if e := str0(d["error"]); e != "" {
				fmt.Fprintf(env.Stdout, "error: %s\n", e)
			}
			if u := str(d["endpointUrl"]); u != "" {
				fmt.Fprintf(env.Stdout, "webhook: %s\n", u)
			}
			printSigningSecret(env.Stdout, "", d, true)
			if fires, ok := d["nextFires"].([]any); ok && len(fires) > 0 {
				var next []string
				for _, f := range fires {
					next = append(next, str(f))
				}
				fmt.Fprintf(env.Stdout, "next runs: %s\n", strings.Join(next, ", "))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&environment, "env", "", "environment name (lowercase letters, digits, hyphens), e.g. prod")
	cmd.Flags().StringVar(&schedule, "schedule", "", "EventBridge schedule expression (default: the workflow's; \"\" for none)")
	cmd.Flags().StringVar(&timezone, "timezone", "", "IANA time zone of the schedule (default UTC)")
	cmd.Flags().IntVar(&version, "version", 0, "deploy this earlier version of the workflow instead of the current one")
	cmd.Flags().StringVar(&input, "input", "", "input of the runs the deployment starts without one (every schedule fire): a JSON object, @file or @-")
	cmd.Flags().IntVar(&canary, "canary", 0, "percentage of runs on the new version, beside the current one (1-99)")
	addOutputFlag(cmd, &output)
	return cmd
}

// printSigningSecret says what became of the webhook signing secret of a
// deployment just made: new (printed when show is set), or kept from the
// environment's previous deployment.
func printSigningSecret(w io.Writer, indent string, d map[string]any, show bool) {
	switch {
	case d["signingSecretKept"] == true:
		fmt.Fprintf(w, "%ssigning secret unchanged: the environment keeps its webhook URL and secret\n", indent)
	case str(d["signingSecret"]) == "":
	case show:
		fmt.Fprintf(w, "%ssigning secret (shown once, store it now): %s\n", indent, str(d["signingSecret"]))
	default:
		fmt.Fprintf(w, "%ssigning secret not shown (pass --show-secrets, or get a new one with `turbocat deployments rotate-secret %s`)\n", indent, str(d["id"]))
	}
}

// deploymentAction is a resourceAction on a deployment.
func deploymentAction(env *Env, use, short, example, method, suffix string, done func(w io.Writer, d map[string]any)) *cobra.Command {
	return resourceAction(env, "deployments", use, short, example, method, suffix, done)
}

// resourceAction is a command acting on one resource of a collection by id:
// method on /api/v1/<collection>/{id}<suffix>, then done prints the answer
// (or -o json prints it whole).
func resourceAction(env *Env, collection, use, short, example, method, suffix string, done func(w io.Writer, d map[string]any)) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     use,
		Short:   short,
		Example: example,
		Args:    cobra.ExactArgs(1),
		RunE: withClient(env, &output, func(cmd *cobra.Command, c *client, args []string) error {
			var body any
			if method == "POST" {
				body = map[string]any{}
			}
			var d map[string]any
			if err := c.do(cmd.Context(), method, "/api/v1/"+collection+"/"+url.PathEscape(args[0])+suffix, body, &d); err != nil {
				return err
			}
			if output == "json" {
				return printJSON(env.Stdout, d)
			}
			done(env.Stdout, d)
			return nil
		}),
	}
	addOutputFlag(cmd, &output)
	return cmd
}

func rollbackCmd(env *Env) *cobra.Command {
	return deploymentAction(env, "rollback DEPLOYMENT", "Point a deployment back at its previous version",
		"  turbocat rollback 5b0c3c9e-6a4b-4b8e-9d7e-2f1a9c1d3e4f", "POST", "/rollback",
		func(w io.Writer, d map[string]any) {
			fmt.Fprintf(w, "deployment %s: %s back on version %s\n", str(d["id"]), str(d["environment"]), str(d["version"]))
		})
}

// deploymentsCmd is `turbocat deployments list|get|rotate-secret|deactivate`.
func deploymentsCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "deployments",
		Aliases: []string{"deployment"},
		Short:   "List, show, rotate the signing secret of and deactivate deployments",
		Example: "  turbocat deployments list --workflow digest\n  turbocat deployments rotate-secret DEPLOYMENT",
	}
	header := []string{"ID", "WORKFLOW", "ENVIRONMENT", "VERSION", "STATUS", "SCHEDULE", "ENDPOINT"}
	row := func(m map[string]any) []string {
		sched := str(m["schedule"])
		if sched == "" {
			sched = "-"
		} else if tz := str(m["timezone"]); tz != "" && tz != "UTC" {
			sched += " " + tz
		}
		return []string{str(m["id"]), str(m["workflowId"]), str(m["environment"]), str(m["version"]), str(m["status"]), sched, str(m["endpointUrl"])}
	}
	var workflow, environment string
	var all bool
	list := listCmd(env, listSpec{
		short:   "List active deployments (--all for their history too)",
		example: "  turbocat deployments list\n  turbocat deployments list --workflow digest --env prod --all -o json",
		path:    "/api/v1/deployments", header: header, row: row, workflowNames: true,
		query: func(ctx context.Context, c *client) (url.Values, error) {
			q := url.Values{}
			if environment != "" {
				q.Set("environment", environment)
			}
			return q, workflowFilter(ctx, c, workflow, q)
		},
		keep: func(d map[string]any) bool { return all || d["status"] == "active" || d["status"] == "pending" },
	})
	list.Flags().StringVar(&workflow, "workflow", "", "only deployments of this workflow (name or id)")
	list.Flags().StringVar(&environment, "env", "", "only deployments to this environment")
	list.Flags().BoolVar(&all, "all", false, "include inactive and failed deployments")

	var getOutput string
	get := &cobra.Command{
		Use:     "get DEPLOYMENT",
		Short:   "Show one deployment, its next scheduled runs and its failed schedule fires",
		Example: "  turbocat deployments get 5b0c3c9e-6a4b-4b8e-9d7e-2f1a9c1d3e4f\n  turbocat deployments get 5b0c3c9e-6a4b-4b8e-9d7e-2f1a9c1d3e4f -o json",
		Args:    cobra.ExactArgs(1),
		RunE: withClient(env, &getOutput, func(cmd *cobra.Command, c *client, args []string) error {
			var d map[string]any
			if err := c.do(cmd.Context(), "GET", "/api/v1/deployments/"+url.PathEscape(args[0]), nil, &d); err != nil {
				return err
			}
			if getOutput == "json" {
				return printJSON(env.Stdout, d)
			}
			w := env.Stdout
			showWorkflowNames(cmd.Context(), c, d)
			printTable(w, header, [][]string{row(d)})
			if fires, ok := d["nextFires"].([]any); ok && len(fires) > 0 {
				var next []string
				for _, f := range fires {
					next = append(next, str(f))
				}
				fmt.Fprintf(w, "next runs: %s\n", strings.Join(next, ", "))
			}
			if in, ok := d["input"]; ok && in != nil {
				b, _ := json.Marshal(in)
				fmt.Fprintf(w, "input of scheduled runs: %s\n", b)
			}
			failed, err := c.list(cmd.Context(), "/api/v1/executions", url.Values{"deploymentId": {str(d["id"])}, "trigger": {"schedule"}, "status": {"failed"}})
			if err != nil {
				return err
			}
			if len(failed) > 0 {
				fmt.Fprintf(w, "failed schedule fires (%d):\n", len(failed))
				for i, e := range failed {
					if i == 5 {
						fmt.Fprintf(w, "  ... (turbocat executions list --status failed)\n")
						break
					}
					fmt.Fprintf(w, "  %s %s %s\n", str(e["createdAt"]), str(e["id"]), errorText(e["error"]))
				}
			}
			return nil
		}),
	}
	addOutputFlag(get, &getOutput)
	rotate := deploymentAction(env, "rotate-secret DEPLOYMENT", "Give a deployment's webhook a new signing secret (the old one stops working)",
		"  turbocat deployments rotate-secret 5b0c3c9e-6a4b-4b8e-9d7e-2f1a9c1d3e4f", "POST", "/rotate-secret",
		func(w io.Writer, d map[string]any) {
			fmt.Fprintf(w, "deployment %s: new signing secret (shown once, store it now): %s\n", str(d["id"]), str(d["signingSecret"]))
		})
	deactivate := deploymentAction(env, "deactivate DEPLOYMENT", "Stop a deployment: its webhook answers 404 and its schedule stops",
		"  turbocat deployments deactivate 5b0c3c9e-6a4b-4b8e-9d7e-2f1a9c1d3e4f", "DELETE", "",
		func(w io.Writer, d map[string]any) {
			fmt.Fprintf(w, "deployment %s deactivated\n", str(d["id"]))
		})
	cmd.AddCommand(list, get, rotate, deactivate)
	return cmd
}
