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
 * Detection: each tick (walmptcp.check_interval) the registry is joined with
 * sock_diag (conn_state.c).  For every long-lived replication connection
 * (walsender, walreceiver, apply, slotsync) the set of established subflows
 * is compared with the previous tick (subflow_lost / subflow_added) and with
 * the best set seen for the same peer, across reconnects (degraded /
 * repaired).  Nothing is read when no replication connection exists.
 *
 * Repair (walmptcp.repair):
 *	 endpoint  - in place: for a lost subflow whose local address is one of
 *				 this host's endpoints of the right kind (client: "subflow",
 *				 towards the peer's initial address unless "fullmesh";
 *				 server: "signal"), once that address is up again, the
 *				 endpoint helper removes and re-adds the endpoint as it was.
 *	 reconnect - client side: once a short probe connection to the same
 *				 peer gets more subflows than the degraded one, the
 *				 walreceiver or apply worker is asked to reconnect (SIGTERM;
 *				 PostgreSQL restarts it after wal_retrieve_retry_interval).
 *	 auto	   - endpoint when the endpoint helper holds CAP_NET_ADMIN;
 *				 reconnect when it does not, when the initial subflow is
 *				 lost (no endpoint owns it), or when in-place repair has not
 *				 restored the full set within ESCALATE_AFTER_MS.
 *	 off	   - events only.
 * Attempts back off exponentially (capped at 60 s); after MAX_ATTEMPTS the
 * supervisor gives up on that episode and says so.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/mptcp.h>

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
#include "endpoint_pm.h"
#include "walmptcp.h"

#ifndef SOL_MPTCP
#define SOL_MPTCP 284
#endif

#define MAX_TRACKERS 256
#define MAX_PAIRS 16
#define PAIR_LEN 100
#define MAX_ATTEMPTS 6
#define MAX_BACKOFF_MS 60000
#define ESCALATE_AFTER_MS 10000
#define LOG_EVERY_MS 10000
#define FORGET_AFTER_MS 300000
#define PROBE_CONNECT_MS 2000
#define PROBE_WAIT_MS 1500

bool		walmptcp_supervisor_enabled = true;
int			walmptcp_check_interval = 1000;
int			walmptcp_repair = WALMPTCP_REPAIR_AUTO;

PGDLLEXPORT void walmptcp_supervisor_main(Datum arg);

typedef enum EventKind
{
	EV_LOST, EV_ADDED, EV_DEGRADED, EV_REPAIR, EV_REPAIRED, EV_REPAIR_FAILED,
	EV_RECONNECT, EV_RECONNECTED, EV_COUNT
} EventKind;

static const char *const event_names[EV_COUNT] = {
	"subflow_lost", "subflow_added", "degraded", "repair", "repaired",
	"repair_failed", "reconnect", "reconnected"
};

typedef struct Tracker
{
	bool		used;
	char		key[200];
	int			pid;
	uint64		inode;
	WalmptcpRole role;
	char		local[64];		/* initial subflow, "addr:port" */
	char		remote[64];
	int			family;
	uint8		remote_addr[16];
	uint16		remote_port;
	int			npairs;
	char		pairs[MAX_PAIRS][PAIR_LEN];
	int			nbest;
	char		best_pairs[MAX_PAIRS][PAIR_LEN];
	bool		degraded;
	TimestampTz degraded_since;
	int			attempts;
	TimestampTz next_attempt;
	bool		gave_up;
	TimestampTz last_endpoint_repair;
	const char *last_method;
	TimestampTz last_seen;
	TimestampTz last_log[EV_COUNT];
} Tracker;

static Tracker trackers[MAX_TRACKERS];
static TimestampTz endpoint_readded_at[256];

static bool
tracked_role(WalmptcpRole role)
{
	return role == WALMPTCP_ROLE_WALSENDER || role == WALMPTCP_ROLE_WALRECEIVER ||
		role == WALMPTCP_ROLE_APPLY || role == WALMPTCP_ROLE_SLOTSYNC;
}

static bool
client_role(WalmptcpRole role)
{
	return role != WALMPTCP_ROLE_WALSENDER;
}

