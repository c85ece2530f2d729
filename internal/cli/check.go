package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/turbocat/turbocat/internal/schedule"
	"github.com/turbocat/turbocat/internal/tmpl"
	"github.com/turbocat/turbocat/internal/turbocat"
	"github.com/turbocat/turbocat/internal/workflowcheck"
)

// check validates the references between documents, the DAGs, templates
// and schedules.
func (b *Bundle) check() FileErrors {
	var errs FileErrors
	at := func(pos string, line int, format string, args ...any) {
		file, l := splitPos(pos)
		if line > 0 {
			l = line
		}
		errs = append(errs, FileError{file, l, fmt.Sprintf(format, args...)})
	}
	secrets := map[string]*SecretSpec{}
	for _, s := range b.Secrets {
		if prev, ok := secrets[s.Name]; ok {
			at(s.pos, 0, "secret %q is also declared at %s", s.Name, prev.pos)
		}
		secrets[s.Name] = s
	}
	undeclared := func(refs []string) []string {
		var out []string
		for _, r := range refs {
			if secrets[r] == nil {
				out = append(out, r)
			}
		}
		return out
	}
	declare := func(name string) string {
		return fmt.Sprintf("declare it in the files (kind: Secret, name: %s) and set its value with `turbocat secrets set %s`", name, name)
	}
	agents := map[string]*AgentSpec{}
	for _, a := range b.Agents {
		if prev, ok := agents[a.Name]; ok && a.Name != "" {
			at(a.pos, 0, "agent %q is also defined at %s", a.Name, prev.pos)
		}
		agents[a.Name] = a
		for _, name := range undeclared(agentSecrets(a)) {
			at(a.pos, a.cfgLine, "agent %q uses secret %q: %s", a.Name, name, declare(name))
		}
	}
	wfs := map[string]*WorkflowSpec{}
	for _, w := range b.Workflows {
		add := func(field, format string, args ...any) {
			line, ok := w.lines[field]
			for !ok && field != "" {
				if i := strings.LastIndexAny(field, ".["); i >= 0 {
					field = field[:i]
				} else {
					field = ""
				}
				line, ok = w.lines[field]
			}
			errs = append(errs, FileError{w.file, line, fmt.Sprintf("workflow %q: %s", w.Name, fmt.Sprintf(format, args...))})
		}
		if prev, ok := wfs[w.Name]; ok && w.Name != "" {
			add("", "also defined at %s", prev.pos)
		}
		wfs[w.Name] = w
		for i, s := range w.Steps {
			if s.Agent != "" && agents[s.Agent] == nil {
				add(fmt.Sprintf("steps[%d].agent", i), "step %q: agent %q is not defined in the files", s.Key, s.Agent)
			}
		}
		if len(w.Steps) == 0 {
			continue // reported by parse
		}
		// The shape of the workflow: the API's own validator.
		dw, problems := w.domain()
		for _, p := range append(problems, workflowcheck.Check(dw, workflowcheck.Options{})...) {
			field := p.Field
			if i := strings.Index(field, ".agentId"); i >= 0 {
				field = field[:i] + ".agent" + field[i+len(".agentId"):]
			}
			add(field, "%s: %s", field, p.Message)
		}
		checkFileSubWorkflows(w, wfs, add)
	}
	deps := map[string]*DeploymentSpec{}
	for _, d := range b.Deployments {
		if d.Workflow == "" || !environmentName.MatchString(d.Environment) {
			continue // reported by parse
		}
		if prev, ok := deps[d.name()]; ok {
			at(d.pos, 0, "deployment %s is also defined at %s (one deployment per workflow and environment)", d.name(), prev.pos)
		}
		deps[d.name()] = d
		w := wfs[d.Workflow]
		if w == nil {
			at(d.pos, d.lines["workflow"], "deployment %s: workflow %q is not defined in the files", d.name(), d.Workflow)
			continue
		}
		if _, err := time.LoadLocation(d.timezone()); err != nil || d.Timezone == "Local" {
			at(d.pos, d.lines["timezone"], "deployment %s: timezone %q is not an IANA time zone (e.g. Europe/Paris)", d.name(), d.Timezone)
			continue
		}
		if sc := d.schedule(w); sc != "" {
			if _, err := schedule.Parse(sc, d.timezone()); err != nil {
				line := d.lines["schedule"]
				if d.Schedule == nil {
					line = d.lines["workflow"]
				}
				at(d.pos, line, "deployment %s: schedule: %s", d.name(), errMessage(err))
			}
		}
	}
	return errs
}

// errMessage is the message of a domain error without its code.
func errMessage(err error) string {
	if e := turbocat.AsError(err); e != nil {
		return e.Message
	}
	return err.Error()
}

// domain is the workflow as the API takes it, for workflowcheck (steps
// name their agent by name in AgentID), and the problems the API would
// find decoding it (an unknown retry field).
func (w *WorkflowSpec) domain() (*turbocat.Workflow, []turbocat.FieldError) {
	var problems []turbocat.FieldError
	out := &turbocat.Workflow{Name: w.Name, Description: w.Description, MaxConcurrentRuns: w.MaxConcurrentRuns, Steps: make([]turbocat.WorkflowStep, len(w.Steps))}
	if w.InputSchema != nil {
		out.InputSchema, _ = json.Marshal(w.InputSchema)
	}
	if w.Output != nil {
		out.Output, _ = json.Marshal(w.Output)
	}
	if w.Schedule != "" {
		sc := w.Schedule
		out.Schedule = &sc
	}
	for i, s := range w.Steps {
		st := turbocat.WorkflowStep{Key: s.Key, AgentID: s.Agent, DependsOn: s.DependsOn, TimeoutSeconds: s.TimeoutSeconds,
			Type: s.Type, When: s.When, ForEach: s.ForEach, MaxConcurrency: s.MaxConcurrency, Seconds: s.Seconds, Until: s.Until,
			Workflow: s.Workflow, OnError: s.OnError}
		if s.Inputs != nil {
			st.Inputs, _ = json.Marshal(s.Inputs)
		}
		if s.Retry != nil {
			raw, _ := json.Marshal(s.Retry)
			var r turbocat.RetryPolicy
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&r); err != nil {
				problems = append(problems, turbocat.FieldError{Field: fmt.Sprintf("steps[%d].retry", i),
					Message: "takes maxAttempts, intervalSeconds, backoffRate, maxDelaySeconds and errors: " + strings.TrimPrefix(err.Error(), "json: ")})
			} else {
				st.Retry = &r
			}
		}
		out.Steps[i] = st
	}
	return out, problems
}

// secretRefs lists the secrets v's templates reference ({{secrets.NAME}}).
func secretRefs(v any) []string {
	if v == nil {
		return nil
	}
	raw, _ := json.Marshal(v)
	refs, err := tmpl.ReferencesIn(raw)
	if err != nil {
		return nil
	}
	var out []string
	for _, r := range refs {
		if r.Root() == tmpl.SecretsRoot && len(r.Path) > 1 && !slices.Contains(out, r.Path[1]) {
			out = append(out, r.Path[1])
		}
	}
	return out
}

// agentSecrets lists the secrets an agent uses: templates in its config and
// an LLM agent's apiKeySecret.
func agentSecrets(a *AgentSpec) []string {
	out := secretRefs(a.Config)
	if k, ok := a.Config["apiKeySecret"].(string); ok && k != "" && !slices.Contains(out, k) {
		out = append(out, k)
	}
	return out
}

func splitPos(pos string) (string, int) {
	i := strings.LastIndexByte(pos, ':')
	var line int
	fmt.Sscan(pos[i+1:], &line)
	return pos[:i], line
}
