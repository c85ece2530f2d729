package stacks_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/infra/stacks"
)

// stageFacts collects, from every template of a stage, the physical names
// it gives resources and the wildcard ARN patterns its policies and rules
// use.
func stageFacts(fx *fixture) (names map[string]string, patterns []string) {
	names = map[string]string{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				// Inline policies are named within their role, API stages within
				// their API; metric and
				// dimension names are not resources.
				scoped := k == "PolicyName" || k == "MetricName" || k == "StageName" || strings.Contains(path, ".Dimensions") || strings.Contains(path, ".Tags")
				if s, ok := c.(string); ok && strings.HasSuffix(k, "Name") && !scoped {
					names[s] = path + "." + k
				}
				if k == "Resource" || k == "prefix" {
					for _, r := range list(c) {
						if strings.Contains(r, "turbocat-") {
							patterns = append(patterns, r)
						}
					}
				}
				walk(path+"."+k, c)
			}
		case []any:
			for _, c := range x {
				walk(path, c)
			}
		}
	}
	for stack, tpl := range fx.templates {
		walk(stack, tpl.JSON["Resources"])
	}
	return names, patterns
}

// TestTwoStagesShareNoNamesOrPatterns: two stages in one account and
// region — including "dev" and "dev-2", whose names share a prefix — name
// no resource alike, and no IAM resource pattern or event-rule prefix of
// one matches a resource of the other.
func TestTwoStagesShareNoNamesOrPatterns(t *testing.T) {
	t.Parallel()
	a := build(t, map[string]string{"stage": "dev", "dataMode": "external", "databaseSecretArn": externalSecretARN}, fixtureDoc, stacks.FunctionNames())
	b := build(t, map[string]string{"stage": "dev-2", "dataMode": "external", "databaseSecretArn": externalSecretARN}, fixtureDoc, stacks.FunctionNames())
	namesA, patternsA := stageFacts(a)
	namesB, patternsB := stageFacts(b)
	require.NotEmpty(t, namesA)
	for n, where := range namesA {
		_, clash := namesB[n]
		require.False(t, clash, "both stages name a resource %q (%s)", n, where)
	}
	// A resource of stage B, for each pattern of B: its wildcards filled in.
	var resourcesB []string
	for _, p := range patternsB {
		resourcesB = append(resourcesB, strings.ReplaceAll(p, "*", "x"))
	}
	for n := range namesB {
		resourcesB = append(resourcesB, n)
	}
	require.NotEmpty(t, patternsA)
	for _, p := range patternsA {
		re := regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(p), `\*`, ".*") + "$")
		for _, r := range resourcesB {
			require.False(t, re.MatchString(r) || (strings.HasSuffix(p, "_") && strings.HasPrefix(r, p)),
				"stage dev's %q covers stage dev-2's %q", p, r)
		}
	}
	require.Contains(t, strings.Join(patternsA, " "), ":stateMachine:turbocat-dev_*", "state-machine grants name the stage")
}