static void
format_addr(int family, const uint8 *addr, char *buf, size_t len)
{
	if (inet_ntop(family, addr, buf, len) == NULL)
		strlcpy(buf, "?", len);
}

static void
format_endpoint(int family, const uint8 *addr, uint16 port, char *buf, size_t len)
{
	char		a[INET6_ADDRSTRLEN];

	format_addr(family, addr, a, sizeof(a));
	snprintf(buf, len, family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, port);
}

static void
record(Tracker *t, EventKind kind, const char *fmt,...) pg_attribute_printf(3, 4);

/* An event: always into the ring, into the log at most every 10 s per kind. */
static void
record(Tracker *t, EventKind kind, const char *fmt,...)
{
	char		detail[256];
	va_list		ap;
	TimestampTz now = GetCurrentTimestamp();

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);

	walmptcp_event(t->pid, t->role, t->local, t->remote, event_names[kind], detail);
	if (t->last_log[kind] == 0 ||
		TimestampDifferenceExceeds(t->last_log[kind], now, LOG_EVERY_MS))
	{
		t->last_log[kind] = now;
		ereport(LOG,
				(errmsg("walmptcp: %s of %s %s -> %s (pid %d): %s",
						event_names[kind], walmptcp_role_name(t->role),
						t->local, t->remote, t->pid, detail)));
	}
}

static Tracker *
find_tracker(const char *key)
{
	Tracker    *free_slot = NULL;

	for (int i = 0; i < MAX_TRACKERS; i++)
	{
		if (trackers[i].used && strcmp(trackers[i].key, key) == 0)
			return &trackers[i];
		if (!trackers[i].used && free_slot == NULL)
			free_slot = &trackers[i];
	}
	if (free_slot)
	{
		memset(free_slot, 0, sizeof(*free_slot));
		free_slot->used = true;
		strlcpy(free_slot->key, key, sizeof(free_slot->key));
	}
	return free_slot;
}

/* Pairs of a: those without a partner in b (multiset difference). */
static int
pair_difference(char (*a)[PAIR_LEN], int na, char (*b)[PAIR_LEN], int nb,
				int *out)
{
	bool		taken[MAX_PAIRS] = {false};
	int			n = 0;

	for (int i = 0; i < na; i++)
	{
		bool		found = false;

		for (int j = 0; j < nb && !found; j++)
		{
			if (!taken[j] && strcmp(a[i], b[j]) == 0)
				taken[j] = found = true;
		}
		if (!found)
			out[n++] = i;
	}
	return n;
}

static bool
pair_listed(char (*pairs)[PAIR_LEN], int n, const char *pair)
{
	for (int i = 0; i < n; i++)
	{
		if (strcmp(pairs[i], pair) == 0)
			return true;
	}
	return false;
}

/* A socket address for family, address bytes and port; returns its length. */
static socklen_t
make_sockaddr(int family, const uint8 *addr, uint16 port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET)
	{
		struct sockaddr_in *in = (struct sockaddr_in *) ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		memcpy(&in->sin_addr, addr, 4);
		return sizeof(*in);
	}
	else
	{
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		memcpy(&in6->sin6_addr, addr, 16);
		return sizeof(*in6);
	}
}

/* Connect a non-blocking socket, waiting at most timeout_ms: 0 or an errno. */
static int
connect_within(int fd, const struct sockaddr_storage *ss, socklen_t len, int timeout_ms)
{
	int			err = 0;
	socklen_t	errlen = sizeof(err);
	struct pollfd pfd = {fd, POLLOUT, 0};

	if (connect(fd, (const struct sockaddr *) ss, len) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return errno;
	if (poll(&pfd, 1, timeout_ms) != 1)
		return ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) != 0)
		return errno;
	return err;
}

