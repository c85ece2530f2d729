package runtime

import (
	"encoding/json"
	"fmt"
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
