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
 * The rules, each there because breaking it harmed a healthy connection:
 *
 * - It never acts on what it does not know.  A connection whose subflow
 *	 details the kernel withholds (older kernels show them to CAP_NET_ADMIN
 *	 only) is not judged at all: withheld is not zero.
 * - Like is compared with like.  A connection's subflows and a probe
 *	 connection's are read the same way (sock_diag, established subflows,
 *	 as paths: subflow_path.h).
 * - The full set is what the host offers now: the paths seen on this
 *	 connection plus those a fresh connection gets (one probe after the
 *	 connection settles), learnt again whenever the host's endpoints or
 *	 limits change, and without a path that answers plain TCP but that a
 *	 fresh connection does not get either (joins refused or filtered).
 * - Repairs need proof and have limits: repair_policy.c decides,
 *	 repair_actions.c acts.  At most one probe connection per tick
 *	 (supervise_once).
 *
 * What it remembers about each connection and server is in
 * connection_tracker.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <signal.h>
#include <linux/mptcp.h>

#include "common/hashfn.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "postmaster/postmaster.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "conn_state.h"
#include "connection_tracker.h"
#include "path_probe.h"
#include "repair_actions.h"
#include "repair_policy.h"
#include "subflow_path.h"
#include "walmptcp.h"

#define OWNER_VIEW_FRESH_MS 3000	/* an owner's view older than this is unknown */

bool		walmptcp_supervisor_enabled = true;
int			walmptcp_check_interval = 1000;
int			walmptcp_repair = WALMPTCP_REPAIR_AUTO;

PGDLLEXPORT void walmptcp_supervisor_main(Datum arg);

static bool withheld_logged = false;
static uint64 listeners_checked_for = 0;	/* host config last checked */


/*
 * The host's path-manager configuration (endpoints and limits), hashed:
 * when it changes, every connection's full set is learnt again.
 */
static uint64
host_config(void)
{
	WalmptcpEndpoint eps[WALMPTCP_MAX_ENDPOINTS];
	int			n = walmptcp_endpoints_list(eps, WALMPTCP_MAX_ENDPOINTS);
	uint32		limits[2] = {0, 0};
	uint64		h;

	(void) walmptcp_limits_get(&limits[0], &limits[1]);
	h = hash_bytes_extended((const unsigned char *) limits, sizeof(limits), 0);
	for (int i = 0; i < n; i++)
	{
		WalmptcpEndpoint ep;

		/* field by field: the struct has padding */
		memset(&ep, 0, sizeof(ep));
		ep.id = eps[i].id;
		ep.family = eps[i].family;
		memcpy(ep.addr, eps[i].addr, sizeof(ep.addr));
		ep.port = eps[i].port;
		ep.flags = eps[i].flags;
		ep.ifindex = eps[i].ifindex;
		h = hash_bytes_extended((const unsigned char *) &ep, sizeof(ep), h);
	}
	return h;
}

/*
 * A "signal" endpoint announces its address to clients, but their joins to
 * it are refused (RST) when this server has no listen socket there
 * (listen_addresses naming other addresses only): the path stays unused.
 * Said once per host configuration.  Port-based endpoints need nothing: the
 * kernel listens on the announced port itself.
 */
static void
check_announced_listeners(void)
{
	WalmptcpEndpoint eps[WALMPTCP_MAX_ENDPOINTS];
	int			neps = walmptcp_endpoints_list(eps, WALMPTCP_MAX_ENDPOINTS);
	DiagSocket *listeners = NULL;
	int			nlisteners = 0;
	static const uint8 any[16] = {0};

	for (int i = 0; i < neps; i++)
	{
		const WalmptcpEndpoint *ep = &eps[i];
		int			len = ep->family == AF_INET ? 4 : 16;
		bool		covered = false;
		char		desc[128];

		if (!(ep->flags & MPTCP_PM_ADDR_FLAG_SIGNAL) || ep->port != 0)
			continue;
		if (listeners == NULL)
			listeners = walmptcp_diag_listeners((uint16) PostPortNumber, &nlisteners);
		for (int j = 0; j < nlisteners && !covered; j++)
			covered = listeners[j].family == ep->family &&
				(memcmp(listeners[j].local, ep->addr, len) == 0 ||
				 memcmp(listeners[j].local, any, len) == 0);
		if (covered)
			continue;
		walmptcp_endpoint_describe(ep, desc, sizeof(desc));
		ereport(LOG,
				(errmsg("walmptcp: MPTCP endpoint %s is announced to clients, but this server has no listen socket on that address and port %d",
						desc, PostPortNumber),
				 errdetail("Clients' joins to the announced address are refused, so that path stays unused."),
				 errhint("Add the address to listen_addresses, or set listen_addresses = '*'.")));
	}
}