/* How many subflows does a fresh MPTCP connection to the peer get? */
static int
probe_subflows(const Tracker *t)
{
	struct sockaddr_storage ss;
	socklen_t	sslen = make_sockaddr(t->family, t->remote_addr, t->remote_port, &ss);
	int			fd,
				best = 0;

	fd = socket(t->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_MPTCP);
	if (fd < 0)
		return 0;
	if (connect_within(fd, &ss, sslen, PROBE_CONNECT_MS) != 0)
	{
		close(fd);
		return 0;
	}
	/* the path manager adds subflows within a few round trips */
	for (int waited = 0; waited < PROBE_WAIT_MS; waited += 100)
	{
		struct mptcp_info info;
		socklen_t	len = sizeof(info);

		pg_usleep(100 * 1000L);
		if (getsockopt(fd, SOL_MPTCP, MPTCP_INFO, &info, &len) == 0)
			best = Max(best, info.mptcpi_subflows + 1);
		else
			best = Max(best, 1);	/* fell back: one path */
	}
	/* closed before the startup packet: PostgreSQL logs nothing */
	close(fd);
	return best;
}

/*
 * Does the path from local (an endpoint address) to remote answer?  A plain
 * TCP connection attempt from that address: accepted or refused (RST) both
 * prove packets flow; a timeout or an unreachable error says they do not.
 * The client probes the server's port, the server the client's port, where
 * nothing listens for that source and the answer is a RST.
 */
static bool
path_answers(int family, const char *local, const char *remote, uint16 port)
{
	uint8		local_addr[16],
				remote_addr[16];
	struct sockaddr_storage src,
				dst;
	socklen_t	len;
	int			fd,
				rc;
	bool		answered = false;

	if (inet_pton(family, local, local_addr) != 1 ||
		inet_pton(family, remote, remote_addr) != 1)
		return false;
	len = make_sockaddr(family, local_addr, 0, &src);
	(void) make_sockaddr(family, remote_addr, port, &dst);

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	if (bind(fd, (struct sockaddr *) &src, len) == 0)
	{
		rc = connect_within(fd, &dst, len, PROBE_CONNECT_MS / 2);
		answered = (rc == 0 || rc == ECONNREFUSED);
	}
	close(fd);
	return answered;
}

static bool
has_pair(const Tracker *t, const char *local, const char *remote)
{
	for (int i = 0; i < t->npairs; i++)
	{
		const char *sep = strchr(t->pairs[i], '>');

		if (sep && strncmp(t->pairs[i], local, sep - t->pairs[i]) == 0 &&
			local[sep - t->pairs[i]] == '\0' &&
			(remote == NULL || strcmp(sep + 1, remote) == 0))
			return true;
	}
	return false;
}

/*
 * Does this endpoint own a subflow the connection should have and lacks?
 * Client: a "subflow" endpoint opens a subflow to the server's initial
 * address (to every known address if "fullmesh").  Both sides: a subflow of
 * the best set seen, lost, whose local address is the endpoint's.
 */
static bool
endpoint_missing(const Tracker *t, const WalmptcpEndpoint *ep, const char *addr,
				 const char *peer, const int *lost, int nlost)
{
	if (ep->family != t->family)
		return false;
	if (client_role(t->role))
	{
		if (!(ep->flags & MPTCP_PM_ADDR_FLAG_SUBFLOW))
			return false;
		if (!has_pair(t, addr, (ep->flags & MPTCP_PM_ADDR_FLAG_FULLMESH) ? NULL : peer))
			return true;
	}
	else if (!(ep->flags & MPTCP_PM_ADDR_FLAG_SIGNAL))
		return false;

	/*
	 * The server goes by history only: whether a client joins an announced
	 * address is the client's choice (its limits), and a re-add disturbs
	 * every connection using that address.
	 */
	for (int i = 0; i < nlost; i++)
	{
		const char *pair = t->best_pairs[lost[i]];
		size_t		alen = strlen(addr);

		if (strncmp(pair, addr, alen) == 0 && pair[alen] == '>')
		{
			if (!client_role(t->role) || (ep->flags & MPTCP_PM_ADDR_FLAG_FULLMESH) ||
				strcmp(pair + alen + 1, peer) == 0)
				return true;
		}
	}
	return false;
}

/*
 * Where to probe the path of endpoint address addr: the far end of a lost
 * subflow from it (the server learns the client's other addresses only from
 * subflows it has seen), else the peer's initial address.
 */
