/*-------------------------------------------------------------------------
 *
 * events.c
 *	  A ring of supervisor events in shared memory.
 *
 * The supervisor records what it sees and does (subflow lost / added,
 * degraded, repair, repaired, repair_failed, reconnect).  The ring keeps the
 * last WALMPTCP_EVENTS entries; older ones are overwritten.  An LWLock, not
 * a spinlock: a reader copies the whole ring (about 200 kB).  The SQL
 * function walmptcp_events() is in stat_functions.c.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "events.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"
#include "walmptcp.h"


#define WALMPTCP_EVENTS 512

typedef struct EventRing
{
	LWLock	   *lock;
	uint64		next;			/* total events ever recorded */
	WalmptcpEvent entries[WALMPTCP_EVENTS];
} EventRing;

static EventRing *ring = NULL;

Size
walmptcp_events_shmem_size(void)
{
	return sizeof(EventRing);
}

/* At shared memory creation (AddinShmemInitLock held). */
void
walmptcp_events_shmem_init(LWLock *lock)
{
	bool		found;

	ring = ShmemInitStruct("walmptcp events", sizeof(EventRing), &found);
	if (!found)
	{
		ring->lock = lock;
		ring->next = 0;
	}
}

void
walmptcp_event(int pid, WalmptcpRole role, const char *local,
			   const char *remote, const char *event, const char *detail)
{
	WalmptcpEvent e;

	if (ring == NULL)
		return;
	memset(&e, 0, sizeof(e));
	e.time = GetCurrentTimestamp();
	e.pid = pid;
	e.role = role;
	strlcpy(e.local, local ? local : "", sizeof(e.local));
	strlcpy(e.remote, remote ? remote : "", sizeof(e.remote));
	strlcpy(e.event, event, sizeof(e.event));
	strlcpy(e.detail, detail ? detail : "", sizeof(e.detail));

	LWLockAcquire(ring->lock, LW_EXCLUSIVE);
	ring->entries[ring->next % WALMPTCP_EVENTS] = e;
	ring->next++;
	LWLockRelease(ring->lock);
}

/* The events in the ring, oldest first, palloc'd; *count of them. */
WalmptcpEvent *
walmptcp_events_copy(int *count)
{
	WalmptcpEvent *copy = palloc(sizeof(ring->entries));
	uint64		first,
				last;
	int			n = 0;

	LWLockAcquire(ring->lock, LW_SHARED);
	last = ring->next;
	first = last > WALMPTCP_EVENTS ? last - WALMPTCP_EVENTS : 0;
	for (uint64 i = first; i < last; i++)
		copy[n++] = ring->entries[i % WALMPTCP_EVENTS];
	LWLockRelease(ring->lock);
	*count = n;
	return copy;
}
