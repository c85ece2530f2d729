package runtime

import (
	"encoding/json"
	"time"
)

// HistoryEvent is one execution history event. Type uses the Step
// Functions event type names; MarshalJSON produces the
// GetExecutionHistory shape (with the type-specific details object). The
// unexported-in-JSON fields after Cause carry what Resume needs.
type HistoryEvent struct {
	ID              int64
	PreviousEventID int64
	Timestamp       time.Time
	Type            string

	Name      string // state name (state and map iteration events)
	Input     any    // state or execution input
	Output    any    // state, task or execution output
	HasInput  bool
	HasOutput bool

	// Replay data, journaled but not part of the API shape.
	Thread string // "" for the top level, otherwise parent/seq.attempt.index
	Seq    int    // state entry sequence number within the thread
	Next   string // StateExited: the next state, "" when the thread ended

	// *EventDetails holds the fields few event types use; nil otherwise.
	*EventDetails
}

// EventDetails are the less common HistoryEvent fields.
type EventDetails struct {
	Error        string
	Cause        string
	Resource     string
	ResourceType string
	Parameters   any
	Timeout      int64     // seconds, task scheduled events
	Heartbeat    int64     // seconds, task scheduled events
	Index        int       // map iteration index
	Length       int       // map length
	Token        string    // task token of a .waitForTaskToken task (replay)
	Deadline     time.Time // Wait: when the wait ends; TaskFailed: when a retry is due (replay)
	// Assigned holds the variables a state assigned (StateExited).
	Assigned map[string]any
}

// details returns the event's details, never nil.
func (e *HistoryEvent) details() *EventDetails {
	if e.EventDetails == nil {
		return &EventDetails{}
	}
	return e.EventDetails
}

// Event types.
const (
	EvExecutionStarted   = "ExecutionStarted"
	EvExecutionSucceeded = "ExecutionSucceeded"
	EvExecutionFailed    = "ExecutionFailed"
	EvExecutionAborted   = "ExecutionAborted"
	EvExecutionTimedOut  = "ExecutionTimedOut"

	EvTaskScheduled = "TaskScheduled"
	EvTaskStarted   = "TaskStarted"
	EvTaskSubmitted = "TaskSubmitted"
	EvTaskSucceeded = "TaskSucceeded"
	EvTaskFailed    = "TaskFailed"
	EvTaskTimedOut  = "TaskTimedOut"

	EvLambdaScheduled = "LambdaFunctionScheduled"
	EvLambdaStarted   = "LambdaFunctionStarted"
	EvLambdaSucceeded = "LambdaFunctionSucceeded"
	EvLambdaFailed    = "LambdaFunctionFailed"
	EvLambdaTimedOut  = "LambdaFunctionTimedOut"

	EvParallelStarted   = "ParallelStateStarted"
	EvParallelSucceeded = "ParallelStateSucceeded"
	EvParallelFailed    = "ParallelStateFailed"
	EvParallelAborted   = "ParallelStateAborted"

	EvMapStarted          = "MapStateStarted"
	EvMapSucceeded        = "MapStateSucceeded"
	EvMapFailed           = "MapStateFailed"
	EvMapAborted          = "MapStateAborted"
	EvMapIterationStarted = "MapIterationStarted"
	EvMapIterationSucceed = "MapIterationSucceeded"
	EvMapIterationFailed  = "MapIterationFailed"
	EvMapIterationAborted = "MapIterationAborted"

	EvEvaluationFailed = "EvaluationFailed"

	EvActivityScheduled = "ActivityScheduled"
	EvActivityStarted   = "ActivityStarted"
	EvActivitySucceeded = "ActivitySucceeded"
	EvActivityFailed    = "ActivityFailed"
	EvActivityTimedOut  = "ActivityTimedOut"

	EvExecutionRedriven = "ExecutionRedriven"
)

func enteredType(stateType string) string { return stateType + "StateEntered" }
func exitedType(stateType string) string  { return stateType + "StateExited" }

type payloadDetails struct {
	Truncated bool `json:"truncated"`
}

func jsonString(v any) string {
	return mustEncode(v)
}

