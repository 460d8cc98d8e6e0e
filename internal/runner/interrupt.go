package runner

import (
	"context"
	"time"
)

// InterruptGrace bounds what a run still does once interrupted before it returns: reading
// its witnesses' last counters, without waiting for PostgreSQL's statistics to settle.
const InterruptGrace = time.Second

// afterAttack is the context of the steps that follow an attack: they are not cut short by
// the end of ctx, except that once ctx is done (an interrupt) they get InterruptGrace.
func afterAttack(ctx context.Context) context.Context {
	if ctx.Err() == nil {
		return context.WithoutCancel(ctx)
	}
	grace, cancel := context.WithTimeout(context.WithoutCancel(ctx), InterruptGrace)
	context.AfterFunc(grace, cancel)
	return grace
}
