package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/turbocat/turbocat/examples"
)

// starterFiles maps each file turbocat init writes (relative to the
// directory) to its source in examples.Starter.
func starterFiles() (map[string]string, error) {
	out := map[string]string{".github/workflows/turbocat.yml": "ci/turbocat.yml"}
	names, err := fs.Glob(examples.Starter, "workflows/*.yaml")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		out[n] = n
	}
	return out, nil
}

func initCmd(env *Env) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Start a repository of workflows as code",
		Long: `Writes a runnable example (workflows/: four code agents, a workflow with
parallel steps, a staging deployment) and a GitHub Actions workflow that
validates and plans pull requests and applies main
(.github/workflows/turbocat.yml) into DIR (default: the current directory).
Existing files are never overwritten.`,
		Example: "  turbocat init my-workflows && cd my-workflows && turbocat plan -f workflows/",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			files, err := starterFiles()
			if err != nil {
				return err
			}
			for dst := range files {
				if _, err := os.Stat(filepath.Join(dir, dst)); err == nil {
					return fmt.Errorf("%s already exists: init writes into a directory without it (nothing written)", filepath.Join(dir, dst))
				} else if !errors.Is(err, os.ErrNotExist) {
					return err
				}
			}
			for dst, src := range files {
				b, err := fs.ReadFile(examples.Starter, src)
				if err != nil {
					return err
				}
				p := filepath.Join(dir, dst)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					return err
				}
				if err := os.WriteFile(p, b, 0o644); err != nil {
					return err
				}
			}
			if output == "json" {
				written := slices.Sorted(maps.Keys(files))
				return printJSON(env.Stdout, map[string]any{"dir": dir, "files": written})
			}
			fmt.Fprintf(env.Stdout, `Wrote %d files to %s. Next:
  turbocat validate -f %s
  turbocat plan -f %s      # then apply; add TURBOCAT_API_URL and TURBOCAT_API_KEY to the repository's CI secrets
`, len(files), dir, filepath.Join(dir, "workflows"), filepath.Join(dir, "workflows"))
			return nil
		},
	}
	addOutputFlag(cmd, &output)
	return cmd
}
