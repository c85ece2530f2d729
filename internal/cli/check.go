package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/turbocat/turbocat/internal/dag"
	"github.com/turbocat/turbocat/internal/schedule"
	"github.com/turbocat/turbocat/internal/tmpl"
	"github.com/turbocat/turbocat/internal/turbocat"
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
		if w.Schedule != "" {
			if _, err := schedule.Parse(w.Schedule, ""); err != nil {
				add("schedule", "schedule: %s", errMessage(err))
			}
		}
		for i, s := range w.Steps {
			for _, name := range undeclared(secretRefs(s.Inputs)) {
				add(fmt.Sprintf("steps[%d].inputs", i), "step %q uses secret %q: %s", s.Key, name, declare(name))
			}
		}
		if len(w.Steps) == 0 {
			continue
		}
		nodes := make([]dag.Node, len(w.Steps))
		for i, s := range w.Steps {
			nodes[i] = dag.Node{Key: s.Key, DependsOn: s.DependsOn}
			switch {
			case s.stepType() != "agent":
			case s.Agent == "":
				add(fmt.Sprintf("steps[%d]", i), "step %q: agent is required", s.Key)
			case agents[s.Agent] == nil:
				add(fmt.Sprintf("steps[%d].agent", i), "step %q: agent %q is not defined in the files", s.Key, s.Agent)
			}
		}
		g, err := dag.New(nodes, dag.Options{})
		var ve *dag.ValidationError
		if errors.As(err, &ve) {
			for _, p := range ve.Problems {
				add(p.Field, "%s: %s", p.Field, p.Message)
			}
			continue
		}
		for i, s := range w.Steps {
			field := fmt.Sprintf("steps[%d].inputs", i)
			upstream := func(step string) bool { return g.IsUpstream(step, s.Key) }
			for _, msg := range checkRefs(s.Inputs, upstream, forEachRoots(&s)...) {
				add(field, "step %q: %s", s.Key, msg)
			}
			for _, p := range checkStepFlow(&s, upstream, g.Has) {
				add(fmt.Sprintf("steps[%d].%s", i, p.field), "step %q: %s", s.Key, p.msg)
			}
		}
		checkFileSubWorkflows(w, wfs, add)
		if w.Output != nil {
			for _, msg := range checkRefs(w.Output, g.Has) {
				add("output", "output: %s", msg)
			}
		}
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

// checkRefs checks the templates of a value: known roots, and steps.<key>
// references only to steps ok accepts.
func checkRefs(v any, ok func(step string) bool, extraRoots ...string) []string {
	if v == nil {
		return nil
	}
	raw, _ := json.Marshal(v)
	refs, err := tmpl.ReferencesIn(raw)
	if err != nil {
		return []string{"template: " + err.Error()}
	}
	var msgs []string
	for _, r := range refs {
		switch r.Root() {
		case "inputs", "execution", tmpl.SecretsRoot:
		case "item", "index":
			if !slices.Contains(extraRoots, r.Root()) {
				msgs = append(msgs, fmt.Sprintf("{{%s}} (at %s) is only available in the inputs of a forEach step", r.String(), fieldOr(r.Field)))
			}
		case "steps":
			if len(r.Path) < 2 || !ok(r.Path[1]) {
				msgs = append(msgs, fmt.Sprintf("{{%s}} (at %s) does not reference an upstream step", r.String(), fieldOr(r.Field)))
			}
		default:
			msgs = append(msgs, fmt.Sprintf("{{%s}} (at %s): unknown root %q (inputs, steps, execution, secrets)", r.String(), fieldOr(r.Field), r.Root()))
		}
	}
	return msgs
}

func fieldOr(f string) string {
	if f == "" {
		return "the value"
	}
	return f
}

func splitPos(pos string) (string, int) {
	i := strings.LastIndexByte(pos, ':')
	var line int
	fmt.Sscan(pos[i+1:], &line)
	return pos[:i], line
}
