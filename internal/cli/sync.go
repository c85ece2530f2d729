package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

// change is one difference between the files and the server.
type change struct {
	Action string   `json:"action"` // create, update, delete
	Kind   string   `json:"kind"`   // Agent, Workflow
	Name   string   `json:"name"`
	Fields []string `json:"fields,omitempty"` // fields that differ (update)

	id     string
	agent  *AgentSpec
	wf     *WorkflowSpec
	errMsg string
}

// server is the state of the caller's agents and workflows on the server.
type server struct {
	agents    map[string]map[string]any // by name
	workflows map[string]map[string]any
	agentName map[string]string // id → name
}

func fetchServer(ctx context.Context, c *client) (*server, error) {
	s := &server{agents: map[string]map[string]any{}, workflows: map[string]map[string]any{}, agentName: map[string]string{}}
	agents, err := c.list(ctx, "/api/v1/agents", nil)
	if err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	for _, a := range agents {
		s.agents[str(a["name"])] = a
		s.agentName[str(a["id"])] = str(a["name"])
	}
	wfs, err := c.list(ctx, "/api/v1/workflows", nil)
	if err != nil {
		return nil, fmt.Errorf("list workflows: %w", err)
	}
	for _, w := range wfs {
		s.workflows[str(w["name"])] = w
	}
	return s, nil
}

func canon(v any) string {
	b, _ := json.Marshal(jsonable(v))
	if string(b) == "null" {
		return ""
	}
	return string(b)
}

func emptyAsNil(v any) any {
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 {
			return nil
		}
	case []any:
		if len(t) == 0 {
			return nil
		}
	case string:
		if t == "" {
			return nil
		}
	}
	return v
}

func agentDiff(a *AgentSpec, have map[string]any) []string {
	var fields []string
	if a.Description != str0(have["description"]) {
		fields = append(fields, "description")
	}
	if canon(emptyAsNil(jsonable(a.Config))) != canon(emptyAsNil(have["config"])) {
		fields = append(fields, "config")
	}
	if a.Status != "" && a.Status != str0(have["status"]) {
		fields = append(fields, "status")
	}
	return fields
}

func str0(v any) string {
	s, _ := v.(string)
	return s
}

// serverSteps turns the server's steps into the file form.
func (s *server) serverSteps(w map[string]any) []StepSpec {
	raw, _ := json.Marshal(w["steps"])
	var steps []struct {
		Key            string         `json:"key"`
		AgentID        string         `json:"agentId"`
		DependsOn      []string       `json:"dependsOn"`
		Inputs         map[string]any `json:"inputs"`
		Retry          map[string]any `json:"retry"`
		TimeoutSeconds int            `json:"timeoutSeconds"`
	}
	_ = json.Unmarshal(raw, &steps)
	out := make([]StepSpec, len(steps))
	for i, st := range steps {
		name, ok := s.agentName[st.AgentID]
		if !ok {
			name = st.AgentID
		}
		out[i] = StepSpec{Key: st.Key, Agent: name, DependsOn: st.DependsOn, Inputs: st.Inputs, Retry: st.Retry, TimeoutSeconds: st.TimeoutSeconds}
	}
	return out
}

func stepsEqual(want, have []StepSpec) bool {
	if len(want) != len(have) {
		return false
	}
	for i := range want {
		w, h := want[i], have[i]
		if w.Key != h.Key || w.Agent != h.Agent || w.TimeoutSeconds != h.TimeoutSeconds ||
			canon(emptyAsNil(toAnyList(w.DependsOn))) != canon(emptyAsNil(toAnyList(h.DependsOn))) ||
			canon(emptyAsNil(jsonable(w.Inputs))) != canon(emptyAsNil(jsonable(h.Inputs))) {
			return false
		}
		// A retry policy is compared on the fields the file sets (the
		// server fills in defaults).
		for k, v := range w.Retry {
			if canon(v) != canon(h.Retry[k]) {
				return false
			}
		}
		if w.Retry == nil && h.Retry != nil {
			return false
		}
	}
	return true
}

func toAnyList(s []string) any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}

