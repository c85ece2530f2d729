package cli

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// turnsCmd prints the model turns and tool calls of an llm step.
func turnsCmd(env *Env) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "turns EXECUTION STEP",
		Short: "Print an llm step's model turns and tool calls",
		Long: `Prints what the tool loop of step STEP of run EXECUTION recorded, in order:
each model turn (its tokens, cost, and the tools it asked for or its answer)
and each tool call (its arguments and result or error). A retried step shows
every attempt; the retry replayed the turns already recorded instead of
calling the model or the tools again.`,
		Example: "  turbocat turns EXECUTION ask\n  turbocat turns EXECUTION ask -o json",
		Args:    cobra.ExactArgs(2),
		RunE: withClient(env, &output, func(cmd *cobra.Command, c *client, args []string) error {
			var page struct {
				Items []map[string]any `json:"items"`
			}
			path := "/api/v1/executions/" + url.PathEscape(args[0]) + "/steps/" + url.PathEscape(args[1]) + "/turns"
			if err := c.do(cmd.Context(), "GET", path, nil, &page); err != nil {
				return err
			}
			if output == "json" {
				return printJSON(env.Stdout, page.Items)
			}
			rows := make([][]string, 0, len(page.Items))
			for _, t := range page.Items {
				what, usage := "", ""
				if t["kind"] == "model" {
					out, _ := t["output"].(map[string]any)
					calls, _ := out["toolCalls"].([]any)
					if len(calls) > 0 {
						names := make([]string, len(calls))
						for i, tc := range calls {
							m, _ := tc.(map[string]any)
							names[i] = str(m["name"]) + "(" + str(m["arguments"]) + ")"
						}
						what = "asks " + strings.Join(names, ", ")
					} else {
						what = "answers " + clip(str(out["text"]), 60)
					}
					usage = fmt.Sprintf("%s in / %s out, $%s", str(t["inputTokens"]), str(t["outputTokens"]), str(t["costUsd"]))
				} else {
					what = str(t["toolName"]) + " " + clip(str(t["input"]), 40) + " → " + clip(str(t["output"]), 40)
				}
				if e, ok := t["error"].(map[string]any); ok {
					what += " ✗ " + str(e["error"]) + ": " + clip(str(e["cause"]), 60)
				}
				rows = append(rows, []string{str(t["attempt"]), str(t["turn"]), str(t["seq"]), str(t["kind"]), what, usage, str(t["durationMs"]) + " ms"})
			}
			printTable(env.Stdout, []string{"ATTEMPT", "TURN", "SEQ", "KIND", "WHAT", "USAGE", "TIME"}, rows)
			return nil
		}),
	}
	addOutputFlag(cmd, &output)
	return cmd
}

// clip shortens s to n runes with an ellipsis.
func clip(s string, n int) string {
	r := []rune(strings.ReplaceAll(s, "\n", " "))
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n]) + "…" + " (" + strconv.Itoa(len(r)) + " chars)"
}
