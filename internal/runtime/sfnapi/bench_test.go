package sfnapi_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/turbocat/turbocat/internal/runtime"
	"github.com/turbocat/turbocat/internal/runtime/sfnapi"
)

// passChain returns a linear chain of n Pass states (keep it identical to
// pass() in bench/runtime/bench.mjs).
func passChain(n int) string {
	var b strings.Builder
	b.WriteString(`{"StartAt":"P0","States":{`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		if i == n-1 {
			fmt.Fprintf(&b, `"P%d":{"Type":"Pass","End":true}`, i)
		} else {
			fmt.Fprintf(&b, `"P%d":{"Type":"Pass","Next":"P%d"}`, i, i+1)
		}
	}
	b.WriteString(`}}`)
	return b.String()
}

// BenchmarkSyncExpressPassChain runs an EXPRESS chain of Pass states with
// StartSyncExecution through the endpoint: an aws-sdk-go-v2 client signs
// each request (SigV4), the handler verifies it, runs the execution and
// encodes the response. µs/state is the whole round trip divided by the
// number of states (bench/runtime/run.sh reports it).
func BenchmarkSyncExpressPassChain(b *testing.B) {
	for _, n := range []int{1, 2000} {
		b.Run(fmt.Sprintf("states=%d", n), func(b *testing.B) {
			ctx := context.Background()
			rt, err := runtime.New(ctx, runtime.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer rt.Close()
			srv := httptest.NewServer(sfnapi.NewHandler(rt, nil, sfnapi.WithCredentials(testCreds)))
			defer srv.Close()
			client := clientWith(srv.URL, testCreds.AccessKeyID, testCreds.SecretAccessKey)
			sm, err := client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("pass"), Type: types.StateMachineTypeExpress,
				RoleArn: aws.String("arn:aws:iam::123456789012:role/bench"), Definition: aws.String(passChain(n))})
			if err != nil {
				b.Fatal(err)
			}
			in := &sfn.StartSyncExecutionInput{StateMachineArn: sm.StateMachineArn, Input: aws.String(`{"v":1}`)}
			b.ReportAllocs()
			for b.Loop() {
				out, err := client.StartSyncExecution(ctx, in, noHostPrefix)
				if err != nil {
					b.Fatal(err)
				}
				if out.Status != types.SyncExecutionStatusSucceeded || aws.ToString(out.Output) != `{"v":1}` {
					b.Fatalf("execution %s: %s", out.Status, aws.ToString(out.Output))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n)/1000, "µs/state")
		})
	}
}
