// Command infra is the Turbocat CDK app. cdk.json at the repository root
// runs it from infra/ (`cd infra && go run .`); the context keys it reads
// are documented in package settings and in the README.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/turbocat/turbocat/infra/settings"
	"github.com/turbocat/turbocat/infra/stacks"
)

func main() {
	err := run()
	jsii.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "turbocat infra:", err)
		os.Exit(1)
	}
}

func run() error {
	wd, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("working directory: %w", err)
	}
	// cdk.json runs the app in <root>/infra; the CLI's output directory and
	// the context paths are relative to the repository root.
	root := filepath.Dir(wd)
	props := &awscdk.AppProps{}
	if out := os.Getenv("CDK_OUTDIR"); out != "" && !filepath.IsAbs(out) {
		props.Outdir = jsii.String(filepath.Join(root, out))
	}
	app := awscdk.NewApp(props)
	cfg, err := settings.FromContext(func(key string) (string, bool) {
		v := app.Node().TryGetContext(jsii.String(key))
		if v == nil {
			return "", false
		}
		return fmt.Sprint(v), true
	})
	if err != nil {
		return err
	}
	var env *awscdk.Environment
	if account, region := os.Getenv("CDK_DEFAULT_ACCOUNT"), os.Getenv("CDK_DEFAULT_REGION"); account != "" && region != "" {
		env = &awscdk.Environment{Account: jsii.String(account), Region: jsii.String(region)}
	}
	// The stage deploys exactly the functions the repository has
	// (functions/<name>/main.go).
	functions, err := stacks.PresentFunctions(root)
	if err != nil {
		return err
	}
	if _, err := stacks.NewTurbocat(app, stacks.TurbocatProps{Config: cfg, Root: root, Env: env, Functions: functions, ConsoleDir: stacks.DefaultConsoleDir}); err != nil {
		return err
	}
	app.Synth(nil)
	return nil
}
