package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/turbocat/turbocat/internal/dag"
	"github.com/turbocat/turbocat/internal/tmpl"
)

// File kinds of the workflows-as-files format.
const (
	KindAgent    = "Agent"
	KindWorkflow = "Workflow"
)

// AgentSpec is an agent as written in a file.
type AgentSpec struct {
	Kind        string         `yaml:"kind" json:"kind"`
	Name        string         `yaml:"name" json:"name"`
	Description string         `yaml:"description,omitempty" json:"description,omitempty"`
	Type        string         `yaml:"type" json:"type"`
	Status      string         `yaml:"status,omitempty" json:"status,omitempty"`
	Config      map[string]any `yaml:"config" json:"config"`

	pos string // file:line of the document
}

// StepSpec is a workflow step; Agent names an agent.
type StepSpec struct {
	Key            string         `yaml:"key" json:"key"`
	Agent          string         `yaml:"agent" json:"agent"`
	DependsOn      []string       `yaml:"dependsOn,omitempty" json:"dependsOn,omitempty"`
	Inputs         map[string]any `yaml:"inputs,omitempty" json:"inputs,omitempty"`
	Retry          map[string]any `yaml:"retry,omitempty" json:"retry,omitempty"`
	TimeoutSeconds int            `yaml:"timeoutSeconds,omitempty" json:"timeoutSeconds,omitempty"`
}

// WorkflowSpec is a workflow as written in a file.
type WorkflowSpec struct {
	Kind        string         `yaml:"kind" json:"kind"`
	Name        string         `yaml:"name" json:"name"`
	Description string         `yaml:"description,omitempty" json:"description,omitempty"`
	InputSchema map[string]any `yaml:"inputSchema,omitempty" json:"inputSchema,omitempty"`
	Output      any            `yaml:"output,omitempty" json:"output,omitempty"`
	Schedule    string         `yaml:"schedule,omitempty" json:"schedule,omitempty"`
	Steps       []StepSpec     `yaml:"steps" json:"steps"`

	pos   string
	lines map[string]int // field path (steps[1].dependsOn[0]) → line
	file  string
}

// Bundle is every agent and workflow read from a set of files.
type Bundle struct {
	Agents    []*AgentSpec
	Workflows []*WorkflowSpec
}

// FileError is one problem in a file, located by line.
type FileError struct {
	File    string
	Line    int
	Message string
}

func (e FileError) String() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Message)
}

// FileErrors is every problem found by LoadFiles.
type FileErrors []FileError

func (es FileErrors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.String()
	}
	return strings.Join(parts, "\n")
}

// collectFiles lists the YAML files of path (a file, or a directory walked
// recursively), sorted.
func collectFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", path, err)
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("no .yaml or .yml files in %s", path)
	}
	return files, nil
}

var (
	agentFields    = []string{"kind", "name", "description", "type", "status", "config"}
	workflowFields = []string{"kind", "name", "description", "inputSchema", "output", "schedule", "steps"}
	stepFields     = []string{"key", "agent", "dependsOn", "inputs", "retry", "timeoutSeconds"}
)

// LoadFiles reads and validates the agents and workflows of paths (files or
// directories) offline: structure, unique names, agent references, DAGs
// (cycles included) and templates. Problems come back as FileErrors.
func LoadFiles(paths ...string) (*Bundle, error) {
	var files []string
	for _, p := range paths {
		fs, err := collectFiles(p)
		if err != nil {
			return nil, err
		}
		files = append(files, fs...)
	}
	b := &Bundle{}
	var errs FileErrors
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f, err)
		}
		errs = append(errs, b.parse(f, raw)...)
	}
	errs = append(errs, b.check()...)
	if len(errs) > 0 {
		return b, errs
	}
	return b, nil
}