/* One connection, one tick. */
/*
 * A subflow whose local address this host no longer has can never carry
 * data again, but Linux 6.1 keeps it listed (in sock_diag and in the
 * owner's MPTCP_SUBFLOW_ADDRS) until it tries to send, which the receiving
 * side may never do: count it as gone.  Without this, a standby on 6.1
 * whose address was removed and added again never saw the loss and never
 * reconnected (kernel matrix, t/008).
 */
static void
drop_paths_from_vanished_addresses(PathSet *paths)
{
	struct ifaddrs *ifs;

	if (paths->n == 0 || getifaddrs(&ifs) != 0)
		return;					/* cannot tell: keep them */
	for (int i = paths->n - 1; i >= 0; i--)
		if (!walmptcp_address_in(ifs, paths->paths[i].family, paths->paths[i].local, false))
			pathset_remove(paths, &paths->paths[i]);
	freeifaddrs(ifs);
}

static void
observe(const Matched *m, TimestampTz now, uint64 config, int *probe_budget)
{
	const WalmptcpConnEntry *e = m->entry;
	Tracker    *t;
	PathSet		paths,
				diff,
				missing;
	bool		found;
	char		buf[512];

	if (!tracker_role_tracked(e->role) || m->msk == NULL ||
		(m->msk->mptcp.flags & MPTCP_INFO_FLAG_FALLBACK_BIT) != 0)
		return;					/* TCP or fallback: nothing to repair */

	t = tracker_enter(m, now, config, &found);
	if (!found)
		repair_adopt_reconnected(t, now);

	if (m->withheld || (m->from_owner && m->owner_age_ms > OWNER_VIEW_FRESH_MS))
	{
		/* unknown is not zero: never judged, never repaired */
		if (m->withheld && !withheld_logged)
			ereport(LOG,
					(errmsg("walmptcp: the subflows of %s %s -> %s (pid %d) are unknown; the supervisor leaves the connection alone until they are known",
							walmptcp_role_name(t->role), t->local, t->remote, t->key.pid),
					 errdetail("The kernel withholds subflow details from sock_diag (before Linux 6.18 they are shown to CAP_NET_ADMIN only) and the owning process has not published its own view.")));
		withheld_logged = true;
		return;
	}

	pathset_of_connection(m, t->ctx.client, &paths);
	drop_paths_from_vanished_addresses(&paths);
	if (found)
	{
		pathset_difference(&t->now, &paths, &diff);
		for (int i = 0; i < diff.n; i++)
		{
			path_format(&diff.paths[i], buf, sizeof(buf));
			tracker_record(t, EV_LOST, "subflow %s closed; %d left", buf, paths.n);
		}
		pathset_difference(&paths, &t->now, &diff);
		for (int i = 0; i < diff.n; i++)
		{
			path_format(&diff.paths[i], buf, sizeof(buf));
			tracker_record(t, EV_ADDED, "subflow %s established; %d now", buf, paths.n);
		}
	}
	t->now = paths;

	if (t->config != config)
		repair_relearn_full_set(t, config, &paths);

	if (*probe_budget > 0 && repair_probe_due(t, now))
	{
		PathSet		fresh;

		/* what a fresh connection gets: one degraded from its start shows */
		(*probe_budget)--;
		if (probe_fresh_connection(t->ctx.family, t->ctx.peer_addr, t->ctx.peer_port, &fresh))
			pathset_union(&t->expected, &fresh);
		t->probe_pending = false;
	}
	if (repair_judge(t, &paths, &missing, now))
		repair_try(t, &missing, probe_budget, now);
}

static void
supervise_once(void)
{
	TimestampTz now = GetCurrentTimestamp();
	uint64		config = 0;
	int			probe_budget = 1;	/* a probe takes ~1.5 s */
	Matched    *matched;
	int			n;

	/* read before the sockets: a change in between shows up next tick */
	(void) walmptcp_registry_snapshot(&n);
	if (n > 0)
		config = host_config();
	if (n > 0 && config != listeners_checked_for)
	{
		listeners_checked_for = config;
		check_announced_listeners();
	}
	matched = walmptcp_match_connections(0, &n);

	tracker_mark_all_unseen();
	for (int i = 0; i < n && !ShutdownRequestPending; i++)
		observe(&matched[i], now, config, &probe_budget);
	if (ShutdownRequestPending)
		return;

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
		listeners_checked_for = host_config();
		check_announced_listeners();
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
	RegisterBackgroundWorker(&worker);
}
