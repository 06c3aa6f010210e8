/*-------------------------------------------------------------------------
 *
 * conn_state.c
 *	  Join the connection registry with what the kernel reports now.
 *
 * Join: registry inode -> MPTCP socket (idiag_inode) -> token -> subflows
 * (MPTCP_SUBFLOW_ATTR_TOKEN_LOC, which is the local token on both sides).
 * A plain TCP connection is its own single subflow (TCP inode), and so is an
 * MPTCP socket that fell back to TCP (matched by addresses and ports).
 * Which source of subflows counts (sock_diag or the owning process's view,
 * walmptcp.subflow_source) is decided here too, in walmptcp_decide_subflows:
 * the SQL functions, the supervisor and its probe connections all take a
 * connection's subflows from it, so that all are measured the same way.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "conn_state.h"
#include "owner_subflows.h"
#include "owner_view.h"
#include "registry.h"


/*
 * The kernel's sockets for the socket with this inode: its MPTCP socket and
 * subflows (joined by token), or its plain TCP socket.
 */
static void
match_inode(const DiagSnapshot *snap, uint64 inode, Matched *m)
{
	bool		fallback;

	m->msk = NULL;
	m->tcp = NULL;
	m->mptcp = false;
	m->n_subflows = 0;
	m->withheld = false;
	m->subflows = palloc(Max(snap->n_tcp, 1) * sizeof(WalmptcpSubflow *));

	for (int j = 0; j < snap->n_mptcp && m->msk == NULL; j++)
		if (snap->mptcp[j].inode == inode)
			m->msk = &snap->mptcp[j];
	for (int j = 0; m->msk == NULL && j < snap->n_tcp && m->tcp == NULL; j++)
		if (snap->tcp[j].inode == inode)
			m->tcp = &snap->tcp[j];

	if (m->tcp)
	{
		m->subflows[m->n_subflows++] = &m->tcp->sk;
		return;
	}
	if (m->msk == NULL)
		return;					/* closing; the row shows the registry only */

	fallback = (m->msk->mptcp.flags & MPTCP_INFO_FLAG_FALLBACK_BIT) != 0;
	m->mptcp = !fallback;
	for (int j = 0; j < snap->n_tcp; j++)
	{
		WalmptcpSubflow *s = &snap->tcp[j].sk;

		if (fallback || m->msk->mptcp.token == 0)
		{
			/* a fallen-back connection has one TCP socket, same tuple */
			if (walmptcp_subflow_same_tuple(s, &m->msk->sk))
				m->subflows[m->n_subflows++] = s;
		}
		else if (s->has_subflow_info && s->token_loc == m->msk->mptcp.token)
			m->subflows[m->n_subflows++] = s;
		else if (s->is_subflow && !s->has_subflow_info &&
				 walmptcp_subflow_same_tuple(s, &m->msk->sk))
			m->withheld = true; /* its initial subflow, without details */
	}
	/*
	 * No subflow found: a fact only where the kernel shows subflows to us.
	 * Before 6.18 it may not even mark them as MPTCP subflows for an
	 * unprivileged reader (6.1, 6.12), so go by what the MPTCP socket says:
	 * subflows it still has (mptcpi_subflows_total, 6.8+), or, without that
	 * counter, assume withheld.
	 */
	if (!fallback && m->n_subflows == 0 &&
		(snap->details_withheld ||
		 !WALMPTCP_INFO_HAS(m->msk->mptcp_len, subflows_total) ||
		 m->msk->mptcp.subflows_total > 0))
		m->withheld = true;
}

/*
 * Replace m's subflows with those the owning process published: where the
 * kernel withholds them from sock_diag (walmptcp.subflow_source = auto), or
 * always (= owner).  They are already in the shape sock_diag's are.
 */
static void
use_owner_view(WalmptcpOwnerView *v, Matched *m, int64 now)
{
	if (!m->mptcp || m->source == WALMPTCP_SUBFLOW_SOURCE_SOCK_DIAG ||
		(m->source == WALMPTCP_SUBFLOW_SOURCE_AUTO && !m->withheld))
		return;

	m->n_subflows = 0;
	if (v == NULL || v->taken_at == 0)
	{
		m->withheld = true;		/* nothing published yet: unknown */
		return;
	}
	m->withheld = false;
	m->from_owner = true;
	m->owner_age_ms = (now - v->taken_at) / 1000;
	m->subflows = palloc(Max(v->n, 1) * sizeof(WalmptcpSubflow *));
	for (int i = 0; i < v->n; i++)
		m->subflows[m->n_subflows++] = &v->subflows[i];
}