static const char *
probe_target(const Tracker *t, const char *addr, const char *peer,
			 const int *lost, int nlost)
{
	size_t		alen = strlen(addr);

	for (int i = 0; i < nlost; i++)
	{
		const char *pair = t->best_pairs[lost[i]];

		if (strncmp(pair, addr, alen) == 0 && pair[alen] == '>')
			return pair + alen + 1;
	}
	return peer;
}

/* Re-add the endpoints that own this connection's missing subflows. */
static bool
repair_endpoints(Tracker *t, const int *lost, int nlost, TimestampTz now)
{
	WalmptcpEndpoint eps[WALMPTCP_MAX_ENDPOINTS];
	int			neps = walmptcp_endpoints_list(eps, WALMPTCP_MAX_ENDPOINTS);
	char		peer[INET6_ADDRSTRLEN];
	bool		acted = false;

	format_addr(t->family, t->remote_addr, peer, sizeof(peer));
	for (int e = 0; e < neps; e++)
	{
		char		a[INET6_ADDRSTRLEN];
		char		desc[128];
		WalmptcpEndpoint done;
		int			rc;

		format_addr(eps[e].family, eps[e].addr, a, sizeof(a));
		if (!endpoint_missing(t, &eps[e], a, peer, lost, nlost))
			continue;
		walmptcp_endpoint_describe(&eps[e], desc, sizeof(desc));
		/* never while the path is down: the address is up and answers */
		if (!walmptcp_address_usable(eps[e].family, eps[e].addr) ||
			!path_answers(eps[e].family, a, probe_target(t, a, peer, lost, nlost),
						  t->remote_port))
			continue;
		/* one re-add serves every connection of the host */
		if (endpoint_readded_at[eps[e].id] != 0 &&
			!TimestampDifferenceExceeds(endpoint_readded_at[eps[e].id], now,
										Max(3 * walmptcp_check_interval, 3000)))
		{
			acted = true;
			continue;
		}
		endpoint_readded_at[eps[e].id] = now;
		rc = walmptcp_helper_readd(eps[e].id, &done);
		if (rc == 0)
		{
			/* the kernel may have had to give it another id */
			walmptcp_endpoint_describe(&done, desc, sizeof(desc));
			record(t, EV_REPAIR, "re-added endpoint %s", desc);
		}
		else
			record(t, EV_REPAIR_FAILED, "could not re-add endpoint %s: %s", desc, strerror(-rc));
		acted = true;
	}
	if (acted)
	{
		t->last_endpoint_repair = now;
		t->last_method = "endpoint";
	}
	return acted;
}

/*
 * Client side: is a lost subflow one that no endpoint can bring back?  A
 * subflow to the server's initial address from an address that is no
 * "subflow" endpoint is the initial subflow: only a new connection makes it
 * again.  (Subflows to other server addresses follow the server's
 * announcements, which the server's supervisor can repeat.)
 */
static bool
lost_beyond_endpoints(const Tracker *t, const int *lost, int nlost)
{
	WalmptcpEndpoint eps[WALMPTCP_MAX_ENDPOINTS];
	int			neps = walmptcp_endpoints_list(eps, WALMPTCP_MAX_ENDPOINTS);
	char		peer[INET6_ADDRSTRLEN];

	format_addr(t->family, t->remote_addr, peer, sizeof(peer));
	for (int i = 0; i < nlost; i++)
	{
		const char *pair = t->best_pairs[lost[i]];
		const char *sep = strchr(pair, '>');
		bool		owned = false;

		if (sep == NULL || strcmp(sep + 1, peer) != 0)
			continue;
		for (int e = 0; e < neps && !owned; e++)
		{
			char		a[INET6_ADDRSTRLEN];

			format_addr(eps[e].family, eps[e].addr, a, sizeof(a));
			owned = eps[e].family == t->family &&
				(eps[e].flags & MPTCP_PM_ADDR_FLAG_SUBFLOW) &&
				strlen(a) == (size_t) (sep - pair) &&
				strncmp(pair, a, sep - pair) == 0;
		}
		if (!owned)
			return true;
	}
	return false;
}

