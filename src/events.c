/*-------------------------------------------------------------------------
 *
 * events.c
 *	  A ring of supervisor events in shared memory, and walmptcp_events().
 *
 * The supervisor records what it sees and does (subflow lost / added,
 * degraded, repair, repaired, repair_failed, reconnect).  The ring keeps the
 * last WALMPTCP_EVENTS entries; older ones are overwritten.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_authid.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "walmptcp.h"

#define WALMPTCP_EVENTS 512

typedef struct EventEntry
{
	TimestampTz time;
	int			pid;
	WalmptcpRole role;
	char		local[64];
	char		remote[64];
	char		event[24];
	char		detail[256];
} EventEntry;

typedef struct EventRing
{
	slock_t		mutex;
	uint64		next;			/* total events ever recorded */
	EventEntry	entries[WALMPTCP_EVENTS];
} EventRing;

static EventRing *ring = NULL;

PG_FUNCTION_INFO_V1(walmptcp_events);

Size
walmptcp_events_shmem_size(void)
{
	return sizeof(EventRing);
}

void
walmptcp_events_shmem_init(void)
{
	bool		found;

	ring = ShmemInitStruct("walmptcp events", sizeof(EventRing), &found);
	if (!found)
	{
		SpinLockInit(&ring->mutex);
		ring->next = 0;
	}
}

void
walmptcp_event(int pid, WalmptcpRole role, const char *local,
			   const char *remote, const char *event, const char *detail)
{
	EventEntry	e;

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

	SpinLockAcquire(&ring->mutex);
	ring->entries[ring->next % WALMPTCP_EVENTS] = e;
	ring->next++;
	SpinLockRelease(&ring->mutex);
}

/*
 * walmptcp_events() -> (event_time, pid, role, local_addr, remote_addr,
 *						  event, detail), oldest first.
 */
Datum
walmptcp_events(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	EventEntry *copy;
	uint64		first,
				last;
	bool		details;

	walmptcp_require_preload();
	details = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
	InitMaterializedSRF(fcinfo, 0);

	copy = palloc(sizeof(ring->entries));
	SpinLockAcquire(&ring->mutex);
	last = ring->next;
	memcpy(copy, ring->entries, sizeof(ring->entries));
	SpinLockRelease(&ring->mutex);
	first = last > WALMPTCP_EVENTS ? last - WALMPTCP_EVENTS : 0;

	for (uint64 i = first; i < last; i++)
	{
		EventEntry *e = &copy[i % WALMPTCP_EVENTS];
		Datum		values[7];
		bool		nulls[7] = {false, false, false, false, false, false, false};

		values[0] = TimestampTzGetDatum(e->time);
		values[1] = Int32GetDatum(e->pid);
		values[2] = CStringGetTextDatum(walmptcp_role_name(e->role));
		values[3] = CStringGetTextDatum(e->local);
		values[4] = CStringGetTextDatum(e->remote);
		nulls[3] = nulls[4] = !details;
		values[5] = CStringGetTextDatum(e->event);
		values[6] = CStringGetTextDatum(e->detail);
		nulls[6] = !details;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
