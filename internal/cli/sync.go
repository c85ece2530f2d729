package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// change is one difference between the files and the server.
type change struct {
	Action string   `json:"action"` // create, update, delete
	Kind   string   `json:"kind"`   // Agent, Workflow, Deployment
	Name   string   `json:"name"`
	Fields []string `json:"fields,omitempty"` // fields that differ (update)
	// Diff holds each differing field's server value and file value.
	Diff map[string]fieldChange `json:"diff,omitempty"`
	// Error says why apply cannot make this change.
	Error string `json:"error,omitempty"`

	id    string
	agent *AgentSpec
	wf    *WorkflowSpec
	dep   *DeploymentSpec
	// before and after hold each differing field's server and file value,
	// for the readable diff.
	before, after map[string]any
}

// fieldChange is one field of an update, for -o json.
type fieldChange struct {
	Server any `json:"server"`
	Files  any `json:"files"`
}

func (c *change) field(name string, before, after any) {
	c.Fields = append(c.Fields, name)
	if c.before == nil {
		c.before, c.after, c.Diff = map[string]any{}, map[string]any{}, map[string]fieldChange{}
	}
	c.before[name], c.after[name] = before, after
	c.Diff[name] = fieldChange{Server: before, Files: after}
}

// server is the state of the caller's resources on the server.
type server struct {
	agents    map[string]map[string]any // by name
	workflows map[string]map[string]any
	agentName map[string]string // id → name
	// deployments are the active ones, by workflow/environment; nil when
	// not fetched.
	deployments map[string]map[string]any
	// secrets are the names of the caller's secrets; nil when not fetched.
	secrets map[string]bool
}

