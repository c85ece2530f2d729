package postgres

import (
	"sync"

	"github.com/turbocat/turbocat/internal/turbocat"
)

// maxMeta bounds the execution facts a DB remembers; past it the cache
// starts again (a miss costs one query).
const maxMeta = 10000

// metaCache remembers what never changes about executions, so the first
// step of a run this process started needs no query to find its workflow
// version. A nil cache remembers nothing.
type metaCache struct {
	mu sync.Mutex
	m  map[string]turbocat.ExecutionMeta
}

func newMetaCache() *metaCache { return &metaCache{m: make(map[string]turbocat.ExecutionMeta)} }

func (c *metaCache) get(id string) (turbocat.ExecutionMeta, bool) {
	if c == nil {
		return turbocat.ExecutionMeta{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.m[id]
	return m, ok
}

func (c *metaCache) put(id string, m turbocat.ExecutionMeta) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxMeta {
		c.m = make(map[string]turbocat.ExecutionMeta)
	}
	c.m[id] = m
}
