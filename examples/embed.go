// Package examples holds the example workflow files and the CI workflow
// that `turbocat init` copies into a new repository.
package examples

import "embed"

// Starter is what turbocat init writes: the runnable example workflow
// (workflows/) and the GitHub Actions workflow (ci/turbocat.yml).
//
//go:embed workflows/*.yaml ci/turbocat.yml
var Starter embed.FS