static void
try_repair(Tracker *t, int current, const int *lost, int nlost, TimestampTz now)
{
	bool		helper,
				acted = false;
	bool		endpoint_ok,
				reconnect_ok;

	if (walmptcp_repair == WALMPTCP_REPAIR_OFF || t->gave_up || now < t->next_attempt)
		return;

	helper = walmptcp_helper_available();
	endpoint_ok = helper && (walmptcp_repair == WALMPTCP_REPAIR_AUTO ||
							 walmptcp_repair == WALMPTCP_REPAIR_ENDPOINT);
	reconnect_ok = client_role(t->role) &&
		(walmptcp_repair == WALMPTCP_REPAIR_RECONNECT ||
		 (walmptcp_repair == WALMPTCP_REPAIR_AUTO &&
		  (!helper || lost_beyond_endpoints(t, lost, nlost) ||
		   (TimestampDifferenceExceeds(t->degraded_since, now, ESCALATE_AFTER_MS) &&
			(t->last_endpoint_repair == 0 ||
			 TimestampDifferenceExceeds(t->last_endpoint_repair, now, ESCALATE_AFTER_MS))))));

	if (endpoint_ok)
		acted = repair_endpoints(t, lost, nlost, now);
	if (!acted && reconnect_ok)
	{
		int			fresh = probe_subflows(t);

		if (fresh > current)
		{
			record(t, EV_RECONNECT,
				   "a probe connection to the same server got %d subflows, this one has %d: asking the %s to reconnect",
				   fresh, current, walmptcp_role_name(t->role));
			if (kill(t->pid, SIGTERM) != 0)
				record(t, EV_REPAIR_FAILED, "could not signal pid %d: %s", t->pid, strerror(errno));
			t->last_method = "reconnect";
			acted = true;
		}
	}

	if (!acted)
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
		record(t, EV_REPAIR_FAILED,
			   "giving up after %d attempts; %d of %d subflows; trying again when the connection changes",
			   t->attempts, current, t->nbest);
	}
}