// Details returns the type-specific details object and its field name, as
// in the Step Functions API (e.g. "stateEnteredEventDetails").
func (e *HistoryEvent) Details() (string, map[string]any) {
	x := e.details()
	d := map[string]any{}
	key := ""
	io := func(field string, v any) {
		d[field] = jsonString(v)
		d[field+"Details"] = payloadDetails{}
	}
	errorCause := func() {
		if x.Error != "" {
			d["error"] = x.Error
		}
		if x.Cause != "" {
			d["cause"] = x.Cause
		}
	}
	limits := func() {
		if x.Timeout > 0 {
			d["timeoutInSeconds"] = x.Timeout
		}
		if x.Heartbeat > 0 {
			d["heartbeatInSeconds"] = x.Heartbeat
		}
	}
	switch e.Type {
	case EvExecutionStarted:
		key = "executionStartedEventDetails"
		io("input", e.Input)
		d["roleArn"] = x.Resource
	case EvExecutionSucceeded:
		key = "executionSucceededEventDetails"
		io("output", e.Output)
	case EvExecutionFailed, EvExecutionAborted, EvExecutionTimedOut, EvLambdaFailed, EvLambdaTimedOut, EvActivityFailed, EvActivityTimedOut:
		key = map[string]string{
			EvExecutionFailed: "executionFailedEventDetails", EvExecutionAborted: "executionAbortedEventDetails",
			EvExecutionTimedOut: "executionTimedOutEventDetails", EvLambdaFailed: "lambdaFunctionFailedEventDetails",
			EvLambdaTimedOut: "lambdaFunctionTimedOutEventDetails", EvActivityFailed: "activityFailedEventDetails",
			EvActivityTimedOut: "activityTimedOutEventDetails",
		}[e.Type]
		errorCause()
	case EvTaskScheduled:
		key = "taskScheduledEventDetails"
		d["resourceType"] = x.ResourceType
		d["resource"] = x.Resource
		d["region"] = "us-east-1"
		d["parameters"] = jsonString(x.Parameters)
		limits()
	case EvTaskStarted:
		key = "taskStartedEventDetails"
		d["resourceType"] = x.ResourceType
		d["resource"] = x.Resource
	case EvTaskSubmitted, EvTaskSucceeded:
		key = map[string]string{EvTaskSubmitted: "taskSubmittedEventDetails", EvTaskSucceeded: "taskSucceededEventDetails"}[e.Type]
		d["resourceType"] = x.ResourceType
		d["resource"] = x.Resource
		io("output", e.Output)
	case EvTaskFailed, EvTaskTimedOut:
		key = map[string]string{EvTaskFailed: "taskFailedEventDetails", EvTaskTimedOut: "taskTimedOutEventDetails"}[e.Type]
		d["resourceType"] = x.ResourceType
		d["resource"] = x.Resource
		errorCause()
	case EvLambdaScheduled:
		key = "lambdaFunctionScheduledEventDetails"
		d["resource"] = x.Resource
		io("input", e.Input)
		if x.Timeout > 0 {
			d["timeoutInSeconds"] = x.Timeout
		}
	case EvLambdaSucceeded:
		key = "lambdaFunctionSucceededEventDetails"
		io("output", e.Output)
	case EvMapStarted:
		key = "mapStateStartedEventDetails"
		d["length"] = x.Length
	case EvActivityScheduled:
		key = "activityScheduledEventDetails"
		d["resource"] = x.Resource
		io("input", e.Input)
		limits()
	case EvActivityStarted:
		key = "activityStartedEventDetails"
		d["workerName"] = x.Resource
	case EvActivitySucceeded:
		key = "activitySucceededEventDetails"
		io("output", e.Output)
	case EvExecutionRedriven:
		key = "executionRedrivenEventDetails"
		d["redriveCount"] = x.Index
	case EvEvaluationFailed:
		key = "evaluationFailedEventDetails"
		d["state"] = e.Name
		d["error"] = x.Error
		d["cause"] = x.Cause
		d["location"] = x.Resource
	case EvMapIterationStarted, EvMapIterationSucceed, EvMapIterationFailed, EvMapIterationAborted:
		key = map[string]string{EvMapIterationStarted: "mapIterationStartedEventDetails", EvMapIterationSucceed: "mapIterationSucceededEventDetails",
			EvMapIterationFailed: "mapIterationFailedEventDetails", EvMapIterationAborted: "mapIterationAbortedEventDetails"}[e.Type]
		d["name"] = e.Name
		d["index"] = x.Index
	default:
		if len(e.Type) > len("StateEntered") && e.Type[len(e.Type)-len("StateEntered"):] == "StateEntered" {
			key = "stateEnteredEventDetails"
			d["name"] = e.Name
			io("input", e.Input)
		} else if len(e.Type) > len("StateExited") && e.Type[len(e.Type)-len("StateExited"):] == "StateExited" {
			key = "stateExitedEventDetails"
			d["name"] = e.Name
			io("output", e.Output)
			if len(x.Assigned) > 0 {
				d["assignedVariables"] = assignedJSON(x.Assigned)
				d["assignedVariablesDetails"] = payloadDetails{}
			}
		}
	}
	if key == "" {
		return "", nil
	}
	return key, d
}

// MarshalJSON renders the event in the GetExecutionHistory shape.
func (e *HistoryEvent) MarshalJSON() ([]byte, error) {
	m := map[string]any{
		"id":        e.ID,
		"timestamp": float64(e.Timestamp.UnixMilli()) / 1000,
		"type":      e.Type,
	}
	if e.PreviousEventID > 0 {
		m["previousEventId"] = e.PreviousEventID
	}
	if key, d := e.Details(); key != "" {
		m[key] = d
	}
	return json.Marshal(m)
}

