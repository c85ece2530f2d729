// Package cli implements the turbocat command line client: login, runs,
// logs and resource listings against the Turbocat HTTP API.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// DefaultAPIURL is the API the client talks to when TURBOCAT_API_URL and the
// stored credentials name none: a local `turbocat dev`.
const DefaultAPIURL = "http://localhost:3001"

// Env is what the commands read from and write to; tests fill it in.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads the environment (TURBOCAT_API_URL, TURBOCAT_API_KEY).
	Getenv func(string) string
	// ConfigDir is the directory of credentials.json; empty for
	// os.UserConfigDir()/turbocat.
	ConfigDir string
}

// ExitError asks main to exit with Code after printing Err (if any).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode is the process exit code for err: 0 for nil, the code of an
// *ExitError, 1 otherwise.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return 1
}

func (e *Env) getenv(k string) string {
	if e.Getenv == nil {
		return os.Getenv(k)
	}
	return e.Getenv(k)
}

// Command groups of turbocat --help.
const (
	GroupFiles     = "files"
	GroupRuns      = "runs"
	GroupResources = "resources"
	GroupAccount   = "account"
)

// AddCommands adds the client commands (login, whoami, run, logs, replay,
// executions, deploy, rollback, deployments, secrets, agents, workflows,
// templates, validate, plan, apply, export) to root, in help groups.
func AddCommands(root *cobra.Command, env *Env) {
	root.AddGroup(
		&cobra.Group{ID: GroupFiles, Title: "Workflows as code:"},
		&cobra.Group{ID: GroupRuns, Title: "Runs:"},
		&cobra.Group{ID: GroupResources, Title: "Resources:"},
		&cobra.Group{ID: GroupAccount, Title: "Account:"},
	)
	inGroup := func(id string, cmds ...*cobra.Command) {
		for _, c := range cmds {
			c.GroupID = id
			root.AddCommand(c)
		}
	}
	inGroup(GroupAccount, loginCmd(env), logoutCmd(env), whoamiCmd(env))
	inGroup(GroupRuns, runCmd(env), logsCmd(env), turnsCmd(env), replayCmd(env), executionsCmd(env), decideCmd(env, "approve"), decideCmd(env, "reject"))
	inGroup(GroupResources, deployCmd(env), rollbackCmd(env), deploymentsCmd(env), secretsCmd(env),
		resourceCmd(env, "agents", "agent", []string{"ID", "NAME", "TYPE", "STATUS", "UPDATED"},
			func(m map[string]any) []string {
				return []string{str(m["id"]), str(m["name"]), str(m["type"]), str(m["status"]), str(m["updatedAt"])}
			}),
		resourceCmd(env, "workflows", "workflow", []string{"ID", "NAME", "VERSION", "STEPS", "UPDATED"},
			func(m map[string]any) []string {
				steps, _ := m["steps"].([]any)
				return []string{str(m["id"]), str(m["name"]), str(m["version"]), fmt.Sprint(len(steps)), str(m["updatedAt"])}
			}),
		resourceCmd(env, "templates", "template", []string{"ID", "NAME", "KIND", "UPDATED"},
			func(m map[string]any) []string {
				return []string{str(m["id"]), str(m["name"]), str(m["kind"]), str(m["updatedAt"])}
			}),
	)
	inGroup(GroupFiles, append(fileCommands(env), initCmd(env), definitionCmd(env))...)
	for _, c := range root.Commands() {
		refuseUnknownSubcommands(c)
	}
}

// refuseUnknownSubcommands makes every command group (executions,
// deployments, ...) fail on an unknown subcommand, with the ones it has,
// instead of printing its help and exiting 0; without one it prints its
// help.
func refuseUnknownSubcommands(c *cobra.Command) {
	if !c.HasSubCommands() {
		return
	}
	if c.Run == nil && c.RunE == nil {
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			var names []string
			for _, s := range cmd.Commands() {
				if s.IsAvailableCommand() {
					names = append(names, s.Name())
				}
			}
			return fmt.Errorf("unknown command %q for %q (it has: %s); see %s --help", args[0], cmd.CommandPath(), strings.Join(names, ", "), cmd.CommandPath())
		}
	}
	for _, s := range c.Commands() {
		refuseUnknownSubcommands(s)
	}
}
