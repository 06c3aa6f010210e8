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
 * - Repairs need proof and have limits: an endpoint is re-added only when
 *	 its path answers (endpoint_repair.c, with its circuit breaker); a
 *	 worker is asked to reconnect only when a probe connection just got a
 *	 missing path back, after the process and socket were checked again,
 *	 and at most MAX_RECONNECTS_PER_HOUR times per server.  Attempts back
 *	 off; after MAX_ATTEMPTS it gives up for GIVE_UP_MS, counted from the
 *	 give-up.  At most one probe connection per tick.
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
#include "endpoint_repair.h"
#include "path_probe.h"
#include "subflow_path.h"
#include "walmptcp.h"

#define MAX_ATTEMPTS 6
#define MAX_BACKOFF_MS 60000
#define GIVE_UP_MS 300000
#define ESCALATE_AFTER_MS 20000
#define SETTLE_MS 2000			/* a new connection's subflows are forming */
#define DEGRADED_AFTER_TICKS 2
#define HOUR_MS (3600 * 1000)
#define RECONNECT_FOLLOWUP_MS 60000
#define OWNER_VIEW_FRESH_MS 3000	/* an owner's view older than this is unknown */
#define READD_VERIFY_MS 10000	/* a re-added endpoint's subflow is back by then */
#define SERVER_DEFER_MS 3000	/* the client's own re-add goes first */

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

static void
end_episode(Tracker *t)
{
	t->degraded = false;
	t->missing_ticks = 0;
	t->attempts = 0;
	t->gave_up = false;
	t->last_endpoint_repair = 0;
	t->path_back_since = 0;
	t->last_method = NULL;
	t->npending = 0;
}

