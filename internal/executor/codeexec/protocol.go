package codeexec

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
)

// Environment of a worker process.
const (
	// WorkerEnv marks a process started as a code worker ("1").
	WorkerEnv = "TURBOCAT_CODE_WORKER"
	// workerMemEnv carries the memory budget in bytes.
	workerMemEnv = "TURBOCAT_CODE_WORKER_MEMORY"
)

// Wire protocol between host and worker: each message is a 4-byte
// big-endian length followed by that many bytes of JSON.

// maxFrame bounds a frame read by either side.
const maxFrame = 16 << 20

// workerHello is the first frame a worker sends, once it is ready.
type workerHello struct {
	Ready    bool  `json:"ready"`
	Protocol int   `json:"protocol"`
	Pid      int   `json:"pid"`
	RlimitAS int64 `json:"rlimitAs,omitempty"`
}

const protocolVersion = 2

type workerRequest struct {
	Source         string          `json:"source"`
	Input          json.RawMessage `json:"input"`
	Ctx            json.RawMessage `json:"ctx"`
	TimeoutMs      int64           `json:"timeoutMs"`
	MaxOutputBytes int             `json:"maxOutputBytes"`
	MaxLogLines    int             `json:"maxLogLines"`
	MaxLogLineSize int             `json:"maxLogLineSize"`
	MaxLogBytes    int             `json:"maxLogBytes"`
	MaxStackDepth  int             `json:"maxStackDepth"`
	// Live asks for the script's log lines while it runs: the worker
	// sends them in partial responses, then the rest in the final one.
	Live bool `json:"live,omitempty"`
}

type workerLog struct {
	TimeMs  int64  `json:"t"`
	Level   string `json:"level"`
	Message string `json:"msg"`
}

type workerError struct {
	Name  string `json:"name"`
	Cause string `json:"cause"`
}

// workerResponse answers a request. With Live, partial responses carrying
// only log lines (Partial set) come before the final one; the final one's
// Logs are the lines not sent before.
type workerResponse struct {
	Partial bool            `json:"partial,omitempty"`
	Output  json.RawMessage `json:"output,omitempty"`
	Logs    []workerLog     `json:"logs,omitempty"`
	Dropped int             `json:"dropped,omitempty"`
	Error   *workerError    `json:"error,omitempty"`
}

func writeFrame(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode frame: %w", err)
	}
	if len(b) > maxFrame {
		return fmt.Errorf("frame of %d bytes exceeds %d", len(b), maxFrame)
	}
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(b)))
	if _, err := w.Write(append(hdr[:], b...)); err != nil {
		return fmt.Errorf("write frame: %w", err)
	}
	return nil
}

func readFrame(r *bufio.Reader, v any) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return fmt.Errorf("read frame header: %w", err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxFrame {
		return fmt.Errorf("frame of %d bytes exceeds %d", n, maxFrame)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return fmt.Errorf("read frame: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode frame: %w", err)
	}
	return nil
}
