/*-------------------------------------------------------------------------
 *
 * supervisor.c
 *	  Background worker that watches every replication connection's subflows
 *	  and re-establishes the ones Linux will not re-create by itself.
 *
 * Linux's in-kernel path manager never re-creates a subflow once it is
 * closed (RST from a middlebox, timeout after a long outage): the connection
 * lives on on its other paths and silently stays degraded.
 *
 * This file is only the background worker: registration, the main loop,
 * signals, shutdown, and one tick (supervise_once) going over the
 * connections.  The rest, each file with the rules it enforces (each rule
 * there because breaking it harmed a healthy connection):
 *
 *	 connection_tracker.c	what it remembers per connection and per server,
 *							and the events it records
 *	 observation.c			what it looks at: the host's endpoints and
 *							limits, each connection's paths (rules: never
 *							act on what it does not know; like is compared
 *							with like; the full set is what the host offers
 *							now)
 *	 repair_policy.c		when a connection is degraded and what may be
 *							done about it, with no I/O (rule: repairs need
 *							proof and have limits)
 *	 repair_actions.c		doing it: endpoint re-adds, probe connections,
 *							the signal asking for a reconnect
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "conn_state.h"
#include "connection_tracker.h"
#include "observation.h"
#include "walmptcp.h"

bool		walmptcp_supervisor_enabled = true;
int			walmptcp_check_interval = 1000;
int			walmptcp_repair = WALMPTCP_REPAIR_AUTO;

PGDLLEXPORT void walmptcp_supervisor_main(Datum arg);

static uint64 listeners_checked_for = 0;	/* host config last checked */

static void
supervise_once(void)
{
	TimestampTz now = GetCurrentTimestamp();
	uint64		config = 0;
	int			probe_budget = 1;	/* at most one probe per tick: ~1.5 s */
	Matched    *matched;
	int			n;

	/* read before the sockets: a change in between shows up next tick */
	(void) walmptcp_registry_snapshot(&n);
	if (n > 0)
		config = observe_host_config();
	if (n > 0 && config != listeners_checked_for)
	{
		listeners_checked_for = config;
		observe_announced_listeners();
	}
	matched = walmptcp_match_connections(0, &n);

	tracker_mark_all_unseen();
	for (int i = 0; i < n && !ShutdownRequestPending; i++)
		observe_connection(&matched[i], now, config, &probe_budget);
	if (ShutdownRequestPending)
		return;

	/* a connection gone is forgotten; its server's record stays */
	tracker_forget_unseen();
}

void
walmptcp_supervisor_main(Datum arg)
{
	MemoryContext tick_context;

	/* a shutdown is no error: leave quietly, as PostgreSQL's own workers do */
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();

	tracker_tables_create();
	PG_TRY();
	{
		listeners_checked_for = observe_host_config();
		observe_announced_listeners();
	}
	PG_CATCH();
	{
		EmitErrorReport();
		FlushErrorState();
	}
	PG_END_TRY();
	tick_context = AllocSetContextCreate(TopMemoryContext, "walmptcp supervisor",
										 ALLOCSET_DEFAULT_SIZES);
	ereport(LOG,
			(errmsg("walmptcp: supervisor started (repair = %s, endpoint helper %s)",
					GetConfigOption("walmptcp.repair", false, false),
					walmptcp_helper_available() ? "available" : "not available: endpoint repair needs CAP_NET_ADMIN at server start")));

	while (!ShutdownRequestPending)
	{
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		old = MemoryContextSwitchTo(tick_context);
		PG_TRY();
		{
			supervise_once();
		}
		PG_CATCH();
		{
			/* report, and try again next tick rather than exit */
			MemoryContextSwitchTo(old);
			EmitErrorReport();
			FlushErrorState();
			LWLockReleaseAll();
		}
		PG_END_TRY();
		MemoryContextSwitchTo(old);
		MemoryContextReset(tick_context);

		if (ShutdownRequestPending)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 walmptcp_check_interval, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	ereport(DEBUG1, (errmsg("walmptcp: supervisor shutting down")));
	/* 1: the postmaster starts it again unless the server is stopping */
	proc_exit(1);
}

void
walmptcp_supervisor_register(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	worker.bgw_start_time = BgWorkerStart_PostmasterStart;
	worker.bgw_restart_time = 5;
	strlcpy(worker.bgw_library_name, "walmptcp", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, WALMPTCP_SUPERVISOR_FUNCTION, BGW_MAXLEN);
	strlcpy(worker.bgw_name, "walmptcp supervisor", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "walmptcp supervisor", BGW_MAXLEN);
	/* the fork handler knows the supervisor by this registration */
	walmptcp_register_supervisor_worker(&worker);
}
