package app_test

import "github.com/turbocat/turbocat/internal/executor/codeexec"

func codeexecWorker() { codeexec.MaybeRunWorker() }
