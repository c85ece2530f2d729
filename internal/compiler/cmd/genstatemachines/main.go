// Command genstatemachines compiles the example workflows in statemachines/src
// into statemachines/<name>.asl.json and prints the state transitions per
// agent step of a successful run of each. `make generate` runs it; running it
// twice gives byte-identical files.
//
// Usage:
//
//	go run ./internal/compiler/cmd/genstatemachines [-src statemachines/src] [-out statemachines]
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/turbocat/turbocat/internal/compiler"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "genstatemachines:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("genstatemachines", flag.ContinueOnError)
	src := fs.String("src", filepath.Join("statemachines", "src"), "directory of workflow sources (*.json)")
	out := fs.String("out", "statemachines", "directory for the compiled definitions (*.asl.json)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sources, err := filepath.Glob(filepath.Join(*src, "*.json"))
	if err != nil {
		return fmt.Errorf("list sources: %w", err)
	}
	if len(sources) == 0 {
		return fmt.Errorf("no workflow sources in %s", *src)
	}
	sort.Strings(sources)
	want := map[string]bool{}
	totalSteps, totalTransitions := 0, 0
	fmt.Fprintf(stdout, "%-28s %6s %12s %10s\n", "workflow", "steps", "transitions", "per step")
	for _, path := range sources {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		wf, err := readWorkflow(path)
		if err != nil {
			return err
		}
		sm, err := compiler.Compile(wf, compiler.Options{})
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		data, err := compiler.MarshalJSON(sm)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		target := filepath.Join(*out, name+".asl.json")
		want[target] = true
		if err := writeIfChanged(target, data); err != nil {
			return err
		}
		n, err := compiler.Transitions(sm, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		totalSteps += len(wf.Steps)
		totalTransitions += n
		fmt.Fprintf(stdout, "%-28s %6d %12d %10.3f\n", name, len(wf.Steps), n, float64(n)/float64(len(wf.Steps)))
	}
	fmt.Fprintf(stdout, "%-28s %6d %12d %10.3f\n", "total", totalSteps, totalTransitions, float64(totalTransitions)/float64(totalSteps))
	// Remove definitions whose source is gone.
	existing, err := filepath.Glob(filepath.Join(*out, "*.asl.json"))
	if err != nil {
		return fmt.Errorf("list definitions: %w", err)
	}
	for _, path := range existing {
		if !want[path] {
			if err := os.Remove(path); err != nil {
				return fmt.Errorf("remove stale definition: %w", err)
			}
		}
	}
	return nil
}

func readWorkflow(path string) (compiler.Workflow, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return compiler.Workflow{}, fmt.Errorf("read workflow: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var wf compiler.Workflow
	if err := dec.Decode(&wf); err != nil {
		return compiler.Workflow{}, fmt.Errorf("decode %s: %w", path, err)
	}
	return wf, nil
}

func writeIfChanged(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write definition: %w", err)
	}
	return nil
}
