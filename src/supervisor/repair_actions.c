/*-------------------------------------------------------------------------
 *
 * repair_actions.c
 *	  The supervisor's repairs themselves: endpoint re-adds through the
 *	  helper, probe connections and path checks, and the SIGTERM that asks
 *	  a client to reconnect.
 *
 * Every "whether" and "when" is asked of repair_policy.c; this file finds
 * out the facts the policy needs (endpoints, which path answers, what a
 * fresh connection gets, whether the process is still there) and does what
 * it decided.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "utils/timestamp.h"

#include "compat.h"
#include "connection_tracker.h"
#include "endpoint_repair.h"
#include "net_admin.h"
#include "path_probe.h"
#include "registry.h"
#include "repair_actions.h"
#include "repair_policy.h"
#include "subflow_path.h"
#include "walmptcp.h"

/* Linux 5.3; the numbers are the same on x86_64 and aarch64 */
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

/* Is the process still there with the same socket?  (Just before a signal.) */
static bool
still_registered(const Tracker *t)
{
	int			n;
	WalmptcpConnEntry *entries = walmptcp_registry_snapshot(&n);

	for (int i = 0; i < n; i++)
	{
		if (entries[i].pid == t->key.pid && entries[i].inode == t->key.inode &&
			entries[i].role == t->role)
			return true;
	}
	return false;
}

/*
 * Did this connection's endpoint re-adds bring their subflows back?  The
 * policy picks the ones to judge; one that did not counts against the
 * endpoint's circuit breaker.  Returns true while some are too young to
 * judge.
 */
static bool
verify_pending_readds(Tracker *t, const PathSet *missing, TimestampTz now)
{
	PendingReadd failed[MAX_PENDING];
	int			nfailed;
	bool		young = repair_readds_to_judge(t, missing, now, failed, &nfailed);

	for (int i = 0; i < nfailed; i++)
	{
		PendingReadd *r = &failed[i];
		char		desc[128],
					path[128];

		walmptcp_endpoint_describe(&r->ep, desc, sizeof(desc));
		path_format(&r->path, path, sizeof(path));
		tracker_record(t, EV_REPAIR_FAILED, "re-adding endpoint %s did not bring back subflow %s",
					   desc, path);
		if (endpoint_readd_failed(&r->ep))
			tracker_record(t, EV_CIRCUIT_OPEN,
						   "endpoint %s was re-added %d times within an hour without bringing its subflow back: walmptcp leaves it alone for an hour",
						   desc, WALMPTCP_BREAKER_FAILURES);
	}
	return young;
}

/* Server side: does a missing path that an endpoint owns answer now? */
static bool
owned_path_answers(const Tracker *t, const PathSet *missing,
				   const RepairFacts *f)
{
	for (int i = 0; i < missing->n; i++)
	{
		if (f->has_owner[i] &&
			endpoint_path_usable(&f->owner[i], &t->ctx, &missing->paths[i]))
			return true;
	}
	return false;
}

/*
 * The facts of this attempt: the re-adds judged first (young ones stop
 * here), then the helper, the endpoints owning the missing paths and, on
 * a server about to re-add in place, whether an owned path answers (a
 * probe only where the plan uses it).
 */
static void
find_facts(Tracker *t, const PathSet *missing, TimestampTz now, RepairFacts *f)
{
	WalmptcpEndpoint eps[WALMPTCP_MAX_ENDPOINTS];
	int			neps;

	memset(f, 0, sizeof(*f));
	f->readds_young = verify_pending_readds(t, missing, now);
	if (f->readds_young)
		return;
	neps = walmptcp_endpoints_list(eps, WALMPTCP_MAX_ENDPOINTS);
	if (neps < 0)
		neps = 0;				/* no path manager: nothing owns a path */
	f->helper = walmptcp_helper_available();
	for (int i = 0; i < missing->n; i++)
		f->has_owner[i] = endpoint_owning(eps, neps, &t->ctx, &missing->paths[i],
										  &f->owner[i]);
	f->owned_path_answers = !t->ctx.client &&
		repair_in_place_wanted(t, f->helper) &&
		owned_path_answers(t, missing, f);
}

