package cli

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func loginCmd(env *Env) *cobra.Command {
	var email, password, apiKey, apiURL, output string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign in and store the credentials",
		Long: `Signs in with an email and password (a session, refreshed as needed) or
stores an API key, in the user config directory (turbocat/credentials.json,
mode 0600). TURBOCAT_API_URL (default ` + DefaultAPIURL + `) picks the server;
in CI, set TURBOCAT_API_KEY instead of logging in.`,
		Example: `  turbocat login --email me@example.com --password-stdin < pass.txt
  turbocat login --api-key tc_0123456789ab_...
  TURBOCAT_API_URL=https://api.example.com turbocat login --email me@example.com   # asks for the password, not echoed`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			ctx := cmd.Context()
			c, err := env.client()
			if err != nil {
				return err
			}
			if apiURL != "" {
				c.base = strings.TrimRight(apiURL, "/")
			}
			creds := Credentials{APIURL: c.base}
			c.creds, c.key = Credentials{}, ""
			if apiKey != "" {
				c.key = apiKey
				var me struct{ Email string }
				if err := c.do(ctx, "GET", "/api/v1/auth/me", nil, &me); err != nil {
					return fmt.Errorf("check the API key: %w", err)
				}
				creds.APIKey, creds.Email = apiKey, me.Email
			} else {
				in := bufio.NewReader(env.Stdin)
				if email == "" {
					fmt.Fprint(env.Stderr, "Email: ")
					email, _ = in.ReadString('\n')
					email = strings.TrimSpace(email)
				}
				if password == "" {
					typed, tty, err := "", false, error(nil)
					if !passwordStdin {
						typed, tty, err = readHidden(env, "Password: ")
					}
					switch {
					case err != nil:
						return fmt.Errorf("read the password: %w", err)
					case tty:
						password = typed
					default:
						password, _ = in.ReadString('\n')
						password = strings.TrimRight(password, "\r\n")
					}
				}
				var s session
				if err := c.do(ctx, "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": password}, &s); err != nil {
					return fmt.Errorf("login: %w", err)
				}
				creds.AccessToken, creds.RefreshToken, creds.Email = s.AccessToken, s.RefreshToken, s.User.Email
			}
			if err := env.saveCreds(creds); err != nil {
				return err
			}
			via := "session"
			if creds.APIKey != "" {
				via = "apiKey"
			}
			return report(env.Stdout, output, map[string]any{"apiUrl": creds.APIURL, "email": creds.Email, "via": via},
				fmt.Sprintf("Logged in to %s as %s", creds.APIURL, creds.Email))
		},
	}
	addOutputFlag(cmd, &output)
	f := cmd.Flags()
	f.StringVar(&email, "email", "", "account email (asked if absent)")
	f.StringVar(&password, "password", "", "password (prefer --password-stdin)")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	f.StringVar(&apiKey, "api-key", "", "store this API key (tc_...) instead of signing in")
	f.StringVar(&apiURL, "api-url", "", "API base URL (default TURBOCAT_API_URL or "+DefaultAPIURL+")")
	return cmd
}

func logoutCmd(env *Env) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "logout",
		Short:   "Forget the stored credentials",
		Example: "  turbocat logout",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			c, err := env.loadCreds()
			if err != nil {
				return err
			}
			if err := env.saveCreds(Credentials{APIURL: c.APIURL}); err != nil {
				return err
			}
			return report(env.Stdout, output, map[string]any{"loggedOut": true, "apiUrl": env.apiURL(c)}, "Logged out")
		},
	}
	addOutputFlag(cmd, &output)
	return cmd
}

func whoamiCmd(env *Env) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "whoami",
		Short:   "Show the signed-in user",
		Example: "  turbocat whoami\n  TURBOCAT_API_KEY=tc_... turbocat whoami -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := env.client()
			if err != nil {
				return err
			}
			if !c.authorized() {
				return errNotLoggedIn
			}
			var me map[string]any
			if err := c.do(cmd.Context(), "GET", "/api/v1/auth/me", nil, &me); err != nil {
				return err
			}
			if output == "json" {
				return printJSON(env.Stdout, me)
			}
			how := "session"
			if c.key != "" {
				how = "API key"
			}
			fmt.Fprintf(env.Stdout, "%s (%s) at %s via %s\n", str(me["email"]), str(me["role"]), c.base, how)
			return nil
		},
	}
	addOutputFlag(cmd, &output)
	return cmd
}
