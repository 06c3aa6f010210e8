/*-------------------------------------------------------------------------
 *
 * observation.c
 *	  What the supervisor sees each tick: the host's path-manager
 *	  configuration, whether announced addresses have listeners, and each
 *	  replication connection's paths against what it had before.
 *
 * Looking, not deciding: a connection's paths are read, losses and
 * additions recorded, the first probe connection made when the policy says
 * it is due, and the result handed to repair_policy.c (repair_judge) and,
 * when an attempt is due, to repair_actions.c.
 *
 * The supervisor's rules for looking, each there because breaking it
 * harmed a healthy connection:
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
 *	 (The first two are here; relearning is repair_policy.c's
 *	 repair_relearn_full_set, dropping paths repair_actions.c's
 *	 repair_by_reconnect.)
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ifaddrs.h>
#include <linux/mptcp.h>

#include "common/hashfn.h"
#include "postmaster/postmaster.h"
#include "utils/timestamp.h"

#include "conn_state.h"
#include "connection_tracker.h"
#include "inet_addr.h"
#include "observation.h"
#include "path_probe.h"
#include "registry.h"
#include "repair_actions.h"
#include "repair_policy.h"
#include "subflow_path.h"
#include "walmptcp.h"

#define OWNER_VIEW_FRESH_MS 3000	/* an owner's view older than this is unknown */

static bool withheld_logged = false;

/*
 * The host's path-manager configuration (endpoints and limits), hashed:
 * when it changes, every connection's full set is learnt again.  A read
 * that fails answers "previous": a failed netlink request is no change of
 * configuration, and taking it for one would make every connection forget
 * an ongoing degradation (and again when the next read succeeds).
 */
uint64
observe_host_config(uint64 previous)
{
	WalmptcpEndpoint eps[WALMPTCP_MAX_ENDPOINTS];
	int			n = walmptcp_endpoints_list(eps, WALMPTCP_MAX_ENDPOINTS);
	uint32		limits[2] = {0, 0};
	uint64		h;

	if (n < 0 || walmptcp_limits_get(&limits[0], &limits[1]) < 0)
		return previous;
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
void
observe_announced_listeners(void)
{
	WalmptcpEndpoint eps[WALMPTCP_MAX_ENDPOINTS];
	int			neps = walmptcp_endpoints_list(eps, WALMPTCP_MAX_ENDPOINTS);
	DiagSocket *listeners = NULL;
	int			nlisteners = 0;
	static const uint8 any[INET_ADDR_MAX_LEN] = {0};

	for (int i = 0; i < neps; i++)
	{
		const WalmptcpEndpoint *ep = &eps[i];
		int			len = inet_addr_len(ep->family);
		bool		covered = false;
		char		desc[128];

		if (!(ep->flags & MPTCP_PM_ADDR_FLAG_SIGNAL) || ep->port != 0)
			continue;
		if (listeners == NULL)
			listeners = walmptcp_diag_listeners((uint16) PostPortNumber, &nlisteners);
		for (int j = 0; j < nlisteners && !covered; j++)
			covered = listeners[j].sk.family == ep->family &&
				(memcmp(listeners[j].sk.local, ep->addr, len) == 0 ||
				 memcmp(listeners[j].sk.local, any, len) == 0);
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

/* One connection, one tick. */
void
observe_connection(const Matched *m, TimestampTz now, uint64 config, int *probe_budget)
{
	const WalmptcpConnEntry *e = m->entry;
	Tracker    *t;
	PathSet		paths,
				diff,
				missing;
	bool		found;
	char		buf[512];

	if (!tracker_role_tracked(e->role) || !m->mptcp)
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

		/*
		 * What a fresh connection gets (one degraded from its start shows);
		 * enough = 0: the whole wait, to learn all of it.
		 */
		(*probe_budget)--;
		if (probe_fresh_connection(t->ctx.family, t->ctx.peer_addr, t->ctx.peer_port, 0, &fresh))
			pathset_union(&t->expected, &fresh);
		t->probe_pending = false;
	}
	if (repair_judge(t, &paths, &missing, now))
		repair_try(t, &missing, probe_budget, now);
}