// fetchServer reads the caller's agents and workflows, and their
// deployments and secret names when asked to.
func fetchServer(ctx context.Context, c *client, deployments, secrets bool) (*server, error) {
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
	wfName := map[string]string{}
	for _, w := range wfs {
		s.workflows[str(w["name"])] = w
		wfName[str(w["id"])] = str(w["name"])
	}
	if deployments {
		deps, err := c.list(ctx, "/api/v1/deployments", nil)
		if err != nil {
			return nil, fmt.Errorf("list deployments: %w", err)
		}
		s.deployments = map[string]map[string]any{}
		for _, d := range deps {
			name, ok := wfName[str(d["workflowId"])]
			if !ok || (d["status"] != "active" && d["status"] != "pending") {
				continue
			}
			s.deployments[name+"/"+str(d["environment"])] = d
		}
	}
	if secrets {
		list, err := c.list(ctx, "/api/v1/secrets", nil)
		if err != nil {
			return nil, fmt.Errorf("list secrets: %w", err)
		}
		s.secrets = map[string]bool{}
		for _, x := range list {
			s.secrets[str(x["name"])] = true
		}
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

func agentDiff(ch *change, a *AgentSpec, have map[string]any) {
	if a.Description != str0(have["description"]) {
		ch.field("description", str0(have["description"]), a.Description)
	}
	if canon(emptyAsNil(jsonable(a.Config))) != canon(emptyAsNil(have["config"])) {
		ch.field("config", have["config"], jsonable(a.Config))
	}
	if a.Status != "" && a.Status != str0(have["status"]) {
		ch.field("status", str0(have["status"]), a.Status)
	}
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

func (s *server) workflowDiff(ch *change, w *WorkflowSpec, have map[string]any) {
	if w.Description != str0(have["description"]) {
		ch.field("description", str0(have["description"]), w.Description)
	}
	if canon(emptyAsNil(jsonable(w.InputSchema))) != canon(emptyAsNil(have["inputSchema"])) {
		ch.field("inputSchema", have["inputSchema"], jsonable(w.InputSchema))
	}
	if canon(w.Output) != canon(have["output"]) {
		ch.field("output", have["output"], w.Output)
	}
	if w.Schedule != str0(have["schedule"]) {
		ch.field("schedule", str0(have["schedule"]), w.Schedule)
	}
	if old := s.serverSteps(have); !stepsEqual(w.Steps, old) {
		ch.field("steps", shownSteps(old, w.Steps), shownSteps(w.Steps, nil))
	}
}

// shownSteps is steps as the diff shows them; a server retry policy shows
// only the fields the file's step sets (the server fills in the rest).
func shownSteps(steps, file []StepSpec) any {
	out := make([]StepSpec, len(steps))
	for i, st := range steps {
		if i < len(file) && file[i].Retry != nil && st.Retry != nil {
			r := map[string]any{}
			for k := range file[i].Retry {
				if v, ok := st.Retry[k]; ok {
					r[k] = v
				}
			}
			st.Retry = r
		}
		out[i] = st
	}
	return out
}

// plan lists the changes apply would make, in the order apply makes them:
// agents, workflows and deployments created or updated, then deployments,
// workflows and agents deleted. missing lists the secrets the files
// declare that the server does not have.
func plan(b *Bundle, s *server, prune bool) (changes []change, missing []string) {
	for _, a := range b.Agents {
		have, ok := s.agents[a.Name]
		switch {
		case !ok:
			changes = append(changes, change{Action: "create", Kind: KindAgent, Name: a.Name, agent: a})
		case str0(have["type"]) != a.Type:
			ch := change{Action: "update", Kind: KindAgent, Name: a.Name, id: str(have["id"]), agent: a,
				Error: fmt.Sprintf("agent %q is of type %s on the server: the type cannot change (rename it, or delete the agent first)", a.Name, str(have["type"]))}
			ch.field("type", str(have["type"]), a.Type)
			changes = append(changes, ch)
		default:
			ch := change{Action: "update", Kind: KindAgent, Name: a.Name, id: str(have["id"]), agent: a}
			if agentDiff(&ch, a, have); len(ch.Fields) > 0 {
				changes = append(changes, ch)
			}
		}
	}
	wfs := map[string]*WorkflowSpec{}
	changedWF := map[string]bool{}
	for _, w := range b.Workflows {
		wfs[w.Name] = w
		have, ok := s.workflows[w.Name]
		if !ok {
			changes = append(changes, change{Action: "create", Kind: KindWorkflow, Name: w.Name, wf: w})
			changedWF[w.Name] = true
			continue
		}
		ch := change{Action: "update", Kind: KindWorkflow, Name: w.Name, id: str(have["id"]), wf: w}
		if s.workflowDiff(&ch, w, have); len(ch.Fields) > 0 {
			changes = append(changes, ch)
			changedWF[w.Name] = true
		}
	}
	for _, d := range b.Deployments {
		var badVersion string
		if current := deployVersion(&DeploymentSpec{}, s.workflows[d.Workflow], changedWF[d.Workflow]); d.Version > int(current) {
			badVersion = fmt.Sprintf("deployment %s: workflow %s has no version %d (apply leaves it at version %d)", d.name(), d.Workflow, d.Version, int(current))
		}
		have, ok := s.deployments[d.name()]
		if !ok {
			changes = append(changes, change{Action: "create", Kind: KindDeployment, Name: d.name(), dep: d, Error: badVersion})
			continue
		}
		ch := change{Action: "update", Kind: KindDeployment, Name: d.name(), id: str(have["id"]), dep: d}
		w := wfs[d.Workflow]
		if target := deployVersion(d, s.workflows[d.Workflow], changedWF[d.Workflow]); have["version"] != target {
			ch.field("version", have["version"], target)
		}
		if sc := d.schedule(w); sc != str0(have["schedule"]) {
			ch.field("schedule", str0(have["schedule"]), sc)
		}
		if tz := str0(have["timezone"]); tz != "" && tz != d.timezone() {
			ch.field("timezone", tz, d.timezone())
		}
		if len(ch.Fields) > 0 || badVersion != "" {
			ch.Error = badVersion
			changes = append(changes, ch)
		}
	}
	if s.secrets != nil {
		for _, sec := range b.Secrets {
			if !s.secrets[sec.Name] {
				missing = append(missing, sec.Name)
			}
		}
	}
	if !prune {
		return changes, missing
	}
	want := map[string]bool{}
	for _, d := range b.Deployments {
		want[d.name()] = true
	}
	for _, name := range slices.Sorted(maps.Keys(s.deployments)) {
		if !want[name] {
			changes = append(changes, change{Action: "delete", Kind: KindDeployment, Name: name, id: str(s.deployments[name]["id"])})
		}
	}
	want = map[string]bool{}
	for _, w := range b.Workflows {
		want[w.Name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(s.workflows)) {
		if !want[name] {
			changes = append(changes, change{Action: "delete", Kind: KindWorkflow, Name: name, id: str(s.workflows[name]["id"])})
		}
	}
	want = map[string]bool{}
	for _, a := range b.Agents {
		want[a.Name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(s.agents)) {
		if !want[name] {
			changes = append(changes, change{Action: "delete", Kind: KindAgent, Name: name, id: str(s.agents[name]["id"])})
		}
	}
	return changes, missing
}

// deployVersion is the workflow version d runs after apply: its pinned
// version, or the workflow's current one, made one higher by an update in
// the same apply (a new workflow starts at 1). JSON numbers are float64.
func deployVersion(d *DeploymentSpec, have map[string]any, changed bool) float64 {
	if d.Version > 0 {
		return float64(d.Version)
	}
	v, _ := have["version"].(float64)
	if changed {
		v++
	}
	return v
}

// printPlan writes the changes as a readable diff, and the secrets the
// server lacks.
func printPlan(w io.Writer, changes []change, missing []string) {
	var created, updated, deleted int
	for _, c := range changes {
		switch c.Action {
		case "create":
			created++
			fmt.Fprintf(w, "+ create %s %s\n", kindWord(c.Kind), c.Name)
			if c.Error != "" {
				fmt.Fprintf(w, "    ! %s\n", c.Error)
			}
		case "update":
			updated++
			fmt.Fprintf(w, "~ update %s %s (%s)\n", kindWord(c.Kind), c.Name, strings.Join(c.Fields, ", "))
			for _, f := range c.Fields {
				writeFieldDiff(w, "    ", f, c.before[f], c.after[f])
			}
			if c.Error != "" {
				fmt.Fprintf(w, "    ! %s\n", c.Error)
			}
		case "delete":
			deleted++
			note := ""
			if c.Kind == KindDeployment {
				note = " (its webhook and schedule stop)"
			}
			fmt.Fprintf(w, "- delete %s %s%s\n", kindWord(c.Kind), c.Name, note)
		}
	}
	for _, name := range missing {
		fmt.Fprintf(w, "! secret %s is not set on the server: set it with `turbocat secrets set %s`\n", name, name)
	}
	if len(changes) == 0 {
		if len(missing) == 0 {
			fmt.Fprintln(w, "No changes: the server matches the files.")
		}
		return
	}
	fmt.Fprintf(w, "Plan: %d to create, %d to update, %d to delete.\n", created, updated, deleted)
}

func kindWord(k string) string {
	return strings.ToLower(k)
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

// apply makes the changes, printing each as it is made. A deployment's
// webhook signing secret is printed only when showSecrets is set.
func apply(ctx context.Context, c *client, s *server, changes []change, out io.Writer, showSecrets bool) error {
	if err := changeErrors(changes); err != nil {
		return err
	}
	agentIDs := map[string]string{}
	for name, a := range s.agents {
		agentIDs[name] = str(a["id"])
	}
	workflowIDs := map[string]string{}
	for name, w := range s.workflows {
		workflowIDs[name] = str(w["id"])
	}
	for _, ch := range changes {
		var err error
		var deployed map[string]any
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
			return fmt.Errorf("%s %s %s: %w", ch.Action, kindWord(ch.Kind), ch.Name, err)
		}
		fmt.Fprintf(out, "%sd %s %s\n", ch.Action, kindWord(ch.Kind), ch.Name)
		if deployed != nil {
			fmt.Fprintf(out, "  deployment %s, version %s, webhook %s\n", str(deployed["id"]), str(deployed["version"]), str(deployed["endpointUrl"]))
			printSigningSecret(out, "  ", deployed, showSecrets)
		}
	}
	return nil
}

func fileFlags(cmd *cobra.Command, files *[]string) {
	cmd.Flags().StringSliceVarP(files, "file", "f", nil, "a YAML or JSON file, or a directory of them (repeatable)")
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

// serverPlan loads the files and compares them with the server.
func serverPlan(ctx context.Context, env *Env, files []string, prune bool) (*client, *server, []change, []string, error) {
	b, err := loadForCommand(env, files)
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

// addFileCommands adds validate, plan, apply and export.
func addFileCommands(root *cobra.Command, env *Env) {
	var vFiles []string
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
			b, err := loadForCommand(env, vFiles)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "OK: %d agent(s), %d workflow(s), %d deployment(s), %d secret(s)\n",
				len(b.Agents), len(b.Workflows), len(b.Deployments), len(b.Secrets))
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
			_, _, changes, missing, err := serverPlan(cmd.Context(), env, pFiles, pPrune)
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
			c, s, changes, missing, err := serverPlan(cmd.Context(), env, aFiles, aPrune)
			if err != nil {
				return err
			}
			if len(missing) > 0 {
				printPlan(env.Stderr, nil, missing)
				return missingSecretsError(missing)
			}
			if len(changes) == 0 {
				fmt.Fprintln(env.Stdout, "No changes: the server matches the files.")
				return nil
			}
			if !yes {
				if err := confirmDeletes(env, changes); err != nil {
					return err
				}
			}
			if err := apply(cmd.Context(), c, s, changes, env.Stdout, showSecrets); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "Applied %d change(s).\n", len(changes))
			return nil
		},
	}
	fileFlags(applyCmd, &aFiles)
	applyCmd.Flags().BoolVar(&aPrune, "prune", false, "delete the agents and workflows and deactivate the deployments absent from the files")
	applyCmd.Flags().BoolVarP(&yes, "yes", "y", false, "make --prune's deletions without asking")
	applyCmd.Flags().BoolVar(&showSecrets, "show-secrets", false, "print the webhook signing secret of each deployment made (keep it out of CI logs)")

	root.AddCommand(validate, planCmd, applyCmd, exportCmd(env))
}
