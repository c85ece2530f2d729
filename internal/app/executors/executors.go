// Package executors builds the agent executors (code, api, llm) for the
// processes that run agents: turbocat dev and the steprunner function
// (steps, and agent test runs on behalf of the agents function). It is the
// only wiring that links the model providers' SDKs, so the other Lambda
// functions stay small; the JavaScript engine runs in worker processes
// (cmd/codeworker on Lambda).
package executors

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/turbocat/turbocat/internal/app"
	"github.com/turbocat/turbocat/internal/config"
	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/executor/codeexec"
	"github.com/turbocat/turbocat/internal/executor/httpexec"
	"github.com/turbocat/turbocat/internal/executor/llmexec"
)

// New builds the agent executors: code agents in sandboxed worker
// processes (started on first use), API agents through the SSRF-safe
// client, LLM agents against their providers (bedrock with the AWS
// configuration models, when not nil). The returned func releases
// the workers.
func New(cfg *config.Config, models *aws.Config) (*executor.Registry, func(), error) {
	allow, err := app.AllowCIDRs(cfg)
	if err != nil {
		return nil, nil, err
	}
	client := httpexec.NewClient(httpexec.ClientOptions{AllowCIDRs: allow, Own: app.OwnAddrs(cfg)})
	code, err := codeexec.New(codeexec.Options{Workers: cfg.CodeWorkers, PerUser: cfg.CodeWorkersPerUser, Command: WorkerCommand()})
	if err != nil {
		return nil, nil, fmt.Errorf("code executor: %w", err)
	}
	reg := executor.NewRegistry()
	reg.Register(executor.TypeCode, code)
	reg.Register(executor.TypeAPI, httpexec.New(httpexec.Options{Client: client}))
	prices := map[string]llmexec.Price{}
	for model, p := range cfg.LLMPrices {
		prices[model] = llmexec.Price{InputPerMTok: p.InputPerMTok, OutputPerMTok: p.OutputPerMTok}
	}
	reg.Register(executor.TypeLLM, llmexec.New(llmexec.Options{HTTPClient: client,
		OpenAIBaseURL: cfg.OpenAIBaseURL, AnthropicBaseURL: cfg.AnthropicBase, AWS: models, Prices: prices}))
	return reg, func() { code.Close() }, nil
}

// WorkerBinary is the code worker executable (cmd/codeworker) that the
// steprunner function ships beside its bootstrap.
const WorkerBinary = "codeworker"

// WorkerCommand is the code workers' command line: the WorkerBinary beside
// this executable when there is one (the Lambda functions), otherwise nil,
// and the process re-executes itself (turbocat dev and tests, whose main
// calls codeexec.MaybeRunWorker).
func WorkerCommand() []string {
	exe, err := os.Executable()
	if err != nil {
		return nil
	}
	p := filepath.Join(filepath.Dir(exe), WorkerBinary)
	if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
		return []string{p}
	}
	return nil
}
