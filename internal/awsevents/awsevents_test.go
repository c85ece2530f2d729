package awsevents_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/awsevents"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// TestPublishThroughTheSDK: the real EventBridge client, against a server
// speaking the AWSEvents JSON protocol; the entry round-trips through Decode.
func TestPublishThroughTheSDK(t *testing.T) {
	t.Parallel()
	var got struct {
		Entries []struct{ EventBusName, Source, DetailType, Detail string }
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "AWSEvents.PutEvents", r.Header.Get("X-Amz-Target"))
		b, _ := io.ReadAll(r.Body)
		require.NoError(t, json.Unmarshal(b, &got))
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write([]byte(`{"FailedEntryCount":0,"Entries":[{"EventId":"e-1"}]}`))
	}))
	t.Cleanup(srv.Close)
	client := eventbridge.New(eventbridge.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), Credentials: aws.AnonymousCredentials{}})
	bus := &awsevents.Bus{Client: client, BusName: "turbocat-dev", Logger: slog.New(slog.DiscardHandler)}
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	bus.Publish(context.Background(), turbocat.Event{ID: "5b0c3c9e-6a4b-4b8e-9d7e-2f1a9c1d3e4f", Type: turbocat.EventExecutionFailed, Time: at,
		UserID: "u-1", Data: map[string]string{"executionId": "x", "stepKey": "fetch"}})
	require.Len(t, got.Entries, 1)
	require.Equal(t, "turbocat-dev", got.Entries[0].EventBusName)
	require.Equal(t, awsevents.Source, got.Entries[0].Source)
	require.Equal(t, "execution.failed", got.Entries[0].DetailType)
	e, err := awsevents.Decode(json.RawMessage(got.Entries[0].Detail))
	require.NoError(t, err)
	require.Equal(t, "u-1", e.UserID)
	require.True(t, at.Equal(e.Time))
	require.JSONEq(t, `{"executionId":"x","stepKey":"fetch"}`, string(e.Data.(json.RawMessage)))
	_, err = awsevents.Decode(json.RawMessage(`{"type":"x"}`))
	require.Error(t, err)
}