void
walmptcp_decide_subflows(const DiagSnapshot *snap, uint64 inode,
						 WalmptcpOwnerView *owner, int64 now, Matched *m)
{
	m->source = walmptcp_subflow_source;
	m->from_owner = false;
	m->owner_age_ms = 0;
	match_inode(snap, inode, m);
	use_owner_view(owner, m, now);
}

/*
 * A session's SQL calls within SNAPSHOT_REUSE_MS of each other share one
 * kernel snapshot (of every registered connection): a query calling
 * walmptcp_subflows(pid) per row of walmptcp_connections(), or a monitor
 * polling in a loop, then costs one dump of the namespace's TCP sockets, not
 * one per call.  Only client backends: the supervisor wants each tick fresh.
 */
#define SNAPSHOT_REUSE_MS	100

static MemoryContext snapshot_cxt = NULL;
static DiagSnapshot cached_snap;
static uint64 *cached_inodes;
static int	cached_n_inodes;
static TimestampTz cached_at;

static int
inode_cmp(const void *a, const void *b)
{
	uint64		x = *(const uint64 *) a,
				y = *(const uint64 *) b;

	return x < y ? -1 : x > y;
}

static DiagSocket *
copy_sockets(const DiagSocket *from, int n)
{
	DiagSocket *to = palloc(Max(n, 1) * sizeof(DiagSocket));

	if (n > 0)
		memcpy(to, from, n * sizeof(DiagSocket));
	return to;
}

/* A snapshot for these (sorted) inodes in the current memory context. */
static void
collect(const uint64 *inodes, int n, DiagSnapshot *snap)
{
	MemoryContext old;
	TimestampTz now;

	if (MyBackendType != B_BACKEND)
	{
		walmptcp_diag_collect(inodes, n, snap);
		return;
	}
	now = GetCurrentTimestamp();
	/* stale: other connections, older than the window, or the clock went back */
	if (snapshot_cxt == NULL || cached_at == 0 || cached_n_inodes != n ||
		memcmp(cached_inodes, inodes, n * sizeof(uint64)) != 0 ||
		now < cached_at || TimestampDifferenceExceeds(cached_at, now, SNAPSHOT_REUSE_MS))
	{
		if (snapshot_cxt == NULL)
			snapshot_cxt = AllocSetContextCreate(TopMemoryContext, "walmptcp snapshot",
												 ALLOCSET_SMALL_SIZES);
		cached_at = 0;			/* invalid until the dump succeeded */
		MemoryContextReset(snapshot_cxt);
		old = MemoryContextSwitchTo(snapshot_cxt);
		walmptcp_diag_collect(inodes, n, &cached_snap);
		cached_inodes = palloc(Max(n, 1) * sizeof(uint64));
		memcpy(cached_inodes, inodes, n * sizeof(uint64));
		MemoryContextSwitchTo(old);
		cached_n_inodes = n;
		cached_at = now;
	}
	*snap = cached_snap;
	snap->mptcp = copy_sockets(cached_snap.mptcp, cached_snap.n_mptcp);
	snap->tcp = copy_sockets(cached_snap.tcp, cached_snap.n_tcp);
}

/* Registry snapshot (optionally one pid) joined with a sock_diag dump. */
Matched *
walmptcp_match_connections(int filter_pid, int *count)
{
	int			n_entries;
	WalmptcpConnEntry *entries = walmptcp_registry_snapshot(&n_entries);
	Matched    *out;
	uint64	   *inodes;
	int			n = 0;
	bool		wanted = false;
	DiagSnapshot snap;
	int64		now;

	*count = 0;
	/* every registered inode, so that one snapshot serves any pid */
	inodes = palloc(Max(n_entries, 1) * sizeof(uint64));
	for (int i = 0; i < n_entries; i++)
	{
		inodes[n++] = entries[i].inode;
		wanted |= (filter_pid == 0 || entries[i].pid == filter_pid);
	}
	if (!wanted)
		return NULL;			/* nothing to ask the kernel about */
	qsort(inodes, n, sizeof(uint64), inode_cmp);
	collect(inodes, n, &snap);
	/* the owner views' clock: a wall-clock step changes no age */
	now = walmptcp_monotonic_us();
	n = 0;

	out = palloc0(n_entries * sizeof(Matched));
	for (int i = 0; i < n_entries; i++)
	{
		if (filter_pid != 0 && entries[i].pid != filter_pid)
			continue;
		walmptcp_decide_subflows(&snap, entries[i].inode, &entries[i].owner, now, &out[n]);
		out[n++].entry = &entries[i];
	}
	*count = n;
	return out;
}

