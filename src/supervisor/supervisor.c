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
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/pidfile.h"
#include "utils/timestamp.h"

#include "conn_state.h"
#include "connection_tracker.h"
#include "net_admin.h"
#include "observation.h"
#include "postmaster_child.h"
#include "registry.h"
#include "supervisor.h"

bool		walmptcp_supervisor_enabled = true;
int			walmptcp_check_interval = 1000;
int			walmptcp_repair = WALMPTCP_REPAIR_AUTO;

static const struct config_enum_entry repair_options[] = {
	{"auto", WALMPTCP_REPAIR_AUTO, false},
	{"endpoint", WALMPTCP_REPAIR_ENDPOINT, false},
	{"reconnect", WALMPTCP_REPAIR_RECONNECT, false},
	{"off", WALMPTCP_REPAIR_OFF, false},
	{NULL, 0, false}
};

/* walmptcp.supervisor, walmptcp.check_interval, walmptcp.repair */
void
walmptcp_supervisor_define_settings(void)
{
	DefineCustomBoolVariable("walmptcp.supervisor",
							 "Starts the background worker that re-establishes lost subflows.",
							 NULL,
							 &walmptcp_supervisor_enabled,
							 true,
							 PGC_POSTMASTER,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("walmptcp.check_interval",
							"How often the supervisor looks at the replication connections' subflows.",
							NULL,
							&walmptcp_check_interval,
							1000, 100, 3600000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomEnumVariable("walmptcp.repair",
							 "How the supervisor re-establishes lost subflows.",
							 "auto: endpoint when the endpoint helper has CAP_NET_ADMIN, else reconnect; "
							 "endpoint: re-add the MPTCP endpoint in place; "
							 "reconnect: make the walreceiver or apply worker reconnect; off: only report.",
							 &walmptcp_repair,
							 WALMPTCP_REPAIR_AUTO,
							 repair_options,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);
}

PGDLLEXPORT void walmptcp_supervisor_main(Datum arg);

static uint64 listeners_checked_for = 0;	/* host config last checked */
static uint64 host_config = 0;	/* the last one read */

/*
 * Ticks that failed in a row (a sock_diag or netlink request refused by a
 * seccomp or LSM policy, a kernel regression).  The supervisor runs for
 * months: the same failure is reported at most once a minute, with how
 * often it happened in between, and the tick backs off (doubling, up to a
 * minute) while it lasts.
 */
#define FAILURE_REPORT_INTERVAL_MS	60000
#define FAILURE_MAX_BACKOFF_MS		60000

typedef struct TickFailures
{
	int			in_a_row;		/* failed ticks since the last good one */
	int			unreported;		/* failures since the last report */
	char		message[256];	/* the last one reported */
	TimestampTz reported_at;
} TickFailures;

static TickFailures failures;

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
		config = host_config = observe_host_config(host_config);
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

	/* a connection gone is forgotten; its server's record for an hour */
	tracker_forget_unseen();
	tracker_forget_idle_peers(now);
}

/* The wait between ticks: walmptcp.check_interval, longer while ticks fail. */
static int
tick_interval_ms(void)
{
	int64		ms = walmptcp_check_interval;

	for (int i = 1; i < failures.in_a_row && ms < FAILURE_MAX_BACKOFF_MS; i++)
		ms *= 2;
	return (int) Min(ms, Max(FAILURE_MAX_BACKOFF_MS, walmptcp_check_interval));
}

/* A tick failed: report it, unless it is the one reported less than a minute ago. */
static void
tick_failed(void)
{
	ErrorData  *edata = CopyErrorData();
	TimestampTz now = GetCurrentTimestamp();
	bool		same = strncmp(edata->message ? edata->message : "", failures.message,
							   sizeof(failures.message) - 1) == 0;

	FlushErrorState();
	LWLockReleaseAll();
	failures.in_a_row++;
	failures.unreported++;
	if (same && !TimestampDifferenceExceeds(failures.reported_at, now,
											FAILURE_REPORT_INTERVAL_MS))
	{
		FreeErrorData(edata);
		return;
	}
	ereport(WARNING,
			(errcode(edata->sqlerrcode),
			 errmsg("walmptcp supervisor could not look at the replication connections: %s",
					edata->message ? edata->message : "unknown error"),
			 failures.unreported > 1 ?
			 errdetail("This failed %d times since it was last reported; the supervisor now looks every %d s and repairs nothing while it cannot see.",
					   failures.unreported, tick_interval_ms() / 1000) :
			 (edata->detail ? errdetail("%s", edata->detail) : 0)));
	strlcpy(failures.message, edata->message ? edata->message : "", sizeof(failures.message));
	failures.reported_at = now;
	failures.unreported = 0;
	FreeErrorData(edata);
}

/* A tick succeeded: say so once if it follows failures. */
static void
tick_succeeded(void)
{
	if (failures.in_a_row == 0)
		return;
	ereport(LOG,
			(errmsg("walmptcp supervisor sees the replication connections again, after %d failed looks",
					failures.in_a_row)));
	memset(&failures, 0, sizeof(failures));
}

/*
 * Whether the postmaster is shutting down: it writes "stopping" into
 * postmaster.pid before it signals its children.  A supervisor that leaves
 * then exits with 0 (no "exited with exit code 1" line at every shutdown,
 * as PostgreSQL's own workers); terminated at any other time it exits with
 * 1, so that the postmaster starts it again.
 */
static bool
postmaster_stopping(void)
{
	char		line[MAXPGPATH];
	FILE	   *f = AllocateFile("postmaster.pid", "r");
	int			lineno = 0;
	bool		stopping = false;

	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL)
	{
		if (++lineno == LOCK_FILE_LINE_PM_STATUS)
		{
			stopping = strncmp(line, PM_STATUS_STOPPING, strlen(PM_STATUS_STOPPING)) == 0;
			break;
		}
	}
	FreeFile(f);
	return stopping;
}

void
walmptcp_supervisor_main(Datum arg)
{
	MemoryContext tick_context;
	volatile bool tick_failed_now;

	/* a shutdown is no error: leave quietly, as PostgreSQL's own workers do */
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();

	tracker_tables_create();
	PG_TRY();
	{
		listeners_checked_for = host_config = observe_host_config(0);
		observe_announced_listeners();
	}
	PG_CATCH();
	{
		/* the first failed look, reported as the later ones are */
		MemoryContextSwitchTo(TopMemoryContext);
		tick_failed();
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

		tick_failed_now = false;
		old = MemoryContextSwitchTo(tick_context);
		PG_TRY();
		{
			supervise_once();
		}
		PG_CATCH();
		{
			/* report (rate-limited), and try again later rather than exit */
			MemoryContextSwitchTo(old);
			tick_failed();
			tick_failed_now = true;
		}
		PG_END_TRY();
		if (!tick_failed_now)
			tick_succeeded();
		MemoryContextSwitchTo(old);
		MemoryContextReset(tick_context);

		if (ShutdownRequestPending)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 tick_interval_ms(), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	ereport(DEBUG1, (errmsg("walmptcp: supervisor shutting down")));
	proc_exit(postmaster_stopping() ? 0 : 1);
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
