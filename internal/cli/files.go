package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// File kinds of the workflows-as-files format.
const (
	KindAgent      = "Agent"
	KindWorkflow   = "Workflow"
	KindDeployment = "Deployment"
	KindSecret     = "Secret"
)

// kindsHelp names the kinds in error messages.
const kindsHelp = "Agent, Workflow, Deployment or Secret"

// AgentSpec is an agent as written in a file.
type AgentSpec struct {
	Kind        string         `yaml:"kind" json:"kind"`
	Name        string         `yaml:"name" json:"name"`
	Description string         `yaml:"description,omitempty" json:"description,omitempty"`
	Type        string         `yaml:"type" json:"type"`
	Status      string         `yaml:"status,omitempty" json:"status,omitempty"`
	Config      map[string]any `yaml:"config" json:"config"`
	// InputSchema is the JSON Schema of the agent's input: its parameters
	// when an llm agent lists it in tools.
	InputSchema map[string]any `yaml:"inputSchema,omitempty" json:"inputSchema,omitempty"`

	pos     string // file:line of the document
	cfgLine int
}

// StepSpec is a workflow step; Agent names an agent.
type StepSpec struct {
	Key string `yaml:"key" json:"key"`
	// Type is agent (default), wait, approval or workflow.
	Type           string         `yaml:"type,omitempty" json:"type,omitempty"`
	Agent          string         `yaml:"agent,omitempty" json:"agent,omitempty"`
	DependsOn      []string       `yaml:"dependsOn,omitempty" json:"dependsOn,omitempty"`
	Inputs         map[string]any `yaml:"inputs,omitempty" json:"inputs,omitempty"`
	Retry          map[string]any `yaml:"retry,omitempty" json:"retry,omitempty"`
	TimeoutSeconds int            `yaml:"timeoutSeconds,omitempty" json:"timeoutSeconds,omitempty"`
	// Control flow (see the README): a CEL condition, a list to run the
	// step for, a wait, a child workflow, what a failure does.
	When           string `yaml:"when,omitempty" json:"when,omitempty"`
	ForEach        string `yaml:"forEach,omitempty" json:"forEach,omitempty"`
	MaxConcurrency int    `yaml:"maxConcurrency,omitempty" json:"maxConcurrency,omitempty"`
	Seconds        int    `yaml:"seconds,omitempty" json:"seconds,omitempty"`
	Until          string `yaml:"until,omitempty" json:"until,omitempty"`
	Workflow       string `yaml:"workflow,omitempty" json:"workflow,omitempty"`
	OnError        string `yaml:"onError,omitempty" json:"onError,omitempty"`
}

// stepType is the step's type, agent when unset.
func (s *StepSpec) stepType() string {
	if s.Type == "" {
		return "agent"
	}
	return s.Type
}

// WorkflowSpec is a workflow as written in a file.
type WorkflowSpec struct {
	Kind        string         `yaml:"kind" json:"kind"`
	Name        string         `yaml:"name" json:"name"`
	Description string         `yaml:"description,omitempty" json:"description,omitempty"`
	InputSchema map[string]any `yaml:"inputSchema,omitempty" json:"inputSchema,omitempty"`
	Output      any            `yaml:"output,omitempty" json:"output,omitempty"`
	Schedule    string         `yaml:"schedule,omitempty" json:"schedule,omitempty"`
	// MaxConcurrentRuns bounds the runs in flight (0: no bound).
	MaxConcurrentRuns int `yaml:"maxConcurrentRuns,omitempty" json:"maxConcurrentRuns,omitempty"`
	// MaxCostUSD and MaxTokens bound each run's model spend.
	MaxCostUSD *float64   `yaml:"maxCostUsd,omitempty" json:"maxCostUsd,omitempty"`
	MaxTokens  *int64     `yaml:"maxTokens,omitempty" json:"maxTokens,omitempty"`
	Steps      []StepSpec `yaml:"steps" json:"steps"`

	pos   string
	lines map[string]int // field path (steps[1].dependsOn[0]) → line
	file  string
}