func (b *Bundle) parse(file string, raw []byte) FileErrors {
	var errs FileErrors
	add := func(line int, format string, args ...any) {
		errs = append(errs, FileError{File: file, Line: line, Message: fmt.Sprintf(format, args...)})
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return errs
		}
		if err != nil {
			add(0, "%v", err)
			return errs
		}
		if len(doc.Content) == 0 {
			continue
		}
		n := doc.Content[0]
		if n.Kind != yaml.MappingNode {
			add(n.Line, "a document must be a mapping with a kind (Agent or Workflow)")
			continue
		}
		kind := mapValue(n, "kind")
		if kind == nil {
			add(n.Line, "kind is required (Agent or Workflow)")
			continue
		}
		switch kind.Value {
		case KindAgent:
			checkFields(n, agentFields, "Agent", add)
			a := &AgentSpec{pos: fmt.Sprintf("%s:%d", file, n.Line)}
			if err := n.Decode(a); err != nil {
				add(n.Line, "%v", err)
				continue
			}
			a.Config, _ = jsonable(a.Config).(map[string]any)
			if a.Name == "" {
				add(n.Line, "agent name is required")
			}
			if !slices.Contains([]string{"code", "api", "llm"}, a.Type) {
				add(lineOf(n, "type", n.Line), "agent %q: type must be code, api or llm, not %q", a.Name, a.Type)
			}
			if a.Status != "" && a.Status != "active" && a.Status != "disabled" {
				add(lineOf(n, "status", n.Line), "agent %q: status must be active or disabled", a.Name)
			}
			if c := mapValue(n, "config"); c == nil || c.Kind != yaml.MappingNode {
				add(lineOf(n, "config", n.Line), "agent %q: config must be a mapping", a.Name)
			}
			b.Agents = append(b.Agents, a)
		case KindWorkflow:
			checkFields(n, workflowFields, "Workflow", add)
			w := &WorkflowSpec{pos: fmt.Sprintf("%s:%d", file, n.Line), file: file, lines: map[string]int{"": n.Line}}
			if err := n.Decode(w); err != nil {
				add(n.Line, "%v", err)
				continue
			}
			if w.InputSchema != nil {
				w.InputSchema, _ = jsonable(w.InputSchema).(map[string]any)
			}
			w.Output = jsonable(w.Output)
			if v := mapValue(n, "output"); v != nil {
				w.lines["output"] = v.Line
			}
			if w.Name == "" {
				add(n.Line, "workflow name is required")
			}
			steps := mapValue(n, "steps")
			if steps == nil || steps.Kind != yaml.SequenceNode || len(steps.Content) == 0 {
				add(lineOf(n, "steps", n.Line), "workflow %q: steps must be a list of at least one step", w.Name)
			} else {
				w.lines["steps"] = steps.Line
				for i, s := range steps.Content {
					p := fmt.Sprintf("steps[%d]", i)
					w.lines[p] = s.Line
					if s.Kind != yaml.MappingNode {
						continue
					}
					checkFields(s, stepFields, "step", add)
					w.lines[p+".key"] = lineOf(s, "key", s.Line)
					w.lines[p+".agent"] = lineOf(s, "agent", s.Line)
					w.lines[p+".inputs"] = lineOf(s, "inputs", s.Line)
					if d := mapValue(s, "dependsOn"); d != nil {
						w.lines[p+".dependsOn"] = d.Line
						for j, x := range d.Content {
							w.lines[fmt.Sprintf("%s.dependsOn[%d]", p, j)] = x.Line
						}
					}
				}
				for i := range w.Steps {
					w.Steps[i].Inputs, _ = jsonable(w.Steps[i].Inputs).(map[string]any)
					w.Steps[i].Retry, _ = jsonable(w.Steps[i].Retry).(map[string]any)
				}
			}
			b.Workflows = append(b.Workflows, w)
		default:
			add(kind.Line, "unknown kind %q (Agent or Workflow)", kind.Value)
		}
	}
}

// check validates the references between documents, the DAGs and templates.
func (b *Bundle) check() FileErrors {
	var errs FileErrors
	agents := map[string]*AgentSpec{}
	for _, a := range b.Agents {
		if prev, ok := agents[a.Name]; ok && a.Name != "" {
			file, line := splitPos(a.pos)
			errs = append(errs, FileError{file, line, fmt.Sprintf("agent %q is also defined at %s", a.Name, prev.pos)})
		}
		agents[a.Name] = a
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
		if len(w.Steps) == 0 {
			continue
		}
		nodes := make([]dag.Node, len(w.Steps))
		for i, s := range w.Steps {
			nodes[i] = dag.Node{Key: s.Key, DependsOn: s.DependsOn}
			if s.Agent == "" {
				add(fmt.Sprintf("steps[%d]", i), "step %q: agent is required", s.Key)
			} else if agents[s.Agent] == nil {
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
			for _, msg := range checkRefs(s.Inputs, func(step string) bool { return g.IsUpstream(step, s.Key) }) {
				add(field, "step %q: %s", s.Key, msg)
			}
		}
		if w.Output != nil {
			for _, msg := range checkRefs(w.Output, g.Has) {
				add("output", "output: %s", msg)
			}
		}
	}
	return errs
}

// checkRefs checks the templates of a value: known roots, and steps.<key>
// references only to steps ok accepts.
func checkRefs(v any, ok func(step string) bool) []string {
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

func checkFields(n *yaml.Node, allowed []string, what string, add func(int, string, ...any)) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !slices.Contains(allowed, k.Value) {
			add(k.Line, "unknown %s field %q (allowed: %s)", what, k.Value, strings.Join(allowed, ", "))
		}
	}
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func lineOf(n *yaml.Node, key string, def int) int {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i].Line
		}
	}
	return def
}

// jsonable turns YAML-decoded values into JSON-compatible ones (maps with
// string keys) and normalises numbers through a JSON round trip.
func jsonable(v any) any {
	if v == nil {
		return nil
	}
	var fix func(any) any
	fix = func(v any) any {
		switch t := v.(type) {
		case map[string]any:
			for k, x := range t {
				t[k] = fix(x)
			}
			return t
		case map[any]any:
			m := make(map[string]any, len(t))
			for k, x := range t {
				m[fmt.Sprint(k)] = fix(x)
			}
			return m
		case []any:
			for i, x := range t {
				t[i] = fix(x)
			}
			return t
		}
		return v
	}
	b, err := json.Marshal(fix(v))
	if err != nil {
		return v
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}
