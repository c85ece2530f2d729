package service_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/postgres"
	"github.com/turbocat/turbocat/internal/postgres/pgtest"
	"github.com/turbocat/turbocat/internal/service"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// sink records what the outbox publishes; it refuses the first failFirst
// attempts of every event.
type sink struct {
	mu        sync.Mutex
	failFirst int
	tries     map[string]int
	got       []string
}

func (s *sink) Publish(_ context.Context, e turbocat.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tries[e.ID]++
	if s.tries[e.ID] <= s.failFirst {
		return errors.New("the bus is down")
	}
	s.got = append(s.got, e.ID)
	return nil
}

func newUser(t *testing.T, db *postgres.DB) string {
	t.Helper()
	u := &turbocat.User{Email: "outbox-" + turbocat.NewID()[:8] + "@example.com", PasswordHash: "x", Role: turbocat.RoleUser}
	require.NoError(t, db.CreateUser(context.Background(), u))
	return u.ID
}

// An event written in a transaction that rolls back is never dispatched;
// one that commits is dispatched once, even with two dispatchers at once.
func TestOutboxDispatchesCommittedEventsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := postgres.NewDB(pgtest.Pool(t))
	user := newUser(t, db)
	kept := turbocat.NewEvent(user, turbocat.EventExecutionStarted, map[string]string{"executionId": "x"})
	dropped := turbocat.NewEvent(user, turbocat.EventExecutionFailed, map[string]string{"executionId": "y"})
	require.NoError(t, db.InTx(ctx, func(st turbocat.Store) error { return st.AddEvents(ctx, kept) }))
	boom := errors.New("the change failed")
	require.ErrorIs(t, db.InTx(ctx, func(st turbocat.Store) error {
		if err := st.AddEvents(ctx, dropped); err != nil {
			return err
		}
		return boom
	}), boom)

	s := &sink{tries: map[string]int{}}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := (&service.Outbox{Store: db, Publisher: s}).Drain(ctx)
			require.NoError(t, err)
		}()
	}
	wg.Wait()
	require.Equal(t, []string{kept.ID}, s.got, "the committed event once, the rolled-back one never")

	n, err := (&service.Outbox{Store: db, Publisher: s}).Drain(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "a dispatched event is not dispatched again")
}

// An event the publisher refuses stays in the outbox and is dispatched when
// it is due again; a dispatcher that died holding events lets them go when
// its lease passes.
func TestOutboxRetries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	db := postgres.NewDB(pool)
	user := newUser(t, db)
	e := turbocat.NewEvent(user, turbocat.EventStepFailed, map[string]string{"stepKey": "fetch"})
	require.NoError(t, db.AddEvents(ctx, e))

	s := &sink{failFirst: 1, tries: map[string]int{}}
	o := &service.Outbox{Store: db, Publisher: s}
	n, err := o.Drain(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	var lastErr string
	require.NoError(t, pool.QueryRow(ctx, `SELECT last_error FROM events WHERE id = $1`, e.ID).Scan(&lastErr))
	require.Equal(t, "the bus is down", lastErr, "the failure is recorded with the event")

	_, err = pool.Exec(ctx, `UPDATE events SET next_attempt_at = now() WHERE id = $1`, e.ID) // its retry is due
	require.NoError(t, err)
	n, err = o.Drain(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, []string{e.ID}, s.got)

	// A claim that is never finished (the dispatcher died) expires.
	lost := turbocat.NewEvent(user, turbocat.EventExecutionStarted, nil)
	require.NoError(t, db.AddEvents(ctx, lost))
	claimed, err := db.ClaimEvents(ctx, 10, 50*time.Millisecond)
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	again, err := db.ClaimEvents(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, again, "a held event is not claimed twice")
	time.Sleep(100 * time.Millisecond)
	s.mu.Lock()
	s.failFirst = 0
	s.mu.Unlock()
	n, err = o.Drain(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n, "the lease passed: another dispatcher sends it")
}