/* A new client side connection: the one this supervisor asked for? */
static void
adopt_asked_reconnect(Tracker *t, TimestampTz now)
{
	Peer	   *p;

	if (!t->ctx.client)
		return;
	p = tracker_peer(t);
	if (p->reconnect_asked_at != 0 &&
		!TimestampDifferenceExceeds(p->reconnect_asked_at, now, RECONNECT_FOLLOWUP_MS))
	{
		/* the connection this supervisor asked for: finish the episode */
		tracker_record(t, EV_RECONNECTED, "new connection after the reconnect asked for");
		t->degraded = true;
		t->degraded_since = p->degraded_since;
		t->last_method = "reconnect";
		t->next_attempt = now + (TimestampTz) SETTLE_MS * 1000;
		/* a probe just measured what this server offers */
		t->expected = p->promised;
		t->probe_pending = false;
		p->reconnect_asked_at = 0;
	}
}

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
 * Client side: is a missing path one no endpoint can bring back?  A
 * subflow to the server's initial address and port from an address that is
 * no "subflow" endpoint is the initial subflow: only a new connection makes
 * it again.  (Subflows to other server addresses follow the server's
 * announcements, which the server's supervisor can repeat.)
 */
static bool
lost_beyond_endpoints(const Tracker *t, const PathSet *missing,
					  const WalmptcpEndpoint *eps, int neps)
{
	int			len = t->ctx.family == AF_INET ? 4 : 16;

	for (int i = 0; i < missing->n; i++)
	{
		const SubflowPath *p = &missing->paths[i];
		WalmptcpEndpoint owner;

		if (p->server_port == t->ctx.server_port &&
			memcmp(p->remote, t->ctx.peer_addr, len) == 0 &&
			!endpoint_owning(eps, neps, &t->ctx, p, &owner))
			return true;
	}
	return false;
}

/* Has in-place repair had its chance? */
static bool
in_place_repair_exhausted(const Tracker *t, TimestampTz now)
{
	return TimestampDifferenceExceeds(t->degraded_since, now, ESCALATE_AFTER_MS) &&
		(t->last_endpoint_repair == 0 ||
		 TimestampDifferenceExceeds(t->last_endpoint_repair, now, ESCALATE_AFTER_MS));
}

static bool
reconnect_allowed(const Tracker *t, const PathSet *missing, bool helper,
				  const WalmptcpEndpoint *eps, int neps, TimestampTz now)
{
	if (!t->ctx.client)
		return false;			/* a walsender cannot make its client reconnect */
	if (walmptcp_repair == WALMPTCP_REPAIR_RECONNECT)
		return true;
	if (walmptcp_repair != WALMPTCP_REPAIR_AUTO)
		return false;
	return !helper || lost_beyond_endpoints(t, missing, eps, neps) ||
		in_place_repair_exhausted(t, now);
}

/*
 * Did this connection's endpoint re-adds bring their subflows back?  Each
 * one is judged once, READD_VERIFY_MS after it was done; one that did not
 * counts against the endpoint's circuit breaker.  Returns true while some
 * are too young to judge.
 */
static bool
verify_pending_readds(Tracker *t, const PathSet *missing, TimestampTz now)
{
	int			kept = 0;

	for (int i = 0; i < t->npending; i++)
	{
		PendingReadd *r = &t->pending[i];
		char		desc[128],
					path[128];

		if (!TimestampDifferenceExceeds(r->at, now, READD_VERIFY_MS))
		{
			t->pending[kept++] = *r;
			continue;
		}
		if (!r->own || !pathset_contains(missing, &r->path))
			continue;
		walmptcp_endpoint_describe(&r->ep, desc, sizeof(desc));
		path_format(&r->path, path, sizeof(path));
		tracker_record(t, EV_REPAIR_FAILED, "re-adding endpoint %s did not bring back subflow %s",
			   desc, path);
		if (endpoint_readd_failed(&r->ep))
			tracker_record(t, EV_CIRCUIT_OPEN,
				   "endpoint %s was re-added %d times within an hour without bringing its subflow back: walmptcp leaves it alone for an hour",
				   desc, WALMPTCP_BREAKER_FAILURES);
	}
	t->npending = kept;
	return kept > 0;
}

/*
 * The server defers its re-adds until an owned missing path has answered
 * for SERVER_DEFER_MS.  A client re-adding its "subflow" endpoint closes
 * every subflow from that address for a moment, also the one that joined
 * the server's announced address: a server re-announcing at the same time
 * has its work undone (and would count that as a useless re-add).  Letting
 * the client go first avoids the collision.  True while deferring.
 */
static bool
server_defers(Tracker *t, const PathSet *missing, const WalmptcpEndpoint *eps,
			  int neps, TimestampTz now)
{
	bool		answers = false;

	if (t->ctx.client)
		return false;
	for (int i = 0; i < missing->n && !answers; i++)
	{
		WalmptcpEndpoint owner;

		answers = endpoint_owning(eps, neps, &t->ctx, &missing->paths[i], &owner) &&
			endpoint_path_usable(&owner, &t->ctx, &missing->paths[i]);
	}
	if (!answers)
	{
		t->path_back_since = 0;
		return true;			/* nothing to do yet anyway */
	}
	if (t->path_back_since == 0)
		t->path_back_since = now;
	return !TimestampDifferenceExceeds(t->path_back_since, now, SERVER_DEFER_MS);
}

/* In place: re-add the endpoints owning missing paths.  True if it acted. */
static bool
repair_by_endpoint(Tracker *t, const PathSet *missing,
				   const WalmptcpEndpoint *eps, int neps, TimestampTz now)
{
	bool		acted = false;

	if (server_defers(t, missing, eps, neps, now))
		return false;

	for (int i = 0; i < missing->n; i++)
	{
		const SubflowPath *p = &missing->paths[i];
		WalmptcpEndpoint owner;
		char		detail[200];
		ReaddResult rc;

		if (!endpoint_owning(eps, neps, &t->ctx, p, &owner))
			continue;

		rc = endpoint_readd_checked(&owner, &t->ctx, p, detail, sizeof(detail));
		switch (rc)
		{
			case READD_DONE:
				tracker_record(t, EV_REPAIR, "%s", detail);
				/* FALLTHROUGH */
			case READD_SHARED:
				if (t->npending < MAX_PENDING)
				{
					PendingReadd *r = &t->pending[t->npending++];

					r->ep = owner;
					r->path = *p;
					r->at = now;
					r->own = (rc == READD_DONE);
				}
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
	{
		t->last_endpoint_repair = now;
		t->last_method = "endpoint";
	}
	return acted;
}

static bool
peer_reconnect_budget(Tracker *t, Peer *p, TimestampTz now)
{
	TimestampTz oldest = p->reconnects[p->next_reconnect];

	if (oldest == 0 || TimestampDifferenceExceeds(oldest, now, HOUR_MS))
		return true;
	if (p->breaker_logged_at == 0 ||
		TimestampDifferenceExceeds(p->breaker_logged_at, now, HOUR_MS))
	{
		p->breaker_logged_at = now;
		tracker_record(t, EV_CIRCUIT_OPEN,
			   "asked the %s to reconnect %d times within an hour: no more reconnects to this server until an hour after the first of them",
			   walmptcp_role_name(t->role), MAX_RECONNECTS_PER_HOUR);
	}
	return false;
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
				gained,
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
	if (!probe_fresh_connection(t->ctx.family, t->ctx.peer_addr, t->ctx.peer_port, &fresh))
		return false;

	pathset_difference(&fresh, &t->now, &gained);
	pathset_difference(missing, &gained, &restorable);	/* missing, not regained */
	if (restorable.n < missing->n && fresh.n > t->now.n)
	{
		Peer	   *peer = tracker_peer(t);

		if (!peer_reconnect_budget(t, peer, now) || !still_registered(t))
			return false;
		tracker_record(t, EV_RECONNECT,
			   "a probe connection to the same server got %d subflows, this one has %d: asking the %s to reconnect",
			   fresh.n, t->now.n, walmptcp_role_name(t->role));
		if (kill(t->key.pid, SIGTERM) != 0)
		{
			int			save_errno = errno;

			tracker_record(t, EV_REPAIR_FAILED, "could not signal pid %d: %s",
				   t->key.pid, strerror(save_errno));
			return true;
		}
		peer->reconnects[peer->next_reconnect] = now;
		peer->next_reconnect = (peer->next_reconnect + 1) % MAX_RECONNECTS_PER_HOUR;
		peer->reconnect_asked_at = now;
		peer->degraded_since = t->degraded_since;
		peer->promised = fresh;
		t->last_method = "reconnect";
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

static void
try_repair(Tracker *t, const PathSet *missing, int *probe_budget, TimestampTz now)
{
	WalmptcpEndpoint eps[WALMPTCP_MAX_ENDPOINTS];
	int			neps;
	bool		helper,
				acted = false,
				probed = false;

	if (walmptcp_repair == WALMPTCP_REPAIR_OFF || now < t->next_attempt)
		return;

	if (verify_pending_readds(t, missing, now))
	{
		/* give the last re-adds their time before doing anything more */
		t->next_attempt = now + (TimestampTz) walmptcp_check_interval * 1000;
		return;
	}
	neps = walmptcp_endpoints_list(eps, WALMPTCP_MAX_ENDPOINTS);
	if (neps < 0)
		neps = 0;				/* no path manager: nothing owns a path */
	helper = walmptcp_helper_available();
	/*
	 * In place only on a live connection: with no subflow left it is dead or
	 * dying, and a re-add can bring nothing back to it (only disturb others).
	 */
	if (helper && t->now.n > 0 &&
		(walmptcp_repair == WALMPTCP_REPAIR_AUTO ||
		 walmptcp_repair == WALMPTCP_REPAIR_ENDPOINT))
		acted = repair_by_endpoint(t, missing, eps, neps, now);
	if (!acted && reconnect_allowed(t, missing, helper, eps, neps, now))
		acted = repair_by_reconnect(t, missing, probe_budget, &probed, now);

	if (!acted && !probed)
	{
		/* nothing usable yet (path still down): look again next tick */
		t->next_attempt = now + (TimestampTz) walmptcp_check_interval * 1000;
		return;
	}
	t->attempts++;
	t->next_attempt = now + (TimestampTz) Min((int64) MAX_BACKOFF_MS,
											  (int64) walmptcp_check_interval << t->attempts) * 1000;
	if (t->attempts >= MAX_ATTEMPTS)
	{
		t->gave_up = true;
		t->gave_up_at = now;
		tracker_record(t, EV_REPAIR_FAILED,
			   "giving up after %d attempts; %d of %d subflows; trying again in %d minutes",
			   t->attempts, t->now.n, t->expected.n, GIVE_UP_MS / 60000);
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
		adopt_asked_reconnect(t, now);

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
	{
		/* the DBA changed endpoints or limits: learn the full set again */
		t->config = config;
		t->expected = paths;
		t->probe_pending = t->ctx.client;
		if (t->degraded)
			tracker_record(t, EV_BASELINE, "the host's MPTCP endpoints or limits changed: %d subflows is the full set until a probe says otherwise",
				   paths.n);
		end_episode(t);
	}

	if (t->probe_pending && *probe_budget > 0 &&
		TimestampDifferenceExceeds(t->first_seen, now, SETTLE_MS))
	{
		PathSet		fresh;

		/* what a fresh connection gets: one degraded from its start shows */
		(*probe_budget)--;
		if (probe_fresh_connection(t->ctx.family, t->ctx.peer_addr, t->ctx.peer_port, &fresh))
			pathset_union(&t->expected, &fresh);
		t->probe_pending = false;
	}
	pathset_union(&t->expected, &paths);
	pathset_difference(&t->expected, &paths, &missing);

	if (missing.n == 0)
	{
		if (t->degraded && !t->probe_pending)
		{
			long		secs;
			int			usecs;

			TimestampDifference(t->degraded_since, now, &secs, &usecs);
			tracker_record(t, EV_REPAIRED, "full subflow set (%d) again after %ld.%01d s%s%s",
				   paths.n, secs, usecs / 100000,
				   t->last_method ? ", by " : "", t->last_method ? t->last_method : "");
			end_episode(t);
		}
		else if (!t->degraded)
			end_episode(t);
		return;
	}

	if (!t->degraded)
	{
		if (!TimestampDifferenceExceeds(t->first_seen, now, SETTLE_MS) ||
			++t->missing_ticks < DEGRADED_AFTER_TICKS)
			return;
		t->degraded = true;
		t->degraded_since = now;
		t->next_attempt = now;
		t->attempts = 0;
		t->gave_up = false;
		pathset_format(&missing, buf, sizeof(buf));
		tracker_record(t, EV_DEGRADED, "%d of %d subflows; missing %s", paths.n, t->expected.n, buf);
	}
	if (t->gave_up)
	{
		if (!TimestampDifferenceExceeds(t->gave_up_at, now, GIVE_UP_MS))
			return;
		t->gave_up = false;		/* a fresh chance after a long while */
		t->attempts = 0;
	}
	try_repair(t, &missing, probe_budget, now);
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
