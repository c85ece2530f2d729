package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"

	"github.com/turbocat/turbocat/internal/workflowcheck"

	"github.com/spf13/cobra"
)

func agentBody(a *AgentSpec) map[string]any {
	body := map[string]any{"name": a.Name, "description": a.Description, "type": a.Type, "config": jsonable(a.Config)}
	if body["config"] == nil {
		body["config"] = map[string]any{}
	}
	if a.Status != "" {
		body["status"] = a.Status
	}
	// null removes a schema the file no longer has.
	body["inputSchema"] = jsonable(a.InputSchema)
	if len(a.InputSchema) == 0 {
		body["inputSchema"] = nil
	}
	return body
}

func workflowBody(w *WorkflowSpec, agentIDs map[string]string) (map[string]any, error) {
	steps := make([]map[string]any, len(w.Steps))
	for i, s := range w.Steps {
		st := map[string]any{"key": s.Key, "dependsOn": s.DependsOn}
		if s.stepType() == "agent" {
			id, ok := agentIDs[s.Agent]
			if !ok {
				return nil, fmt.Errorf("workflow %q step %q: agent %q does not exist", w.Name, s.Key, s.Agent)
			}
			st["agentId"] = id
		}
		addFlowFields(st, &s)
		if s.DependsOn == nil {
			st["dependsOn"] = []string{}
		}
		if s.Inputs != nil {
			st["inputs"] = s.Inputs
		}
		if s.Retry != nil {
			st["retry"] = s.Retry
		}
		if s.TimeoutSeconds != 0 {
			st["timeoutSeconds"] = s.TimeoutSeconds
		}
		steps[i] = st
	}
	body := map[string]any{"name": w.Name, "description": w.Description, "steps": steps}
	if w.InputSchema != nil {
		body["inputSchema"] = w.InputSchema
	}
	if w.Output != nil {
		body["output"] = w.Output
	}
	if w.Schedule != "" {
		body["schedule"] = w.Schedule
	}
	if w.MaxConcurrentRuns != 0 {
		body["maxConcurrentRuns"] = w.MaxConcurrentRuns
	}
	body["maxCostUsd"], body["maxTokens"] = w.MaxCostUSD, w.MaxTokens // null clears them
	return body, nil
}