// journalEvent is the journaled form of a HistoryEvent (every field).
type journalEvent struct {
	ID              int64           `json:"id"`
	PreviousEventID int64           `json:"prev,omitempty"`
	Timestamp       time.Time       `json:"ts"`
	Type            string          `json:"type"`
	Name            string          `json:"name,omitempty"`
	Input           json.RawMessage `json:"input,omitempty"`
	Output          json.RawMessage `json:"output,omitempty"`
	HasInput        bool            `json:"hasInput,omitempty"`
	HasOutput       bool            `json:"hasOutput,omitempty"`
	Error           string          `json:"error,omitempty"`
	Cause           string          `json:"cause,omitempty"`
	Resource        string          `json:"resource,omitempty"`
	ResourceType    string          `json:"resourceType,omitempty"`
	Parameters      json.RawMessage `json:"parameters,omitempty"`
	Timeout         int64           `json:"timeout,omitempty"`
	Heartbeat       int64           `json:"heartbeat,omitempty"`
	Index           int             `json:"index,omitempty"`
	Length          int             `json:"length,omitempty"`
	Thread          string          `json:"thread,omitempty"`
	Seq             int             `json:"seq,omitempty"`
	Next            string          `json:"next,omitempty"`
	Token           string          `json:"token,omitempty"`
	Deadline        time.Time       `json:"deadline,omitzero"`
	Assigned        json.RawMessage `json:"assigned,omitempty"`
}

func rawOrNil(v any, has bool) json.RawMessage {
	if !has && v == nil {
		return nil
	}
	b, err := encodeJSON(v)
	if err != nil {
		return nil
	}
	return b
}

// EncodeEvent serialises every field of an event, for durable journals.
func EncodeEvent(e *HistoryEvent) ([]byte, error) {
	x := e.details()
	je := journalEvent{
		ID: e.ID, PreviousEventID: e.PreviousEventID, Timestamp: e.Timestamp, Type: e.Type, Name: e.Name,
		Input: rawOrNil(e.Input, e.HasInput), Output: rawOrNil(e.Output, e.HasOutput), HasInput: e.HasInput, HasOutput: e.HasOutput,
		Error: x.Error, Cause: x.Cause, Resource: x.Resource, ResourceType: x.ResourceType,
		Parameters: rawOrNil(x.Parameters, false), Timeout: x.Timeout, Heartbeat: x.Heartbeat, Index: x.Index, Length: x.Length,
		Thread: e.Thread, Seq: e.Seq, Next: e.Next, Token: x.Token, Deadline: x.Deadline,
	}
	if len(x.Assigned) > 0 {
		je.Assigned = rawOrNil(x.Assigned, true)
	}
	return json.Marshal(je)
}

// DecodeEvent is the inverse of EncodeEvent.
func DecodeEvent(b []byte) (*HistoryEvent, error) {
	var je journalEvent
	if err := json.Unmarshal(b, &je); err != nil {
		return nil, err
	}
	dec := func(r json.RawMessage) (any, error) {
		if len(r) == 0 {
			return nil, nil
		}
		return decodeJSON(r)
	}
	e := &HistoryEvent{
		ID: je.ID, PreviousEventID: je.PreviousEventID, Timestamp: je.Timestamp, Type: je.Type, Name: je.Name,
		HasInput: je.HasInput, HasOutput: je.HasOutput, Thread: je.Thread, Seq: je.Seq, Next: je.Next,
	}
	x := &EventDetails{Error: je.Error, Cause: je.Cause, Resource: je.Resource,
		ResourceType: je.ResourceType, Timeout: je.Timeout, Heartbeat: je.Heartbeat, Index: je.Index, Length: je.Length,
		Token: je.Token, Deadline: je.Deadline}
	if len(je.Assigned) > 0 {
		v, err := dec(je.Assigned)
		if err != nil {
			return nil, err
		}
		x.Assigned, _ = v.(map[string]any)
	}
	if x.Error != "" || x.Cause != "" || x.Resource != "" || x.ResourceType != "" || x.Timeout != 0 || x.Heartbeat != 0 ||
		x.Index != 0 || x.Length != 0 || x.Token != "" || !x.Deadline.IsZero() || x.Assigned != nil || len(je.Parameters) > 0 {
		e.EventDetails = x
	}
	var err error
	if e.Input, err = dec(je.Input); err != nil {
		return nil, err
	}
	if e.Output, err = dec(je.Output); err != nil {
		return nil, err
	}
	if len(je.Parameters) > 0 {
		if e.EventDetails.Parameters, err = dec(je.Parameters); err != nil {
			return nil, err
		}
	}
	return e, nil
}