func (s *server) workflowDiff(w *WorkflowSpec, have map[string]any) []string {
	var fields []string
	if w.Description != str0(have["description"]) {
		fields = append(fields, "description")
	}
	if canon(emptyAsNil(jsonable(w.InputSchema))) != canon(emptyAsNil(have["inputSchema"])) {
		fields = append(fields, "inputSchema")
	}
	if canon(w.Output) != canon(have["output"]) {
		fields = append(fields, "output")
	}
	if w.Schedule != str0(have["schedule"]) {
		fields = append(fields, "schedule")
	}
	if !stepsEqual(w.Steps, s.serverSteps(have)) {
		fields = append(fields, "steps")
	}
	return fields
}

// plan lists the changes apply would make, agents first, deletions last.
func plan(b *Bundle, s *server, prune bool) []change {
	var out []change
	for _, a := range b.Agents {
		have, ok := s.agents[a.Name]
		switch {
		case !ok:
			out = append(out, change{Action: "create", Kind: KindAgent, Name: a.Name, agent: a})
		case str0(have["type"]) != a.Type:
			out = append(out, change{Action: "update", Kind: KindAgent, Name: a.Name, Fields: []string{"type"}, id: str(have["id"]), agent: a,
				errMsg: fmt.Sprintf("agent %q is of type %s on the server: the type cannot change (rename it, or delete the agent first)", a.Name, str(have["type"]))})
		default:
			if f := agentDiff(a, have); len(f) > 0 {
				out = append(out, change{Action: "update", Kind: KindAgent, Name: a.Name, Fields: f, id: str(have["id"]), agent: a})
			}
		}
	}
	for _, w := range b.Workflows {
		have, ok := s.workflows[w.Name]
		if !ok {
			out = append(out, change{Action: "create", Kind: KindWorkflow, Name: w.Name, wf: w})
		} else if f := s.workflowDiff(w, have); len(f) > 0 {
			out = append(out, change{Action: "update", Kind: KindWorkflow, Name: w.Name, Fields: f, id: str(have["id"]), wf: w})
		}
	}
	if prune {
		want := map[string]bool{}
		for _, w := range b.Workflows {
			want[w.Name] = true
		}
		for _, name := range slices.Sorted(maps.Keys(s.workflows)) {
			if !want[name] {
				out = append(out, change{Action: "delete", Kind: KindWorkflow, Name: name, id: str(s.workflows[name]["id"])})
			}
		}
		want = map[string]bool{}
		for _, a := range b.Agents {
			want[a.Name] = true
		}
		for _, name := range slices.Sorted(maps.Keys(s.agents)) {
			if !want[name] {
				out = append(out, change{Action: "delete", Kind: KindAgent, Name: name, id: str(s.agents[name]["id"])})
			}
		}
	}
	return out
}

func printPlan(w io.Writer, changes []change) {
	var created, updated, deleted int
	for _, c := range changes {
		switch c.Action {
		case "create":
			created++
			fmt.Fprintf(w, "+ create %s %s\n", kindWord(c.Kind), c.Name)
		case "update":
			updated++
			fmt.Fprintf(w, "~ update %s %s (%s)\n", kindWord(c.Kind), c.Name, joinFields(c.Fields))
		case "delete":
			deleted++
			fmt.Fprintf(w, "- delete %s %s\n", kindWord(c.Kind), c.Name)
		}
	}
	if len(changes) == 0 {
		fmt.Fprintln(w, "No changes: the server matches the files.")
		return
	}
	fmt.Fprintf(w, "Plan: %d to create, %d to update, %d to delete.\n", created, updated, deleted)
}

func kindWord(k string) string {
	if k == KindAgent {
		return "agent"
	}
	return "workflow"
}

func joinFields(f []string) string {
	b := &bytes.Buffer{}
	for i, x := range f {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(x)
	}
	return b.String()
}

func agentBody(a *AgentSpec) map[string]any {
	body := map[string]any{"name": a.Name, "description": a.Description, "type": a.Type, "config": jsonable(a.Config)}
	if body["config"] == nil {
		body["config"] = map[string]any{}
	}
	if a.Status != "" {
		body["status"] = a.Status
	}
	return body
}