// apply makes the changes, printing each as it is made. A deployment's
// webhook signing secret is printed only when showSecrets is set.
func apply(ctx context.Context, c *client, s *server, changes []change, out io.Writer, showSecrets bool) ([]map[string]any, error) {
	var done []map[string]any
	if err := changeErrors(changes); err != nil {
		return nil, err
	}
	agentIDs := map[string]string{}
	for name, a := range s.agents {
		agentIDs[name] = str(a["id"])
	}
	workflowIDs := map[string]string{}
	for name, w := range s.workflows {
		workflowIDs[name] = str(w["id"])
	}
	// An llm agent whose tools name a workflow this apply creates is saved
	// without those tools first (the server refuses a tool naming no
	// workflow, and the workflow may run the agent), then given them once
	// the workflows exist.
	created := map[string]bool{}
	for _, ch := range changes {
		if ch.Kind == KindWorkflow && ch.Action == "create" {
			created[ch.Name] = true
		}
	}
	var pending []pendingTools
	for i, ch := range changes {
		var err error
		var deployed map[string]any
		switch {
		case ch.Kind == KindAgent && ch.Action == "create":
			full := agentBody(ch.agent)
			body, later := withoutNewWorkflowTools(full, created)
			var a map[string]any
			err = c.do(ctx, "POST", "/api/v1/agents", body, &a)
			agentIDs[ch.Name] = str(a["id"])
			if later {
				pending = append(pending, pendingTools{name: ch.Name, id: str(a["id"]), config: full["config"]})
			}
		case ch.Kind == KindAgent && ch.Action == "update":
			full := agentBody(ch.agent)
			body, later := withoutNewWorkflowTools(full, created)
			delete(body, "type")
			err = c.do(ctx, "PATCH", "/api/v1/agents/"+ch.id, body, nil)
			if later {
				pending = append(pending, pendingTools{name: ch.Name, id: ch.id, config: full["config"]})
			}
		case ch.Kind == KindWorkflow && (ch.Action == "create" || ch.Action == "update"):
			var body map[string]any
			body, err = workflowBody(ch.wf, agentIDs)
			if err == nil && ch.Action == "create" {
				var w map[string]any
				err = c.do(ctx, "POST", "/api/v1/workflows", body, &w)
				workflowIDs[ch.Name] = str(w["id"])
			} else if err == nil {
				err = c.do(ctx, "PUT", "/api/v1/workflows/"+ch.id, body, nil)
			}
		case ch.Kind == KindDeployment && ch.Action != "delete":
			// A deployment is (re)made by deploying the workflow's
			// current version; the previous one is kept for rollback.
			body := map[string]any{"environment": ch.dep.Environment, "timezone": ch.dep.timezone()}
			if ch.dep.Schedule != nil {
				body["schedule"] = *ch.dep.Schedule
			}
			if ch.dep.Version > 0 {
				body["version"] = ch.dep.Version
			}
			if ch.dep.Input != nil {
				body["input"] = ch.dep.Input
			}
			err = c.do(ctx, "POST", "/api/v1/workflows/"+workflowIDs[ch.dep.Workflow]+"/deployments", body, &deployed)
			if err == nil && str(deployed["status"]) == "failed" {
				err = fmt.Errorf("the deployment failed: %s", str(deployed["error"]))
			}
		case ch.Kind == KindDeployment:
			err = c.do(ctx, "DELETE", "/api/v1/deployments/"+ch.id, nil, nil)
		case ch.Action == "delete":
			err = c.do(ctx, "DELETE", "/api/v1/"+kindWord(ch.Kind)+"s/"+ch.id, nil, nil)
		}
		if err != nil {
			return done, fmt.Errorf("%s %s %s: %w", ch.Action, kindWord(ch.Kind), ch.Name, err)
		}
		fmt.Fprintf(out, "%sd %s %s\n", ch.Action, kindWord(ch.Kind), ch.Name)
		rec := map[string]any{"action": ch.Action, "kind": ch.Kind, "name": ch.Name}
		done = append(done, rec)
		if deployed != nil {
			rec["deploymentId"], rec["version"], rec["endpointUrl"] = deployed["id"], deployed["version"], deployed["endpointUrl"]
			if showSecrets && str0(deployed["signingSecret"]) != "" {
				rec["signingSecret"] = deployed["signingSecret"]
			}
			fmt.Fprintf(out, "  deployment %s, version %s, webhook %s\n", str(deployed["id"]), str(deployed["version"]), str(deployed["endpointUrl"]))
			printSigningSecret(out, "  ", deployed, showSecrets)
		}
		if len(pending) > 0 && (i+1 == len(changes) || changes[i+1].Kind != KindAgent && changes[i+1].Kind != KindWorkflow) {
			// The workflows are made: the agents get their workflow tools.
			for _, p := range pending {
				if err := c.do(ctx, "PATCH", "/api/v1/agents/"+p.id, map[string]any{"config": p.config}, nil); err != nil {
					return done, fmt.Errorf("update agent %s (its workflow tools): %w", p.name, err)
				}
				fmt.Fprintf(out, "updated agent %s (its workflow tools)\n", p.name)
			}
			pending = nil
		}
	}
	return done, nil
}

// pendingTools is an agent whose workflow tools wait for their workflows.
type pendingTools struct {
	name, id string
	config   any
}

// withoutNewWorkflowTools returns an agent body without the tools that
// name workflows in created (a copy; body stays as it was), and whether
// it left any out.
func withoutNewWorkflowTools(body map[string]any, created map[string]bool) (map[string]any, bool) {
	cfg, ok := body["config"].(map[string]any)
	if !ok {
		return body, false
	}
	tools, ok := cfg["tools"].([]any)
	if !ok {
		return body, false
	}
	kept := make([]any, 0, len(tools))
	for _, t := range tools {
		if m, ok := t.(map[string]any); ok {
			if name, ok := m["workflow"].(string); ok && created[name] {
				continue
			}
		}
		kept = append(kept, t)
	}
	if len(kept) == len(tools) {
		return body, false
	}
	out, c := maps.Clone(body), maps.Clone(cfg)
	if len(kept) == 0 {
		delete(c, "tools")
	} else {
		c["tools"] = kept
	}
	out["config"] = c
	return out, true
}

