package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func deployCmd(env *Env) *cobra.Command {
	var environment, schedule, timezone, output string
	var canary int
	cmd := &cobra.Command{
		Use:   "deploy WORKFLOW --env ENV",
		Short: "Deploy a workflow's current version to an environment",
		Long: `Deploy publishes the workflow's current version and points the environment at it;
the environment's previous deployment steps aside and is kept for rollback. The
answer carries the webhook endpoint and its signing secret, shown this once.`,
		Example: `  turbocat deploy digest --env prod
  turbocat deploy digest --env prod --schedule 'cron(0 9 * * ? *)' --timezone Europe/Paris
  turbocat deploy digest --env prod --canary 10`,
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
			var d map[string]any
			if err := c.do(cmd.Context(), "POST", "/api/v1/workflows/"+id+"/deployments", body, &d); err != nil {
				return err
			}
			if output == "json" {
				return printJSON(env.Stdout, d)
			}
			fmt.Fprintf(env.Stdout, "deployment %s: %s version %s is %s\n", str(d["id"]), environment, str(d["version"]), str(d["status"]))
			if e := str(d["error"]); e != "" {
				fmt.Fprintf(env.Stdout, "error: %s\n", e)
			}
			if u := str(d["endpointUrl"]); u != "" {
				fmt.Fprintf(env.Stdout, "webhook: %s\n", u)
			}
			if s := str(d["signingSecret"]); s != "" {
				fmt.Fprintf(env.Stdout, "signing secret (shown once, store it now): %s\n", s)
			}
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
	cmd.Flags().IntVar(&canary, "canary", 0, "percentage of runs on the new version, beside the current one (1-99)")
	addOutputFlag(cmd, &output)
	return cmd
}

func rollbackCmd(env *Env) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "rollback DEPLOYMENT",
		Short:   "Point a deployment back at its previous version",
		Example: "  turbocat rollback 5b0c3c9e-6a4b-4b8e-9d7e-2f1a9c1d3e4f",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			c, err := authedClient(env)
			if err != nil {
				return err
			}
			var d map[string]any
			if err := c.do(cmd.Context(), "POST", "/api/v1/deployments/"+args[0]+"/rollback", map[string]any{}, &d); err != nil {
				return err
			}
			if output == "json" {
				return printJSON(env.Stdout, d)
			}
			fmt.Fprintf(env.Stdout, "deployment %s: %s back on version %s\n", str(d["id"]), str(d["environment"]), str(d["version"]))
			return nil
		},
	}
	addOutputFlag(cmd, &output)
	return cmd
}
