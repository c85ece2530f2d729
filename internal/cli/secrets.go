package cli

import (
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
)

// maxSecretBytes is the largest secret value the API accepts.
const maxSecretBytes = 64 << 10

// secretsCmd is `turbocat secrets list|set|delete`. Values are read from
// standard input or an environment variable, never from arguments (which
// land in shell history and process listings), and are never printed.
func secretsCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "secrets",
		Aliases: []string{"secret"},
		Short:   "Set, list and delete the secrets agents use as {{secrets.NAME}}",
		Example: "  printf %s \"$OPENAI_API_KEY\" | turbocat secrets set OPENAI_API_KEY\n  turbocat secrets set SLACK_WEBHOOK_URL --from-env SLACK_WEBHOOK_URL\n  turbocat secrets list",
	}
	list := listCmd(env, listSpec{
		short:   "List your secrets by name (values are never shown)",
		example: "  turbocat secrets list\n  turbocat secrets list -o json",
		path:    "/api/v1/secrets", header: []string{"NAME", "UPDATED"},
		row: func(m map[string]any) []string { return []string{str(m["name"]), str(m["updatedAt"])} },
	})

	var fromEnv, setOutput, delOutput string
	set := &cobra.Command{
		Use:   "set NAME",
		Short: "Create or replace a secret, its value read from standard input or --from-env",
		Long: `Stores NAME's value, encrypted, for your agents and steps to use as
{{secrets.NAME}}. The value is asked for at a terminal (not echoed), read from
standard input when piped (one trailing newline is dropped) or, with --from-env VAR, from the environment variable VAR — handy in
CI, where secrets arrive as variables. It is never printed back.`,
		Example: "  printf %s \"$OPENAI_API_KEY\" | turbocat secrets set OPENAI_API_KEY\n  turbocat secrets set OPENAI_API_KEY --from-env OPENAI_API_KEY",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(setOutput); err != nil {
				return err
			}
			var value string
			if fromEnv != "" {
				value = env.getenv(fromEnv)
				if value == "" {
					return fmt.Errorf("environment variable %s is empty or not set", fromEnv)
				}
			} else if typed, ok, err := readHidden(env, "Value of "+args[0]+": "); ok {
				if err != nil {
					return fmt.Errorf("read the secret: %w", err)
				}
				value = typed
			} else {
				raw, err := io.ReadAll(io.LimitReader(env.Stdin, maxSecretBytes+2))
				if err != nil {
					return fmt.Errorf("read the secret from standard input: %w", err)
				}
				value = strings.TrimSuffix(strings.TrimSuffix(string(raw), "\n"), "\r")
			}
			if value == "" {
				return fmt.Errorf("no value: type it, pipe it on standard input or use --from-env VAR")
			}
			if len(value) > maxSecretBytes {
				return fmt.Errorf("the value is over %d KiB, the most a secret holds", maxSecretBytes>>10)
			}
			c, err := authedClient(env)
			if err != nil {
				return err
			}
			if err := c.do(cmd.Context(), "POST", "/api/v1/secrets", map[string]any{"name": args[0], "value": value}, nil); err != nil {
				return err
			}
			return report(env.Stdout, setOutput, map[string]any{"name": args[0], "set": true}, "secret "+args[0]+" set")
		},
	}
	set.Flags().StringVar(&fromEnv, "from-env", "", "read the value from this environment variable instead of standard input")
	addOutputFlag(set, &setOutput)

	del := &cobra.Command{
		Use:     "delete NAME",
		Aliases: []string{"rm"},
		Short:   "Delete a secret (agents using it then fail until it is set again)",
		Example: "  turbocat secrets delete OLD_TOKEN",
		Args:    cobra.ExactArgs(1),
		RunE: withClient(env, &delOutput, func(cmd *cobra.Command, c *client, args []string) error {
			if err := c.do(cmd.Context(), "DELETE", "/api/v1/secrets/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			return report(env.Stdout, delOutput, map[string]any{"name": args[0], "deleted": true}, "secret "+args[0]+" deleted")
		}),
	}
	addOutputFlag(del, &delOutput)
	cmd.AddCommand(list, set, del)
	return cmd
}