/* In place: the plan's endpoint re-adds.  True if it acted. */
static bool
readd_planned(Tracker *t, const RepairPlan *plan, TimestampTz now)
{
	bool		acted = false;

	for (int i = 0; i < plan->nreadds; i++)
	{
		const PlannedReadd *r = &plan->readds[i];
		char		detail[200];
		ReaddResult rc;

		rc = endpoint_readd_checked(&r->ep, &t->ctx, &r->path, detail, sizeof(detail));
		switch (rc)
		{
			case READD_DONE:
				tracker_record(t, EV_REPAIR, "%s", detail);
				pg_fallthrough;
			case READD_SHARED:
				repair_readd_pending(t, &r->ep, &r->path, rc == READD_DONE, now);
				acted = true;
				break;
			case READD_FAILED:
				tracker_record(t, EV_REPAIR_FAILED, "%s", detail);
				acted = true;
				break;
			case READD_LOST:
				tracker_record(t, EV_REPAIR_FAILED, "%s", detail);
				ereport(WARNING,
						(errmsg("walmptcp: an MPTCP endpoint of this host was removed by a repair and could not be added back"),
						 errdetail("%s.", detail),
						 errhint("Add it again with \"ip mptcp endpoint add\"; walmptcp does not retry.")));
				acted = true;
				break;
			case READD_PATH_DOWN:
			case READD_BREAKER_OPEN:
				break;
		}
	}
	if (acted)
		repair_endpoint_acted(t, now);
	return acted;
}

/*
 * SIGTERM to the tracked process, if the registry still has it.  The pidfd
 * is taken before the check, so the signal reaches the process that was
 * checked even if it exits and its pid is reused meanwhile; kernels before
 * 5.3 (ENOSYS) get kill() right after the check.  Nothing may block between
 * the check and the signal: the caller logs afterwards.  Returns 0 when
 * signalled, ESRCH when the process is gone or no longer registered, else
 * the errno of the failed signal.
 */
static int
signal_if_registered(const Tracker *t)
{
	int			pidfd = (int) syscall(SYS_pidfd_open, (pid_t) t->key.pid, 0);
	int			rc,
				err = 0;

	if (pidfd < 0 && errno == ESRCH)
		return ESRCH;
	if (!still_registered(t))
	{
		if (pidfd >= 0)
			close(pidfd);
		return ESRCH;
	}
	if (pidfd >= 0)
		rc = (int) syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0);
	else
		rc = kill(t->key.pid, SIGTERM);
	if (rc != 0)
		err = errno;
	if (pidfd >= 0)
		close(pidfd);
	return err;
}

/*
 * Client side, a new connection: once a probe connection proves that a
 * fresh connection gets a missing path back, ask the process to reconnect.
 * *probed says whether a probe was spent.  Paths that answer plain TCP but
 * that a fresh connection does not get either are not offered by the host
 * now: they leave the full set.
 */
static bool
repair_by_reconnect(Tracker *t, const PathSet *missing, int *probe_budget,
					bool *probed, TimestampTz now)
{
	PathSet		fresh,
				restorable;
	bool		any_answers = false;

	*probed = false;
	/* the cheap check first: while every missing path is dead, wait */
	for (int i = 0; i < missing->n && !any_answers; i++)
	{
		const SubflowPath *p = &missing->paths[i];

		any_answers = path_answers(p->family, p->local, p->remote, p->server_port);
	}
	if (!any_answers || *probe_budget <= 0)
		return false;

	(*probe_budget)--;
	*probed = true;
	if (!probe_fresh_connection(t->ctx.family, t->ctx.peer_addr, t->ctx.peer_port,
								t->expected.n, &fresh))
		return false;

	if (repair_reconnect_justified(t, missing, &fresh, &restorable))
	{
		Peer	   *peer = tracker_peer(t);

		int			err;

		if (!repair_reconnect_budget(t, peer, now))
			return false;
		err = signal_if_registered(t);
		if (err == ESRCH)
			return false;		/* gone: the tracker goes with it */
		if (err != 0)
		{
			tracker_record(t, EV_REPAIR_FAILED, "could not signal pid %d: %s",
						   t->key.pid, strerror(err));
			return true;
		}
		tracker_record(t, EV_RECONNECT,
					   "a probe connection to the same server got %d subflows, this one has %d: asked the %s to reconnect",
					   fresh.n, t->now.n, walmptcp_role_name(t->role));
		repair_reconnect_asked(t, peer, &fresh, now);
		return true;
	}

	for (int i = 0; i < restorable.n; i++)
	{
		const SubflowPath *p = &restorable.paths[i];
		char		path[128];

		if (pathset_contains(&fresh, p) ||
			!path_answers(p->family, p->local, p->remote, p->server_port))
			continue;			/* down for now: keep expecting it */
		path_format(p, path, sizeof(path));
		tracker_record(t, EV_BASELINE,
					   "a fresh connection does not get subflow %s either, although the path answers: no longer expected",
					   path);
		pathset_remove(&t->expected, p);
	}
	return false;
}

void
repair_try(Tracker *t, const PathSet *missing, int *probe_budget, TimestampTz now)
{
	RepairFacts facts;
	RepairPlan	plan;
	bool		acted = false,
				probed = false;

	find_facts(t, missing, now, &facts);
	repair_plan(t, missing, &facts, now, &plan);
	acted = readd_planned(t, &plan, now);
	if (!acted && plan.reconnect)
		acted = repair_by_reconnect(t, missing, probe_budget, &probed, now);
	repair_plan_done(t, acted, probed, now);
}
