package awsevents_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/awsevents"
)

// fakeScheduler speaks EventBridge Scheduler's REST-JSON protocol for
// schedules, keeping them in a map.
func fakeScheduler(t *testing.T) (*httptest.Server, map[string]map[string]any) {
	var mu sync.Mutex
	schedules := map[string]map[string]any{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		name := strings.TrimPrefix(r.URL.Path, "/schedules/")
		w.Header().Set("Content-Type", "application/json")
		var body map[string]any
		if b, _ := io.ReadAll(r.Body); len(b) > 0 {
			require.NoError(t, json.Unmarshal(b, &body))
		}
		switch r.Method {
		case http.MethodPost:
			if _, ok := schedules[name]; ok {
				w.Header().Set("X-Amzn-Errortype", "ConflictException")
				w.WriteHeader(409)
				_, _ = w.Write([]byte(`{"Message":"exists"}`))
				return
			}
			schedules[name] = body
		case http.MethodPut:
			schedules[name] = body
		case http.MethodDelete:
			if _, ok := schedules[name]; !ok {
				w.Header().Set("X-Amzn-Errortype", "ResourceNotFoundException")
				w.WriteHeader(404)
				_, _ = w.Write([]byte(`{"Message":"no such schedule"}`))
				return
			}
			delete(schedules, name)
		}
		_, _ = w.Write([]byte(`{"ScheduleArn":"arn:aws:scheduler:eu-west-1:123456789012:schedule/turbocat/` + name + `"}`))
	}))
	t.Cleanup(srv.Close)
	return srv, schedules
}

func TestSchedulesThroughTheSDK(t *testing.T) {
	t.Parallel()
	srv, store := fakeScheduler(t)
	client := scheduler.New(scheduler.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), Credentials: aws.AnonymousCredentials{}})
	s := &awsevents.Schedules{Client: client, Group: "turbocat-dev", RoleArn: "arn:aws:iam::123456789012:role/sched",
		TriggerArn: "arn:aws:lambda:eu-west-1:123456789012:function:turbocat-dev-trigger", DLQArn: "arn:aws:sqs:eu-west-1:123456789012:dlq"}
	ctx := context.Background()
	wf := "5b0c3c9e-6a4b-4b8e-9d7e-2f1a9c1d3e4f"
	name := awsevents.Name(wf, "prod")
	require.LessOrEqual(t, len(name), 64)
	require.NoError(t, s.Put(ctx, wf, "prod", "rate(1 minute)", "Europe/Paris", "dep-1"))
	require.NoError(t, s.Put(ctx, wf, "prod", "cron(0 12 * * ? *)", "UTC", "dep-2"), "a redeploy updates the schedule")
	got := store[name]
	require.Equal(t, "cron(0 12 * * ? *)", got["ScheduleExpression"])
	require.Equal(t, "turbocat-dev", got["GroupName"])
	target := got["Target"].(map[string]any)
	require.Equal(t, s.TriggerArn, target["Arn"])
	require.JSONEq(t, `{"deploymentId":"dep-2","scheduledTime":"<aws.scheduler.scheduled-time>"}`, target["Input"].(string))
	require.Equal(t, s.DLQArn, target["DeadLetterConfig"].(map[string]any)["Arn"])
	require.NoError(t, s.Delete(ctx, wf, "prod"))
	require.Empty(t, store)
	require.NoError(t, s.Delete(ctx, wf, "prod"), "deleting a missing schedule is fine")
}
