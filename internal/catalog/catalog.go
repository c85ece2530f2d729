// Package catalog is Turbocat's built-in template catalog: agent templates
// that work once their secrets are set, and workflow templates composed of
// them. It is seeded idempotently on every start and migration.
package catalog

import (
	"encoding/json"
	"fmt"

	"github.com/turbocat/turbocat/internal/turbocat"
)

type entry struct {
	name, category, description, agentType string
	definition                             string
}

var agents = []entry{
	{"HTTP GET JSON", "http", "Fetches a URL and returns {status, headers, body} with a JSON body parsed. Input: {url}.", "api",
		`{"method": "GET", "url": "{{input.url}}", "headers": {"Accept": "application/json"}, "timeoutSeconds": 30,
		  "retry": {"maxAttempts": 3, "maxDelaySeconds": 10}}`},
	{"POST to a webhook", "http", "Sends the input's payload as JSON to a webhook URL kept in the secret WEBHOOK_URL. Input: {payload}.", "api",
		`{"method": "POST", "url": "{{secrets.WEBHOOK_URL}}", "headers": {"Content-Type": "application/json"}, "body": "{{input.payload}}"}`},
	{"Slack message", "notify", "Posts a message through a Slack incoming webhook kept in the secret SLACK_WEBHOOK_URL. Input: {text}.", "api",
		`{"method": "POST", "url": "{{secrets.SLACK_WEBHOOK_URL}}", "headers": {"Content-Type": "application/json"}, "body": {"text": "{{input.text}}"}}`},
	{"Transform JSON", "code", "Reshapes its input with JavaScript: edit main to map fields.", "code",
		`{"source": "function main(input) {\n  // Return any JSON value; console.log lines become step logs.\n  return { keys: Object.keys(input || {}), input: input };\n}\n", "timeoutSeconds": 5}`},
	{"Filter a list", "code", "Keeps the items of input.items whose field input.field equals input.value.", "code",
		`{"source": "function main(input) {\n  const items = Array.isArray(input.items) ? input.items : [];\n  const kept = items.filter(it => it && it[input.field] === input.value);\n  console.log('kept ' + kept.length + ' of ' + items.length);\n  return { items: kept, count: kept.length };\n}\n", "timeoutSeconds": 5}`},
	{"Summarize text", "llm", "Summarises input.text in a few sentences with an OpenAI-compatible model (API key in the secret OPENAI_API_KEY).", "llm",
		`{"provider": "openai", "model": "gpt-4o-mini", "apiKeySecret": "OPENAI_API_KEY", "system": "You write concise, faithful summaries.",
		  "prompt": "Summarise in at most three sentences:\n\n{{input.text}}", "temperature": 0.2, "maxTokens": 300}`},
	{"Classify text", "llm", "Classifies input.text into one of input.labels with structured output: {label, confidence}.", "llm",
		`{"provider": "openai", "model": "gpt-4o-mini", "apiKeySecret": "OPENAI_API_KEY", "system": "You are a precise classifier.",
		  "prompt": "Labels: {{input.labels}}\n\nText:\n{{input.text}}\n\nChoose the best label.", "temperature": 0,
		  "responseSchema": {"type": "object", "required": ["label", "confidence"], "additionalProperties": false,
		    "properties": {"label": {"type": "string"}, "confidence": {"type": "number", "minimum": 0, "maximum": 1}}}}`},
	{"Extract entities", "llm", "Extracts people, organisations and places from input.text as JSON (Anthropic; API key in the secret ANTHROPIC_API_KEY).", "llm",
		`{"provider": "anthropic", "model": "claude-3-5-haiku-latest", "apiKeySecret": "ANTHROPIC_API_KEY", "maxTokens": 800,
		  "prompt": "Extract the named entities of this text:\n\n{{input.text}}", "temperature": 0,
		  "responseSchema": {"type": "object", "required": ["people", "organizations", "places"],
		    "properties": {"people": {"type": "array", "items": {"type": "string"}}, "organizations": {"type": "array", "items": {"type": "string"}},
		      "places": {"type": "array", "items": {"type": "string"}}}}}`},
}