// DeploymentSpec deploys a workflow of the files to an environment: apply
// keeps that environment on the workflow's current version.
type DeploymentSpec struct {
	Kind        string `yaml:"kind" json:"kind"`
	Workflow    string `yaml:"workflow" json:"workflow"`
	Environment string `yaml:"environment" json:"environment"`
	// Schedule overrides the workflow's schedule: absent keeps it, "" runs
	// the deployment by webhook and API only.
	Schedule *string `yaml:"schedule,omitempty" json:"schedule,omitempty"`
	Timezone string  `yaml:"timezone,omitempty" json:"timezone,omitempty"`
	// Version pins an earlier version of the workflow; 0 follows the
	// current one.
	Version int `yaml:"version,omitempty" json:"version,omitempty"`
	// Input is the input of the runs the deployment starts without one
	// (every schedule fire).
	Input map[string]any `yaml:"input,omitempty" json:"input,omitempty"`

	pos   string
	lines map[string]int
}

// SecretSpec declares a secret the agents and steps reference by name.
// Values never go in files: apply only checks the server has it.
type SecretSpec struct {
	Kind string `yaml:"kind" json:"kind"`
	Name string `yaml:"name" json:"name"`

	pos string
}

// Bundle is every resource read from a set of files.
type Bundle struct {
	Agents      []*AgentSpec
	Workflows   []*WorkflowSpec
	Deployments []*DeploymentSpec
	Secrets     []*SecretSpec
}

// name is how plan and apply show a deployment: workflow/environment.
func (d *DeploymentSpec) name() string { return d.Workflow + "/" + d.Environment }

// timezone is the deployment's time zone, UTC by default.
func (d *DeploymentSpec) timezone() string {
	if d.Timezone == "" {
		return "UTC"
	}
	return d.Timezone
}

// schedule is the deployment's effective schedule ("" for none): its own,
// or else its workflow's.
func (d *DeploymentSpec) schedule(w *WorkflowSpec) string {
	if d.Schedule != nil {
		return *d.Schedule
	}
	if w != nil {
		return w.Schedule
	}
	return ""
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

// isResourceFile reports whether a directory walk reads p: YAML or JSON.
func isResourceFile(p string) bool {
	switch filepath.Ext(p) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// collectFiles lists the YAML and JSON files of path (a file, or a
// directory walked recursively), sorted.
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
		if !d.IsDir() && isResourceFile(p) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", path, err)
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("no .yaml, .yml or .json files in %s", path)
	}
	return files, nil
}

var (
	agentFields    = []string{"kind", "name", "description", "type", "status", "config", "inputSchema"}
	workflowFields = []string{"kind", "name", "description", "inputSchema", "output", "schedule", "maxConcurrentRuns", "maxCostUsd", "maxTokens", "steps"}
	stepFields     = []string{"key", "type", "agent", "dependsOn", "inputs", "retry", "timeoutSeconds", "when", "forEach", "maxConcurrency",
		"seconds", "until", "workflow", "onError"}
	deployFields = []string{"kind", "workflow", "environment", "schedule", "timezone", "version", "input"}
	secretFields = []string{"kind", "name"}

	environmentName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
	secretName      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
)

// LoadFiles reads and validates the resources of paths (files or
// directories) offline: structure, unique names, references between
// documents, DAGs (cycles included), templates, schedule expressions and
// secret references. Problems come back as FileErrors.
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
	slices.SortStableFunc(errs, func(x, y FileError) int {
		if c := strings.Compare(x.File, y.File); c != 0 {
			return c
		}
		return x.Line - y.Line
	})
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
		if n := doc.Content[0]; n.Kind == yaml.ScalarNode && n.Tag == "!!null" && n.Value == "" {
			continue // an empty document, such as after a trailing ---
		}
		nodes := doc.Content[:1]
		if doc.Content[0].Kind == yaml.SequenceNode {
			// A JSON file (or a YAML one) may hold a list of documents.
			nodes = doc.Content[0].Content
		}
		for _, n := range nodes {
			errs = append(errs, b.parseDoc(n, file)...)
		}
	}
}

