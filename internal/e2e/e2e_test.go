package e2e_test

import (
	"os"
	"testing"

	"github.com/turbocat/turbocat/internal/e2e"
)

// TestDeployedStack runs the scenario against a deployed stack (LocalStack
// or AWS). make test runs the same scenario against turbocat dev
// (cmd/turbocat TestEndToEndOnDev).
func TestDeployedStack(t *testing.T) {
	url := os.Getenv("TURBOCAT_E2E_URL")
	if url == "" {
		t.Skip("TURBOCAT_E2E_URL is not set: deploy a stack (make localstack-deploy, which needs Docker) and set it to the stack's API URL")
	}
	e2e.Run(t, url)
}