var workflows = []entry{
	{"Fetch, summarize, notify", "pipeline", "Fetches a URL, summarises its body with an LLM and posts the summary to Slack. Input: {url}. Needs OPENAI_API_KEY and SLACK_WEBHOOK_URL.", "",
		`{"agents": [
		   {"ref": "fetch", "name": "fetch", "type": "api", "config": {"method": "GET", "url": "{{input.url}}", "timeoutSeconds": 30}},
		   {"ref": "summarize", "name": "summarize", "type": "llm", "config": {"provider": "openai", "model": "gpt-4o-mini", "apiKeySecret": "OPENAI_API_KEY",
		     "prompt": "Summarise in at most three sentences:\n\n{{input.text}}", "maxTokens": 300}},
		   {"ref": "notify", "name": "notify", "type": "api", "config": {"method": "POST", "url": "{{secrets.SLACK_WEBHOOK_URL}}", "body": {"text": "{{input.text}}"}}}],
		  "workflow": {
		   "inputSchema": {"type": "object", "required": ["url"], "properties": {"url": {"type": "string", "format": "uri"}}},
		   "steps": [
		     {"key": "fetch", "agent": "fetch", "inputs": {"url": "{{inputs.url}}"}, "retry": {"maxAttempts": 3, "intervalSeconds": 2, "backoffRate": 2, "errors": ["Api.Http5xx", "Api.Timeout"]}},
		     {"key": "summarize", "agent": "summarize", "dependsOn": ["fetch"], "inputs": {"text": "{{steps.fetch.output.body}}"}, "timeoutSeconds": 120},
		     {"key": "notify", "agent": "notify", "dependsOn": ["summarize"], "inputs": {"text": "{{steps.summarize.output.text}}"}}],
		   "output": {"summary": "{{steps.summarize.output.text}}"}}}`},
	{"Parallel research", "pipeline", "Fetches two URLs in parallel, then merges both bodies with code. Input: {first, second}. Runs without any secret.", "",
		`{"agents": [
		   {"ref": "fetch", "name": "fetch", "type": "api", "config": {"method": "GET", "url": "{{input.url}}"}},
		   {"ref": "merge", "name": "merge", "type": "code", "config": {"source": "function main(input) {\n  return { first: input.a, second: input.b };\n}\n"}}],
		  "workflow": {
		   "inputSchema": {"type": "object", "required": ["first", "second"], "properties": {"first": {"type": "string"}, "second": {"type": "string"}}},
		   "steps": [
		     {"key": "first", "agent": "fetch", "inputs": {"url": "{{inputs.first}}"}},
		     {"key": "second", "agent": "fetch", "inputs": {"url": "{{inputs.second}}"}},
		     {"key": "merge", "agent": "merge", "dependsOn": ["first", "second"], "inputs": {"a": "{{steps.first.output.body}}", "b": "{{steps.second.output.body}}"}}]}}`},
}

// Builtins returns the built-in templates.
func Builtins() ([]*turbocat.Template, error) {
	var out []*turbocat.Template
	add := func(kind string, e entry) error {
		var v any
		if err := json.Unmarshal([]byte(e.definition), &v); err != nil {
			return fmt.Errorf("built-in template %q: %w", e.name, err)
		}
		def, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("built-in template %q: %w", e.name, err)
		}
		out = append(out, &turbocat.Template{Kind: kind, Name: e.name, Category: e.category, Description: e.description,
			AgentType: e.agentType, Definition: def, BuiltIn: true})
		return nil
	}
	for _, e := range agents {
		if err := add(turbocat.TemplateAgent, e); err != nil {
			return nil, err
		}
	}
	for _, e := range workflows {
		if err := add(turbocat.TemplateWorkflow, e); err != nil {
			return nil, err
		}
	}
	return out, nil
}