// parseDoc reads one document (a mapping with a kind) of file.
func (b *Bundle) parseDoc(n *yaml.Node, file string) FileErrors {
	var errs FileErrors
	add := func(line int, format string, args ...any) {
		errs = append(errs, FileError{File: file, Line: line, Message: fmt.Sprintf(format, args...)})
	}
	if n.Kind != yaml.MappingNode {
		add(n.Line, "a document must be a mapping with a kind (%s)", kindsHelp)
		return errs
	}
	kind := mapValue(n, "kind")
	if kind == nil {
		add(n.Line, "kind is required (%s)", kindsHelp)
		return errs
	}
	switch kind.Value {
	case KindAgent:
		checkFields(n, agentFields, "Agent", add)
		a := &AgentSpec{pos: fmt.Sprintf("%s:%d", file, n.Line)}
		if err := n.Decode(a); err != nil {
			add(n.Line, "%v", err)
			return errs
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
		a.cfgLine = lineOf(n, "config", n.Line)
		if c := mapValue(n, "config"); c == nil || c.Kind != yaml.MappingNode {
			add(lineOf(n, "config", n.Line), "agent %q: config must be a mapping", a.Name)
		}
		b.Agents = append(b.Agents, a)
	case KindWorkflow:
		checkFields(n, workflowFields, "Workflow", add)
		w := &WorkflowSpec{pos: fmt.Sprintf("%s:%d", file, n.Line), file: file, lines: map[string]int{"": n.Line}}
		if err := n.Decode(w); err != nil {
			add(n.Line, "%v", err)
			return errs
		}
		if w.InputSchema != nil {
			w.InputSchema, _ = jsonable(w.InputSchema).(map[string]any)
		}
		w.Output = jsonable(w.Output)
		for _, f := range []string{"output", "schedule"} {
			if v := mapValue(n, f); v != nil {
				w.lines[f] = v.Line
			}
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
					return errs
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
	case KindDeployment:
		checkFields(n, deployFields, "Deployment", add)
		d := &DeploymentSpec{pos: fmt.Sprintf("%s:%d", file, n.Line), lines: map[string]int{}}
		if err := n.Decode(d); err != nil {
			add(n.Line, "%v", err)
			return errs
		}
		for _, f := range deployFields {
			d.lines[f] = lineOf(n, f, n.Line)
		}
		if d.Input != nil {
			d.Input, _ = jsonable(d.Input).(map[string]any)
		}
		if d.Workflow == "" {
			add(n.Line, "deployment: workflow is required (the name of a Workflow in the files)")
		}
		if mapValue(n, "version") != nil && d.Version < 1 {
			add(d.lines["version"], "deployment %s: version must be a version of the workflow (1, 2, ...); omit it to follow the current one", d.name())
		}
		if !environmentName.MatchString(d.Environment) {
			add(d.lines["environment"], "deployment %s: environment must be 1 to 32 lowercase letters, digits or hyphens, starting with a letter (e.g. prod)", d.name())
		}
		b.Deployments = append(b.Deployments, d)
	case KindSecret:
		if v := mapValue(n, "value"); v != nil {
			name := "NAME"
			if nv := mapValue(n, "name"); nv != nil && nv.Value != "" {
				name = nv.Value
			}
			add(lineOf(n, "value", n.Line), "secret values never go in files: remove value and set it with `turbocat secrets set %s`", name)
		}
		checkFields(n, append(secretFields, "value"), "Secret", add)
		sec := &SecretSpec{pos: fmt.Sprintf("%s:%d", file, n.Line)}
		if err := n.Decode(sec); err != nil {
			add(n.Line, "%v", err)
			return errs
		}
		if !secretName.MatchString(sec.Name) {
			add(lineOf(n, "name", n.Line), "secret name %q: use 1 to 64 letters, digits and underscores, not starting with a digit", sec.Name)
		}
		b.Secrets = append(b.Secrets, sec)
	default:
		add(kind.Line, "unknown kind %q (%s)", kind.Value, kindsHelp)
	}
	return errs
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