func fileFlags(cmd *cobra.Command, files *[]string) {
	cmd.Flags().StringSliceVarP(files, "file", "f", nil, "a YAML or JSON file, or a directory of them (repeatable)")
	_ = cmd.MarkFlagRequired("file")
}

// loadFor loads the files; their problems go to standard error, or with
// -o json to standard output as {"valid": false, "problems": [...]}.
func loadFor(env *Env, files []string, output string) (*Bundle, error) {
	b, err := LoadFiles(files...)
	var fe FileErrors
	if errors.As(err, &fe) {
		if output == "json" {
			problems := make([]map[string]any, len(fe))
			for i, e := range fe {
				problems[i] = map[string]any{"file": e.File, "line": e.Line, "message": e.Message}
			}
			if err := printJSON(env.Stdout, map[string]any{"valid": false, "problems": problems}); err != nil {
				return nil, err
			}
		} else {
			fmt.Fprintln(env.Stderr, fe.Error())
		}
		return nil, &ExitError{Code: 1, Err: fmt.Errorf("%d problem(s) in the files", len(fe))}
	}
	return b, err
}

// serverPlan loads the files and compares them with the server.
func serverPlan(ctx context.Context, env *Env, files []string, prune bool, output string) (*client, *server, []change, []string, error) {
	b, err := loadFor(env, files, output)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	c, err := authedClient(env)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	s, err := fetchServer(ctx, c, len(b.Deployments) > 0 || prune, len(b.Secrets) > 0)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	changes, missing := plan(b, s, prune)
	return c, s, changes, missing, nil
}

