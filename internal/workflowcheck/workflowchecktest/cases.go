// Package workflowchecktest is the one table of workflow validation cases
// that the validator (internal/workflowcheck), the API's service
// (internal/service) and the CLI's file checks (internal/cli) are each
// tested against, so the server and `turbocat validate` cannot drift apart.
package workflowchecktest

// Want is one expected problem: its field (as the API names it) and a part
// of its message.
type Want struct {
	Field    string
	Contains string
}

// Case is a workflow body as POST /api/v1/workflows takes it (steps name
// their agent by agentId; every agent named is taken to exist) and the
// problems it has (none: valid).
type Case struct {
	Name     string
	Workflow string
	Want     []Want
	// APIOnly marks shapes a YAML file cannot express (the file format
	// types them), checked on the API side only.
	APIOnly bool
}

// Cases is the table.
var Cases = []Case{
	{Name: "parallel branches with upstream outputs", Workflow: `{"name": "w", "inputSchema": {"type": "object", "properties": {"url": {"type": "string"}}},
		"steps": [{"key": "a", "agentId": "ag", "inputs": {"u": "{{inputs.url}}", "id": "{{execution.id}}", "at": "{{execution.startedAt}}"}},
		{"key": "b", "agentId": "ag", "dependsOn": ["a"], "inputs": {"t": "{{steps.a.output.body}}"}},
		{"key": "c", "agentId": "ag", "dependsOn": ["a"]}],
		"output": {"b": "{{steps.b.output}}", "c": "{{steps.c.output}}"}}`},
	{Name: "a secret in step inputs", Workflow: `{"name": "w", "steps": [{"key": "a", "agentId": "ag", "inputs": {"t": "{{secrets.TOKEN}}"}}]}`,
		Want: []Want{{"steps[0].inputs", "secrets belong in agent configs"}}},
	{Name: "an unknown execution field", Workflow: `{"name": "w", "steps": [{"key": "a", "agentId": "ag", "inputs": {"t": "{{execution.bogus}}"}}]}`,
		Want: []Want{{"steps[0].inputs", "execution offers id and startedAt"}}},
	{Name: "a step reference without output", Workflow: `{"name": "w", "steps": [{"key": "a", "agentId": "ag"}, {"key": "b", "agentId": "ag", "dependsOn": ["a"], "inputs": {"t": "{{steps.a.result}}"}}]}`,
		Want: []Want{{"steps[1].inputs", "must look like {{steps.<key>.output...}}"}}},
	{Name: "a step that is not upstream", Workflow: `{"name": "w", "steps": [{"key": "a", "agentId": "ag", "inputs": {"t": "{{steps.b.output}}"}}, {"key": "b", "agentId": "ag", "dependsOn": ["a"]}]}`,
		Want: []Want{{"steps[0].inputs", `which is not upstream of "a"; add it to dependsOn`}}},
	{Name: "an unknown step", Workflow: `{"name": "w", "steps": [{"key": "a", "agentId": "ag", "inputs": {"t": "{{steps.nope.output}}"}}]}`,
		Want: []Want{{"steps[0].inputs", `unknown step "nope"`}}},
	{Name: "an unknown root", Workflow: `{"name": "w", "steps": [{"key": "a", "agentId": "ag", "inputs": {"t": "{{input.url}}"}}]}`,
		Want: []Want{{"steps[0].inputs", "templates start with inputs, steps or execution"}}},
	{Name: "an input the schema does not declare", Workflow: `{"name": "w", "inputSchema": {"type": "object", "properties": {"url": {}}},
		"steps": [{"key": "a", "agentId": "ag", "inputs": {"t": "{{inputs.other}}"}}]}`,
		Want: []Want{{"steps[0].inputs", `references input "other", which inputSchema does not declare`}}},
	{Name: "an invalid input schema", Workflow: `{"name": "w", "inputSchema": {"type": 5}, "steps": [{"key": "a", "agentId": "ag"}]}`,
		Want: []Want{{"inputSchema", "is not a valid JSON Schema"}}},
	{Name: "a cycle", Workflow: `{"name": "w", "steps": [{"key": "x", "agentId": "ag", "dependsOn": ["y"]}, {"key": "y", "agentId": "ag", "dependsOn": ["x"]}]}`,
		Want: []Want{{"steps[1].dependsOn[0]", "dependency cycle: x → y → x"}}},
	{Name: "an unknown dependency", Workflow: `{"name": "w", "steps": [{"key": "a", "agentId": "ag", "dependsOn": ["z"]}]}`,
		Want: []Want{{"steps[0].dependsOn[0]", `"z"`}}},
	{Name: "duplicate step keys", Workflow: `{"name": "w", "steps": [{"key": "a", "agentId": "ag"}, {"key": "a", "agentId": "ag"}]}`,
		Want: []Want{{"steps[1].key", `"a"`}}},
	{Name: "a step without agent", Workflow: `{"name": "w", "steps": [{"key": "a", "agentId": ""}]}`,
		Want: []Want{{"steps[0].agentId", "is required"}}},
	{Name: "the workflow output references an unknown step", Workflow: `{"name": "w", "steps": [{"key": "a", "agentId": "ag"}], "output": {"x": "{{steps.b.output}}"}}`,
		Want: []Want{{"output", `unknown step "b"`}}},
	{Name: "a schedule with a plural unit for 1", Workflow: `{"name": "w", "schedule": "rate(1 minutes)", "steps": [{"key": "a", "agentId": "ag"}]}`,
		Want: []Want{{"schedule", "with value 1 the unit is singular: rate(1 minute)"}}},
	{Name: "a schedule that is no expression", Workflow: `{"name": "w", "schedule": "every day", "steps": [{"key": "a", "agentId": "ag"}]}`,
		Want: []Want{{"schedule", "must be cron(...), rate(...) or at(...)"}}},
	{Name: "a valid cron schedule", Workflow: `{"name": "w", "schedule": "cron(0 9 ? * MON-FRI *)", "steps": [{"key": "a", "agentId": "ag"}]}`},
	{Name: "retry without backoffRate or intervalSeconds takes the defaults", Workflow: `{"name": "w", "steps": [{"key": "a", "agentId": "ag", "retry": {"maxAttempts": 3}}]}`},
	{Name: "retry with every setting", Workflow: `{"name": "w", "steps": [{"key": "a", "agentId": "ag", "timeoutSeconds": 30,
		"retry": {"maxAttempts": 3, "intervalSeconds": 1, "backoffRate": 1, "maxDelaySeconds": 60, "errors": ["Code.Timeout"]}}]}`},
	{Name: "retry bounds", Workflow: `{"name": "w", "steps": [{"key": "a", "agentId": "ag", "timeoutSeconds": 901,
		"retry": {"maxAttempts": 50, "intervalSeconds": 7200, "backoffRate": 0.5}}]}`,
		Want: []Want{{"steps[0].retry.maxAttempts", "must be 0 to 20"}, {"steps[0].retry.intervalSeconds", "must be 1 to 3600"},
			{"steps[0].retry.backoffRate", "must be 1.0 to 10.0"}, {"steps[0].timeoutSeconds", "must be 1 to 900: a step runs in one invocation of the steprunner Lambda function"}}},
	{Name: "control flow: a condition, a list, a wait, an approval, onError", Workflow: `{"name": "w", "inputSchema": {"type": "object", "properties": {"docs": {}}},
		"steps": [{"key": "check", "agentId": "ag"},
		{"key": "each", "agentId": "ag", "dependsOn": ["check"], "when": "steps.check.output.ok == true", "forEach": "{{inputs.docs}}", "maxConcurrency": 4,
			"inputs": {"doc": "{{item}}", "n": "{{index}}"}, "onError": "continue"},
		{"key": "pause", "type": "wait", "seconds": 60, "dependsOn": ["each"]},
		{"key": "ok", "type": "approval", "timeoutSeconds": 86400, "dependsOn": ["pause"]}]}`},
	{Name: "a condition on a step that is not upstream", Workflow: `{"name": "w", "steps": [{"key": "x", "agentId": "ag", "when": "steps.y.output.ok"}, {"key": "y", "agentId": "ag"}]}`,
		Want: []Want{{"steps[0].when", `references step "y", which is not upstream of "x"; add it to dependsOn`}}},
	{Name: "item outside a forEach step", Workflow: `{"name": "w", "steps": [{"key": "a", "agentId": "ag", "inputs": {"d": "{{item}}"}}]}`,
		Want: []Want{{"steps[0].inputs", "only available in the inputs of a forEach step"}}},
	{Name: "forEach that is no template", Workflow: `{"name": "w", "steps": [{"key": "a", "agentId": "ag", "forEach": "docs"}]}`,
		Want: []Want{{"steps[0].forEach", "must be one template that gives a list"}}},
	{Name: "a wait without a duration", Workflow: `{"name": "w", "steps": [{"key": "a", "type": "wait"}]}`,
		Want: []Want{{"steps[0]", "a wait step needs seconds or until"}}},
	{Name: "an approval that names an agent", Workflow: `{"name": "w", "steps": [{"key": "a", "type": "approval", "agentId": "ag"}]}`,
		Want: []Want{{"steps[0].agentId", "a approval step runs no agent"}}},
	{Name: "an unknown step type", Workflow: `{"name": "w", "steps": [{"key": "a", "type": "later"}]}`,
		Want: []Want{{"steps[0].type", `must be agent, wait, approval or workflow, not "later"`}}},
	{Name: "an unknown onError", Workflow: `{"name": "w", "steps": [{"key": "a", "agentId": "ag", "onError": "ignore"}]}`,
		Want: []Want{{"steps[0].onError", "must be fail (the run fails) or continue"}}},
	{Name: "inputs that are not an object", Workflow: `{"name": "w", "steps": [{"key": "a", "agentId": "ag", "inputs": ["x"]}]}`,
		Want: []Want{{"steps[0].inputs", "must be an object"}}, APIOnly: true},
}