/* One connection, one tick. */
static void
observe(Matched *m, TimestampTz now)
{
	WalmptcpConnEntry *e = m->entry;
	DiagSocket *k = m->msk;
	char		key[200];
	char		remote[64];
	char		pairs[MAX_PAIRS][PAIR_LEN];
	int			npairs = 0;
	int			lost[MAX_PAIRS],
				added[MAX_PAIRS];
	int			nlost,
				nadded;
	Tracker    *t;
	bool		first;

	if (!tracked_role(e->role) || k == NULL ||
		(k->mptcp.flags & MPTCP_INFO_FLAG_FALLBACK_BIT) != 0)
		return;					/* TCP or fallback: nothing to repair */

	format_endpoint(k->family, k->remote, k->remote_port, remote, sizeof(remote));
	if (client_role(e->role))
		snprintf(key, sizeof(key), "%s|%s|%s", walmptcp_role_name(e->role), e->appname, remote);
	else
		snprintf(key, sizeof(key), "walsender|%d|%llu", e->pid, (unsigned long long) e->inode);
	t = find_tracker(key);
	if (t == NULL)
		return;

	for (int i = 0; i < m->n_subflows && npairs < MAX_PAIRS; i++)
	{
		DiagSocket *s = m->subflows[i];
		char		l[INET6_ADDRSTRLEN],
					r[INET6_ADDRSTRLEN];

		if (s->state != 1)		/* TCP_ESTABLISHED */
			continue;
		format_addr(s->family, s->local, l, sizeof(l));
		format_addr(s->family, s->remote, r, sizeof(r));
		snprintf(pairs[npairs], PAIR_LEN, "%s>%s", l, r);

		/*
		 * One path, one pair.  A subflow whose other end died can linger
		 * here (its reset could not leave: the peer's address was gone)
		 * while the path manager opens its successor on the same addresses;
		 * counting both would make the set look whole and hide the subflow
		 * that is really missing.
		 */
		if (!pair_listed(pairs, npairs, pairs[npairs]))
			npairs++;
	}

	first = (t->pid != e->pid || t->inode != e->inode);
	if (first)
	{
		bool		reconnect = t->pid != 0;

		t->pid = e->pid;
		t->inode = e->inode;
		t->role = e->role;
		format_endpoint(k->family, k->local, k->local_port, t->local, sizeof(t->local));
		strlcpy(t->remote, remote, sizeof(t->remote));
		t->family = k->family;
		memcpy(t->remote_addr, k->remote, 16);
		t->remote_port = k->remote_port;
		if (reconnect)
			record(t, EV_RECONNECTED, "new connection with %d subflows", npairs);

		/*
		 * What would a fresh connection to this server get?  Asked once per
		 * connection, so that one degraded from the start is noticed too.
		 */
		if (client_role(e->role))
			t->nbest = Max(t->nbest, probe_subflows(t));
	}
	else
	{
		nlost = pair_difference(t->pairs, t->npairs, pairs, npairs, lost);
		nadded = pair_difference(pairs, npairs, t->pairs, t->npairs, added);
		for (int i = 0; i < nlost; i++)
			record(t, EV_LOST, "subflow %s closed; %d left", t->pairs[lost[i]], npairs);
		for (int i = 0; i < nadded; i++)
			record(t, EV_ADDED, "subflow %s established; %d now", pairs[added[i]], npairs);
	}
	memcpy(t->pairs, pairs, sizeof(pairs));
	t->npairs = npairs;
	t->last_seen = now;

	if (npairs >= t->nbest)
	{
		if (t->degraded)
		{
			long		secs;
			int			usecs;

			TimestampDifference(t->degraded_since, now, &secs, &usecs);
			record(t, EV_REPAIRED, "full subflow set (%d) again after %ld.%01d s%s%s",
				   npairs, secs, usecs / 100000,
				   t->last_method ? ", by " : "", t->last_method ? t->last_method : "");
		}
		t->nbest = npairs;
		memcpy(t->best_pairs, pairs, sizeof(pairs));
		t->degraded = false;
		t->attempts = 0;
		t->gave_up = false;
		t->last_endpoint_repair = 0;
		t->last_method = NULL;
		return;
	}

	nlost = pair_difference(t->best_pairs, t->nbest, pairs, npairs, lost);
	if (!t->degraded)
	{
		char		missing[256] = "";

		for (int i = 0; i < nlost; i++)
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing),
					 "%s%s", i ? ", " : "", t->best_pairs[lost[i]]);
		t->degraded = true;
		t->degraded_since = now;
		t->next_attempt = now;
		t->attempts = 0;
		t->gave_up = false;
		record(t, EV_DEGRADED, "%d of %d subflows; missing %s", npairs, t->nbest,
			   missing[0] ? missing : "(a fresh connection gets more)");
	}
	else if (t->gave_up &&
			 TimestampDifferenceExceeds(t->degraded_since, now, FORGET_AFTER_MS))
	{
		t->gave_up = false;		/* a fresh chance after a long while */
		t->attempts = 0;
	}
	try_repair(t, npairs, lost, nlost, now);
}

static void
supervise_once(void)
{
	TimestampTz now = GetCurrentTimestamp();
	Matched    *matched;
	int			n;

	matched = walmptcp_match_connections(0, &n);
	for (int i = 0; i < n; i++)
		observe(&matched[i], now);

	/* forget walsenders at once, client peers after a while */
	for (int i = 0; i < MAX_TRACKERS; i++)
	{
		Tracker    *t = &trackers[i];

		if (!t->used || t->last_seen == now)
			continue;
		if (t->role == WALMPTCP_ROLE_WALSENDER ||
			TimestampDifferenceExceeds(t->last_seen, now, FORGET_AFTER_MS))
			t->used = false;
	}
}

void
walmptcp_supervisor_main(Datum arg)
{
	MemoryContext tick_context;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	tick_context = AllocSetContextCreate(TopMemoryContext, "walmptcp supervisor",
										 ALLOCSET_DEFAULT_SIZES);
	ereport(LOG,
			(errmsg("walmptcp: supervisor started (repair = %s, endpoint helper %s)",
					GetConfigOption("walmptcp.repair", false, false),
					walmptcp_helper_available() ? "available" : "not available: endpoint repair needs CAP_NET_ADMIN at server start")));

	for (;;)
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

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 walmptcp_check_interval, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
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
	strlcpy(worker.bgw_function_name, "walmptcp_supervisor_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "walmptcp supervisor", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "walmptcp supervisor", BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}