// changeErrors is the error of the changes apply cannot make, if any.
func changeErrors(changes []change) error {
	var msgs []string
	for _, c := range changes {
		if c.Error != "" {
			msgs = append(msgs, c.Error)
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return &ExitError{Code: 1, Err: errors.New(strings.Join(msgs, "\n"))}
}

func missingSecretsError(missing []string) error {
	return &ExitError{Code: 1, Err: fmt.Errorf("%d secret(s) the files declare are not set on the server (%s): set them with `turbocat secrets set NAME`",
		len(missing), strings.Join(missing, ", "))}
}

// confirmDeletes asks on a terminal whether to make the deletions among
// changes; without a terminal it refuses, asking for --yes.
func confirmDeletes(env *Env, changes []change) error {
	var deletes []change
	for _, c := range changes {
		if c.Action == "delete" {
			deletes = append(deletes, c)
		}
	}
	if len(deletes) == 0 {
		return nil
	}
	if !isTerminal(env.Stdin) {
		return fmt.Errorf("--prune would delete %d resource(s) absent from the files: add --yes to confirm (see turbocat plan --prune)", len(deletes))
	}
	printPlan(env.Stdout, deletes, nil)
	fmt.Fprintf(env.Stdout, "Delete these %d resource(s)? Type yes to confirm: ", len(deletes))
	line, _ := bufio.NewReader(env.Stdin).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		return &ExitError{Code: 1, Err: errors.New("apply cancelled: nothing changed")}
	}
	return nil
}

// fileCommands are validate, plan, apply and export.
func fileCommands(env *Env) []*cobra.Command {
	var vFiles []string
	var vOutput string
	validate := &cobra.Command{
		Use:   "validate -f DIR|FILE",
		Short: "Check workflow files offline",
		Long: `Checks resource files (kind Agent, Workflow, Deployment, Secret) without calling
the server: structure, unique names, references between documents, step graphs
(cycles included), templates, schedule expressions and time zones, and that
every secret used is declared. Problems are printed as file:line: message; the
exit code is 1 when there is any.`,
		Example: "  turbocat validate -f examples/\n  turbocat validate -f agents.yaml -f workflows.yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(vOutput); err != nil {
				return err
			}
			b, err := loadFor(env, vFiles, vOutput)
			if err != nil {
				return err
			}
			text := fmt.Sprintf("OK: %d agent(s), %d workflow(s), %d deployment(s), %d secret(s)", len(b.Agents), len(b.Workflows), len(b.Deployments), len(b.Secrets))
			if b.hasConditions() {
				text += "\nnote: " + workflowcheck.SkipSemantics
			}
			return report(env.Stdout, vOutput, map[string]any{"valid": true, "problems": []any{}, "agents": len(b.Agents), "workflows": len(b.Workflows),
				"deployments": len(b.Deployments), "secrets": len(b.Secrets)}, text)
		},
	}
	fileFlags(validate, &vFiles)
	addOutputFlag(validate, &vOutput)

	var pFiles []string
	var pPrune bool
	var pOutput string
	planCmd := &cobra.Command{
		Use:   "plan -f DIR|FILE",
		Short: "Show what apply would change on the server",
		Long: `Compares the files with the server and prints what apply would create, update
(with a diff of each changed field) or, with --prune, delete. A deployment is
updated when its workflow changes, so an environment follows the files. Secrets
are checked by name only: a declared secret missing on the server is an error.
Exit code 0 when nothing would change, 2 when apply would make changes, 1 on
error.`,
		Example: "  turbocat plan -f examples/\n  turbocat plan -f examples/ --prune -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(pOutput); err != nil {
				return err
			}
			_, _, changes, missing, err := serverPlan(cmd.Context(), env, pFiles, pPrune, pOutput)
			if err != nil {
				return err
			}
			if pOutput == "json" {
				if changes == nil {
					changes = []change{}
				}
				if err := printJSON(env.Stdout, changes); err != nil {
					return err
				}
			} else {
				printPlan(env.Stdout, changes, missing)
			}
			if len(missing) > 0 {
				return missingSecretsError(missing)
			}
			if err := changeErrors(changes); err != nil {
				return err
			}
			if len(changes) > 0 {
				return &ExitError{Code: 2}
			}
			return nil
		},
	}
	fileFlags(planCmd, &pFiles)
	planCmd.Flags().BoolVar(&pPrune, "prune", false, "also list the agents, workflows and deployments absent from the files for deletion")
	addOutputFlag(planCmd, &pOutput)

	var aFiles []string
	var aPrune, yes, showSecrets bool
	var aOutput string
	applyCmd := &cobra.Command{
		Use:   "apply -f DIR|FILE",
		Short: "Create or update the server's resources from files",
		Long: `Upserts agents, workflows and deployments by name, in dependency order: creates
the missing ones, updates the ones that differ and leaves the others alone, so
a second apply changes nothing. A deployment follows its workflow: when the
workflow changes, the environment is redeployed on the new version (the
previous one is kept for rollback). Declared secrets must exist on the server
before anything changes. With --prune, also deletes (deactivates, for
deployments) what the files do not define, after a confirmation on a terminal
or with --yes.`,
		Example: "  turbocat apply -f examples/\n  turbocat apply -f examples/ --prune --yes\n  turbocat apply -f examples/ --show-secrets",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(aOutput); err != nil {
				return err
			}
			c, s, changes, missing, err := serverPlan(cmd.Context(), env, aFiles, aPrune, aOutput)
			if err != nil {
				return err
			}
			if len(missing) > 0 {
				printPlan(env.Stderr, nil, missing)
				return missingSecretsError(missing)
			}
			out := env.Stdout
			if aOutput == "json" {
				out = io.Discard
			}
			if len(changes) == 0 {
				return report(env.Stdout, aOutput, map[string]any{"applied": []any{}}, "No changes: the server matches the files.")
			}
			if !yes {
				if err := confirmDeletes(env, changes); err != nil {
					return err
				}
			}
			done, err := apply(cmd.Context(), c, s, changes, out, showSecrets)
			if aOutput == "json" && done != nil {
				if perr := printJSON(env.Stdout, map[string]any{"applied": done}); perr != nil {
					return perr
				}
			}
			if err != nil {
				return err
			}
			if aOutput != "json" {
				fmt.Fprintf(env.Stdout, "Applied %d change(s).\n", len(changes))
			}
			return nil
		},
	}
	addOutputFlag(applyCmd, &aOutput)
	fileFlags(applyCmd, &aFiles)
	applyCmd.Flags().BoolVar(&aPrune, "prune", false, "delete the agents and workflows and deactivate the deployments absent from the files")
	applyCmd.Flags().BoolVarP(&yes, "yes", "y", false, "make --prune's deletions without asking")
	applyCmd.Flags().BoolVar(&showSecrets, "show-secrets", false, "print the webhook signing secret of each deployment made (keep it out of CI logs)")

	return []*cobra.Command{validate, planCmd, applyCmd, exportCmd(env)}
}
