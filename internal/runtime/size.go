package runtime

import (
	"encoding/json"
	"fmt"
	"reflect"
)

// valueSize returns the size in bytes of v encoded as JSON, approximately
// (strings are not measured for escapes), stopping early once it exceeds
// limit.
func valueSize(v any, limit int) int {
	n := 0
	var walk func(v any)
	walk = func(v any) {
		if n > limit {
			return
		}
		switch x := v.(type) {
		case nil:
			n += 4
		case bool:
			n += 5
		case string:
			n += len(x) + 2
		case json.Number:
			n += len(x)
		case float64, int, int64:
			n += 8
		case map[string]any:
			n += 2
			for k, e := range x {
				n += len(k) + 4
				walk(e)
				if n > limit {
					return
				}
			}
		case []any:
			n += 2
			for _, e := range x {
				n++
				walk(e)
				if n > limit {
					return
				}
			}
		default:
			n += 16
		}
	}
	walk(v)
	return n
}

// checkSize fails a state whose output exceeds the Step Functions payload
// limit with States.DataLimitExceeded.
func checkSize(v any, state string) *stateErr {
	if valueSize(v, MaxPayloadBytes) > MaxPayloadBytes {
		return &stateErr{Error: ErrDataLimitExceeded, Cause: fmt.Sprintf("The state/task '%s' returned a result with a size exceeding the maximum number of bytes service limit (%d bytes).", state, MaxPayloadBytes)}
	}
	return nil
}

// eventOverhead is the estimated memory of one history event besides its
// payloads (the struct, its details, the slices that hold it).
const eventOverhead = 200

// footprint estimates the memory an execution keeps: its record and its
// history. Payloads several events share (a state's output is the next
// state's input) are counted once. Caller holds ex.mu.
func footprint(ex *execution) int64 {
	seen := map[uintptr]bool{}
	var n int64 = recordSize(ex.rec)
	for _, e := range ex.events {
		n += eventOverhead + int64(len(e.Name)+len(e.Thread)+len(e.Next))
		n += sharedSize(e.Input, seen) + sharedSize(e.Output, seen)
		if d := e.EventDetails; d != nil {
			n += int64(len(d.Error)+len(d.Cause)+len(d.Resource)+len(d.Token)) + sharedSize(d.Parameters, seen) + sharedSize(d.Assigned, seen)
		}
	}
	return n
}

// recordSize estimates the memory of an execution record.
func recordSize(rec *Execution) int64 {
	return 300 + int64(len(rec.Input)+len(rec.Output)+len(rec.Definition)+len(rec.Error)+len(rec.Cause))
}

// sharedSize is valueSize counting each object and array once.
func sharedSize(v any, seen map[uintptr]bool) int64 {
	switch x := v.(type) {
	case map[string]any:
		p := reflect.ValueOf(x).Pointer()
		if seen[p] {
			return 8
		}
		seen[p] = true
		var n int64 = 48
		for k, e := range x {
			n += int64(len(k)) + 16 + sharedSize(e, seen)
		}
		return n
	case []any:
		if len(x) == 0 {
			return 24
		}
		p := reflect.ValueOf(x).Pointer()
		if seen[p] {
			return 8
		}
		seen[p] = true
		var n int64 = 24
		for _, e := range x {
			n += 16 + sharedSize(e, seen)
		}
		return n
	case string:
		return int64(len(x)) + 16
	case json.Number:
		return int64(len(x)) + 16
	}
	return 16
}
