package cli

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

// exportFile is one file of an export: its path in the export directory
// and its documents.
type exportFile struct {
	path string
	docs []any
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// exportFiles lays the server's resources out as files: secrets.yaml (the
// names), agents/NAME.yaml, and workflows/NAME.yaml holding a workflow and
// its active deployments. Every secret an agent uses is declared, set on
// the server or not (so validate accepts the files); unset lists the ones
// the server lacks.
func exportFiles(s *server) (files []exportFile, unset []string) {
	used := map[string]bool{}
	fileFor := func(dir, name string) string {
		base := strings.Trim(unsafeFileChars.ReplaceAllString(name, "-"), "-.")
		if base == "" {
			base = "unnamed"
		}
		p := dir + "/" + base + ".yaml"
		for i := 2; used[p]; i++ {
			p = fmt.Sprintf("%s/%s-%d.yaml", dir, base, i)
		}
		used[p] = true
		return p
	}
	declared := maps.Clone(s.secrets)
	if declared == nil {
		declared = map[string]bool{}
	}
	var agentFiles []exportFile
	for _, name := range slices.Sorted(maps.Keys(s.agents)) {
		a := s.agents[name]
		cfg, _ := jsonable(a["config"]).(map[string]any)
		spec := &AgentSpec{Kind: KindAgent, Name: name, Description: str0(a["description"]), Type: str0(a["type"]), Config: cfg}
		spec.InputSchema, _ = jsonable(a["inputSchema"]).(map[string]any)
		if st := str0(a["status"]); st != "" && st != "active" {
			spec.Status = st
		}
		for _, sec := range agentSecrets(spec) {
			if !declared[sec] {
				declared[sec] = true
				unset = append(unset, sec)
			}
		}
		agentFiles = append(agentFiles, exportFile{path: fileFor("agents", name), docs: []any{spec}})
	}
	if len(declared) > 0 {
		f := exportFile{path: "secrets.yaml"}
		for _, name := range slices.Sorted(maps.Keys(declared)) {
			f.docs = append(f.docs, &SecretSpec{Kind: KindSecret, Name: name})
		}
		files = append(files, f)
	}
	files = append(files, agentFiles...)
	deps := map[string][]any{}
	for _, name := range slices.Sorted(maps.Keys(s.deployments)) {
		d := s.deployments[name]
		wf, env, _ := strings.Cut(name, "/")
		spec := &DeploymentSpec{Kind: KindDeployment, Workflow: wf, Environment: env}
		if sc := str0(d["schedule"]); sc != str0(s.workflows[wf]["schedule"]) {
			spec.Schedule = &sc
		}
		if tz := str0(d["timezone"]); tz != "" && tz != "UTC" {
			spec.Timezone = tz
		}
		if v, _ := d["version"].(float64); v != s.workflows[wf]["version"] {
			spec.Version = int(v)
		}
		spec.Input, _ = d["input"].(map[string]any)
		deps[wf] = append(deps[wf], spec)
	}
	for _, name := range slices.Sorted(maps.Keys(s.workflows)) {
		wf := s.workflows[name]
		spec := &WorkflowSpec{Kind: KindWorkflow, Name: name, Description: str0(wf["description"]), Schedule: str0(wf["schedule"]), Output: wf["output"],
			MaxConcurrentRuns: intOf(wf["maxConcurrentRuns"]), MaxCostUSD: floatPtr(wf["maxCostUsd"]), MaxTokens: int64Ptr(wf["maxTokens"]),
			Steps: s.serverSteps(wf)}
		spec.InputSchema, _ = wf["inputSchema"].(map[string]any)
		files = append(files, exportFile{path: fileFor("workflows", name), docs: append([]any{spec}, deps[name]...)})
	}
	slices.Sort(unset)
	return files, unset
}

// writeDocs writes documents as YAML (separated by ---) or as a JSON array.
func writeDocs(w io.Writer, docs []any, format string) error {
	if format == "json" {
		if docs == nil {
			docs = []any{}
		}
		return printJSON(w, docs)
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

// writeExportDir writes the files under dir, which must be absent or empty
// (so no file of a resource deleted since survives to be applied again).
func writeExportDir(dir string, files []exportFile, format string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("export: %w", err)
	}
	if len(entries) > 0 {
		return nil, fmt.Errorf("export: %s is not empty: export into a new directory (or remove it first)", dir)
	}
	var paths []string
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.path))
		if format == "json" {
			p = strings.TrimSuffix(p, ".yaml") + ".json"
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		out, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		err = writeDocs(out, f.docs, format)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", p, err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

func exportCmd(env *Env) *cobra.Command {
	var dir, format, output string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the server's resources as files that apply reproduces",
		Long: `Writes every secret (by name, never a value), agent, workflow and active
deployment of the caller as documents that validate, plan and apply read back:
to standard output, or with --dir as a tree of files (secrets.yaml,
agents/NAME.yaml, workflows/NAME.yaml with the workflow's deployments) ready to
commit. --format json writes JSON instead of YAML.`,
		Example: "  turbocat export > turbocat.yaml\n  turbocat export --dir turbocat/ && turbocat plan -f turbocat/\n  turbocat export --format json > turbocat.json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "yaml" && format != "json" {
				return fmt.Errorf("unknown --format %q (yaml or json)", format)
			}
			if err := checkOutput(output); err != nil {
				return err
			}
			if output == "json" && dir == "" {
				format = "json" // the documents themselves are the output
			}
			c, err := authedClient(env)
			if err != nil {
				return err
			}
			s, err := fetchServer(cmd.Context(), c, true, true)
			if err != nil {
				return err
			}
			files, unset := exportFiles(s)
			for _, name := range unset {
				fmt.Fprintf(env.Stderr, "export: secret %s is used by an agent but not set on the server; it is declared in the files: set it with `turbocat secrets set %s` before apply\n", name, name)
			}
			if dir != "" {
				paths, err := writeExportDir(dir, files, format)
				if err != nil {
					return err
				}
				return report(env.Stdout, output, map[string]any{"dir": dir, "files": paths}, fmt.Sprintf("wrote %d file(s) to %s", len(files), dir))
			}
			var docs []any
			for _, f := range files {
				docs = append(docs, f.docs...)
			}
			return writeDocs(env.Stdout, docs, format)
		},
	}
	cmd.Flags().StringVarP(&dir, "dir", "d", "", "write one file per resource under this (new or empty) directory")
	cmd.Flags().StringVar(&format, "format", "yaml", "yaml or json")
	addOutputFlag(cmd, &output)
	return cmd
}
