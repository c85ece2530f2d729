package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
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
}

// fieldChange is one field of an update: its server and file value, for
// the readable diff and -o json.
type fieldChange struct {
	Server any `json:"server"`
	Files  any `json:"files"`
}

func (c *change) field(name string, before, after any) {
	c.Fields = append(c.Fields, name)
	if c.Diff == nil {
		c.Diff = map[string]fieldChange{}
	}
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
	if canon(emptyAsNil(jsonable(a.InputSchema))) != canon(emptyAsNil(have["inputSchema"])) {
		ch.field("inputSchema", have["inputSchema"], jsonable(a.InputSchema))
	}
}

// jsonEqual reports whether two values encode to the same JSON (nil and
// an empty object alike).
func jsonEqual(a, b map[string]any) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
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
		StepSpec
	}
	_ = json.Unmarshal(raw, &steps)
	out := make([]StepSpec, len(steps))
	for i, st := range steps {
		name, ok := s.agentName[st.AgentID]
		if !ok {
			name = st.AgentID
		}
		out[i] = StepSpec{Key: st.Key, Agent: name, DependsOn: st.DependsOn, Inputs: st.Inputs, Retry: st.Retry, TimeoutSeconds: st.TimeoutSeconds,
			Type: st.Type, When: st.When, ForEach: st.ForEach, MaxConcurrency: st.MaxConcurrency, Seconds: st.Seconds, Until: st.Until,
			Workflow: st.Workflow, OnError: st.OnError}
	}
	return out
}

func stepsEqual(want, have []StepSpec) bool {
	if len(want) != len(have) {
		return false
	}
	for i := range want {
		w, h := want[i], have[i]
		if w.Key != h.Key || w.Agent != h.Agent || w.TimeoutSeconds != h.TimeoutSeconds || !sameFlow(&w, &h) ||
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
	if had := intOf(have["maxConcurrentRuns"]); w.MaxConcurrentRuns != had {
		ch.field("maxConcurrentRuns", had, w.MaxConcurrentRuns)
	}
	if canon(jsonable(w.MaxCostUSD)) != canon(have["maxCostUsd"]) {
		ch.field("maxCostUsd", have["maxCostUsd"], jsonable(w.MaxCostUSD))
	}
	if canon(jsonable(w.MaxTokens)) != canon(have["maxTokens"]) {
		ch.field("maxTokens", have["maxTokens"], jsonable(w.MaxTokens))
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
	// Code and api agents first: llm agents name them as tools, and the
	// server checks that a tool exists when the llm agent is saved.
	agents := slices.Clone(b.Agents)
	slices.SortStableFunc(agents, func(x, y *AgentSpec) int {
		return boolInt(x.Type == "llm") - boolInt(y.Type == "llm")
	})
	for _, a := range agents {
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
	for _, w := range calleesFirst(b.Workflows) {
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
		// The workflow's version once applied: every update makes one.
		current, _ := s.workflows[d.Workflow]["version"].(float64)
		if changedWF[d.Workflow] {
			current++
		}
		target := current
		var badVersion string
		if d.Version > 0 {
			target = float64(d.Version)
			if d.Version > int(current) {
				badVersion = fmt.Sprintf("deployment %s: workflow %s has no version %d (apply leaves it at version %d)", d.name(), d.Workflow, d.Version, int(current))
			}
		}
		have, ok := s.deployments[d.name()]
		if !ok {
			changes = append(changes, change{Action: "create", Kind: KindDeployment, Name: d.name(), dep: d, Error: badVersion})
			continue
		}
		ch := change{Action: "update", Kind: KindDeployment, Name: d.name(), id: str(have["id"]), dep: d}
		w := wfs[d.Workflow]
		if have["version"] != target { // JSON numbers are float64
			ch.field("version", have["version"], target)
		}
		if sc := d.schedule(w); sc != str0(have["schedule"]) {
			ch.field("schedule", str0(have["schedule"]), sc)
		}
		if tz := str0(have["timezone"]); tz != "" && tz != d.timezone() {
			ch.field("timezone", tz, d.timezone())
		}
		if hi, _ := have["input"].(map[string]any); !jsonEqual(hi, d.Input) {
			ch.field("input", have["input"], d.Input)
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
	// Deletions: deployments first, then what they ran, then agents.
	var depNames, wfNames, agentNames []string
	for _, d := range b.Deployments {
		depNames = append(depNames, d.name())
	}
	for _, w := range b.Workflows {
		wfNames = append(wfNames, w.Name)
	}
	for _, a := range b.Agents {
		agentNames = append(agentNames, a.Name)
	}
	changes = append(changes, deletions(KindDeployment, depNames, s.deployments)...)
	changes = append(changes, deletions(KindWorkflow, wfNames, s.workflows)...)
	changes = append(changes, deletions(KindAgent, agentNames, s.agents)...)
	return changes, missing
}

// deletions are the deletes of the server resources (by name) that keep
// does not name, in name order.
func deletions(kind string, keep []string, have map[string]map[string]any) []change {
	var out []change
	for _, name := range slices.Sorted(maps.Keys(have)) {
		if !slices.Contains(keep, name) {
			out = append(out, change{Action: "delete", Kind: kind, Name: name, id: str(have[name]["id"])})
		}
	}
	return out
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
				writeFieldDiff(w, "    ", f, c.Diff[f].Server, c.Diff[f].Files)
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

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
