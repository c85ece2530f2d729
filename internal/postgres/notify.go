package postgres

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/turbocat/turbocat/internal/postgres/dbsqlc"
)

// eventKicker wakes the dispatchers listening for events (ListenEvents)
// after statements that wrote events have committed: one NOTIFY in a
// transaction of its own (EventsNotify), sent by at most one goroutine at a
// time for however many writes committed meanwhile.
//
// The NOTIFY used to be part of the statement that wrote the events. A
// transaction that notifies holds Postgres's single notify lock from just
// before its commit until the commit ends, WAL flush included, so every
// run's start and end waited for every other one's flush in turn: under
// bench-hooks most backends waited on that lock (Lock:object), and the
// server did one flush per notifying commit instead of one for many.
//
// Only a process that listens (turbocat dev, see NotifyEvents) sends them:
// on AWS nothing listens (a scheduled drain dispatches the outbox), and a
// NOTIFY would be a round trip for nobody.
type eventKicker struct {
	pool    *pgxpool.Pool
	enabled atomic.Bool

	mu      sync.Mutex
	running bool // a goroutine is sending
	again   bool // writes committed since it started sending
}

func (k *eventKicker) on() bool { return k != nil && k.pool != nil && k.enabled.Load() }

// NotifyEvents makes db wake the dispatchers listening for events
// (ListenEvents) after each write of events: for the process that runs the
// outbox and listens (turbocat dev). Without it, writing events notifies
// no one and dispatchers find the events on their tick.
func (db *DB) NotifyEvents() {
	if db.kicker != nil {
		db.kicker.enabled.Store(true)
	}
}

// notifyTimeout bounds one NOTIFY; a lost one costs only a dispatcher's tick.
const notifyTimeout = 5 * time.Second

// kick asks for a NOTIFY after the caller's committed write.
func (k *eventKicker) kick() {
	if !k.on() {
		return
	}
	k.mu.Lock()
	if k.running {
		k.again = true
		k.mu.Unlock()
		return
	}
	k.running = true
	k.mu.Unlock()
	go k.send()
}

func (k *eventKicker) send() {
	q := dbsqlc.New(k.pool)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
		// A failure is not an error of the write that asked for it: the
		// events are committed, and a dispatcher's tick finds them.
		_ = q.EventsNotify(ctx)
		cancel()
		k.mu.Lock()
		if !k.again {
			k.running = false
			k.mu.Unlock()
			return
		}
		k.again = false
		k.mu.Unlock()
	}
}

// eventsWritten wakes the dispatchers for events a statement of db just
// wrote: after the commit when db runs each statement on its own, with the
// transaction's commit when db is bound to one.
func (db *DB) eventsWritten(ctx context.Context, n int64) error {
	if n <= 0 || !db.kicker.on() {
		return nil
	}
	if db.tx != nil {
		return db.q.EventsNotifyInTx(ctx)
	}
	db.kicker.kick()
	return nil
}