func workflowBody(w *WorkflowSpec, agentIDs map[string]string) (map[string]any, error) {
	steps := make([]map[string]any, len(w.Steps))
	for i, s := range w.Steps {
		id, ok := agentIDs[s.Agent]
		if !ok {
			return nil, fmt.Errorf("workflow %q step %q: agent %q does not exist", w.Name, s.Key, s.Agent)
		}
		st := map[string]any{"key": s.Key, "agentId": id, "dependsOn": s.DependsOn}
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
	return body, nil
}

// apply makes the changes, printing each as it is made.
func apply(ctx context.Context, c *client, s *server, changes []change, out io.Writer) error {
	for _, ch := range changes {
		if ch.errMsg != "" {
			return errors.New(ch.errMsg)
		}
	}
	agentIDs := map[string]string{}
	for name, a := range s.agents {
		agentIDs[name] = str(a["id"])
	}
	for _, ch := range changes {
		var err error
		switch {
		case ch.Kind == KindAgent && ch.Action == "create":
			var a map[string]any
			err = c.do(ctx, "POST", "/api/v1/agents", agentBody(ch.agent), &a)
			agentIDs[ch.Name] = str(a["id"])
		case ch.Kind == KindAgent && ch.Action == "update":
			body := agentBody(ch.agent)
			delete(body, "type")
			err = c.do(ctx, "PATCH", "/api/v1/agents/"+ch.id, body, nil)
		case ch.Kind == KindWorkflow && (ch.Action == "create" || ch.Action == "update"):
			var body map[string]any
			body, err = workflowBody(ch.wf, agentIDs)
			if err == nil && ch.Action == "create" {
				err = c.do(ctx, "POST", "/api/v1/workflows", body, nil)
			} else if err == nil {
				err = c.do(ctx, "PUT", "/api/v1/workflows/"+ch.id, body, nil)
			}
		case ch.Action == "delete":
			path := "/api/v1/workflows/"
			if ch.Kind == KindAgent {
				path = "/api/v1/agents/"
			}
			err = c.do(ctx, "DELETE", path+ch.id, nil, nil)
		}
		if err != nil {
			return fmt.Errorf("%s %s %s: %w", ch.Action, kindWord(ch.Kind), ch.Name, err)
		}
		fmt.Fprintf(out, "%sd %s %s\n", ch.Action, kindWord(ch.Kind), ch.Name)
	}
	return nil
}

// exportYAML writes the server's agents and workflows as files documents.
func exportYAML(w io.Writer, s *server) error {
	var docs []any
	for _, name := range slices.Sorted(maps.Keys(s.agents)) {
		a := s.agents[name]
		cfg, _ := jsonable(a["config"]).(map[string]any)
		spec := &AgentSpec{Kind: KindAgent, Name: name, Description: str0(a["description"]), Type: str0(a["type"]), Config: cfg}
		if st := str0(a["status"]); st != "" && st != "active" {
			spec.Status = st
		}
		docs = append(docs, spec)
	}
	for _, name := range slices.Sorted(maps.Keys(s.workflows)) {
		wf := s.workflows[name]
		spec := &WorkflowSpec{Kind: KindWorkflow, Name: name, Description: str0(wf["description"]), Schedule: str0(wf["schedule"]), Output: wf["output"], Steps: s.serverSteps(wf)}
		spec.InputSchema, _ = wf["inputSchema"].(map[string]any)
		docs = append(docs, spec)
	}
	for i, d := range docs {
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(d); err != nil {
			return fmt.Errorf("encode export: %w", err)
		}
		if err := enc.Close(); err != nil {
			return fmt.Errorf("encode export: %w", err)
		}
	}
	return nil
}

func fileFlags(cmd *cobra.Command, files *[]string) {
	cmd.Flags().StringSliceVarP(files, "file", "f", nil, "a YAML file or a directory of them (repeatable)")
	_ = cmd.MarkFlagRequired("file")
}

func loadForCommand(env *Env, files []string) (*Bundle, error) {
	b, err := LoadFiles(files...)
	var fe FileErrors
	if errors.As(err, &fe) {
		fmt.Fprintln(env.Stderr, fe.Error())
		return nil, &ExitError{Code: 1, Err: fmt.Errorf("%d problem(s) in the files", len(fe))}
	}
	return b, err
}

// addFileCommands adds validate, plan, apply and export.
func addFileCommands(root *cobra.Command, env *Env) {
	var vFiles []string
	validate := &cobra.Command{
		Use:   "validate -f DIR|FILE",
		Short: "Check workflow files offline",
		Long: `Checks agents and workflows written as YAML files without calling the server:
structure, unique names, agent references, step graphs (cycles included) and
templates. Problems are printed as file:line: message; the exit code is 1 when
there is any.`,
		Example: "  turbocat validate -f examples/\n  turbocat validate -f agents.yaml -f workflows.yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := loadForCommand(env, vFiles)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "OK: %d agent(s), %d workflow(s)\n", len(b.Agents), len(b.Workflows))
			return nil
		},
	}
	fileFlags(validate, &vFiles)

	var pFiles []string
	var pPrune bool
	var pOutput string
	planCmd := &cobra.Command{
		Use:   "plan -f DIR|FILE",
		Short: "Show what apply would change on the server",
		Long: `Compares the files with the server. Exit code 0 when nothing would change,
2 when apply would make changes, 1 on error.`,
		Example: "  turbocat plan -f examples/\n  turbocat plan -f examples/ --prune -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(pOutput); err != nil {
				return err
			}
			b, err := loadForCommand(env, pFiles)
			if err != nil {
				return err
			}
			c, err := authedClient(env)
			if err != nil {
				return err
			}
			s, err := fetchServer(cmd.Context(), c)
			if err != nil {
				return err
			}
			changes := plan(b, s, pPrune)
			if pOutput == "json" {
				if changes == nil {
					changes = []change{}
				}
				if err := printJSON(env.Stdout, changes); err != nil {
					return err
				}
			} else {
				printPlan(env.Stdout, changes)
			}
			if len(changes) > 0 {
				return &ExitError{Code: 2}
			}
			return nil
		},
	}
	fileFlags(planCmd, &pFiles)
	planCmd.Flags().BoolVar(&pPrune, "prune", false, "also list server agents and workflows absent from the files for deletion")
	addOutputFlag(planCmd, &pOutput)

	var aFiles []string
	var aPrune, yes bool
	applyCmd := &cobra.Command{
		Use:   "apply -f DIR|FILE",
		Short: "Create or update the server's agents and workflows from files",
		Long: `Upserts agents and workflows by name: creates the missing ones, updates the
ones that differ and leaves the others alone, so a second apply changes
nothing. With --prune --yes, deletes what the files do not define.`,
		Example: "  turbocat apply -f examples/\n  turbocat apply -f examples/ --prune --yes",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if aPrune && !yes {
				return errors.New("--prune deletes agents and workflows absent from the files: add --yes to confirm (see turbocat plan --prune)")
			}
			b, err := loadForCommand(env, aFiles)
			if err != nil {
				return err
			}
			c, err := authedClient(env)
			if err != nil {
				return err
			}
			s, err := fetchServer(cmd.Context(), c)
			if err != nil {
				return err
			}
			changes := plan(b, s, aPrune)
			if len(changes) == 0 {
				fmt.Fprintln(env.Stdout, "No changes: the server matches the files.")
				return nil
			}
			if err := apply(cmd.Context(), c, s, changes, env.Stdout); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "Applied %d change(s).\n", len(changes))
			return nil
		},
	}
	fileFlags(applyCmd, &aFiles)
	applyCmd.Flags().BoolVar(&aPrune, "prune", false, "delete server agents and workflows absent from the files (needs --yes)")
	applyCmd.Flags().BoolVarP(&yes, "yes", "y", false, "confirm --prune")

	export := &cobra.Command{
		Use:     "export",
		Short:   "Print the server's agents and workflows as YAML files",
		Long:    "Writes every agent and workflow of the caller as YAML documents that validate, plan and apply read back.",
		Example: "  turbocat export > turbocat.yaml\n  turbocat export | turbocat validate -f /dev/stdin",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := authedClient(env)
			if err != nil {
				return err
			}
			s, err := fetchServer(cmd.Context(), c)
			if err != nil {
				return err
			}
			return exportYAML(env.Stdout, s)
		},
	}
	root.AddCommand(validate, planCmd, applyCmd, export)

}
