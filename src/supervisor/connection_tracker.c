/*-------------------------------------------------------------------------
 *
 * connection_tracker.c
 *	  The supervisor's memory: a Tracker per replication connection, a Peer
 *	  per server, and recording events about them (ring and log).
 *
 * Trackers are keyed by process and socket (pid, inode); what must survive
 * a reconnect (the reconnect budget, the time a degradation began) is kept
 * per server, keyed by role, server address, database and name.
 *
 * Both tables live in the supervisor's process only (dynahash in
 * TopMemoryContext).  Nothing here looks at the kernel or decides anything:
 * that is observation.c and repair_policy.c.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>

#include "utils/hsearch.h"
#include "utils/timestamp.h"

#include "connection_tracker.h"
#include "events.h"
#include "inet_addr.h"
#include "registry.h"
#include "walmptcp.h"

#define LOG_EVERY_MS 10000

static const char *const event_names[EV_COUNT] = {
	"subflow_lost", "subflow_added", "degraded", "repair", "repaired",
	"repair_failed", "reconnect", "reconnected", "baseline", "circuit_open"
};

static HTAB *trackers = NULL;
static HTAB *peers = NULL;

void
tracker_tables_create(void)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(TrackerKey);
	ctl.entrysize = sizeof(Tracker);
	trackers = hash_create("walmptcp trackers", 64, &ctl, HASH_ELEM | HASH_BLOBS);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(PeerKey);
	ctl.entrysize = sizeof(Peer);
	peers = hash_create("walmptcp peers", 64, &ctl, HASH_ELEM | HASH_BLOBS);
}

bool
tracker_role_tracked(WalmptcpRole role)
{
	return role == WALMPTCP_ROLE_WALSENDER || role == WALMPTCP_ROLE_WALRECEIVER ||
		role == WALMPTCP_ROLE_APPLY || role == WALMPTCP_ROLE_SLOTSYNC;
}

void
tracker_record(Tracker *t, EventKind kind, const char *fmt,...)
{
	char		detail[WALMPTCP_EVENT_DETAIL_LEN];
	va_list		ap;
	TimestampTz now = GetCurrentTimestamp();

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);

	walmptcp_event(t->key.pid, t->role, t->local, t->remote, event_names[kind], detail);
	if (t->last_log[kind] == 0 ||
		TimestampDifferenceExceeds(t->last_log[kind], now, LOG_EVERY_MS))
	{
		t->last_log[kind] = now;
		ereport(LOG,
				(errmsg("walmptcp: %s of %s %s -> %s (pid %d): %s",
						event_names[kind], walmptcp_role_name(t->role),
						t->local, t->remote, t->key.pid, detail)));
	}
}

Peer *
tracker_peer(const Tracker *t)
{
	bool		found;
	Peer	   *p = hash_search(peers, &t->peer, HASH_ENTER, &found);

	if (!found)
	{
		memset((char *) p + sizeof(PeerKey), 0, sizeof(Peer) - sizeof(PeerKey));
	}
	p->last_used = GetCurrentTimestamp();
	return p;
}

static void
tracker_init(Tracker *t, const Matched *m, TimestampTz now, uint64 config)
{
	const WalmptcpConnEntry *e = m->entry;
	const WalmptcpSubflow *k = &m->msk->sk;
	bool		client = e->role != WALMPTCP_ROLE_WALSENDER;

	memset((char *) t + sizeof(TrackerKey), 0, sizeof(Tracker) - sizeof(TrackerKey));
	t->role = e->role;
	t->ctx.client = client;
	t->ctx.family = k->family;
	memcpy(t->ctx.peer_addr, k->remote, INET_ADDR_MAX_LEN);
	t->ctx.peer_port = k->remote_port;
	t->ctx.server_port = client ? k->remote_port : k->local_port;
	inet_addr_format_endpoint(k->family, k->local, k->local_port, t->local, sizeof(t->local));
	inet_addr_format_endpoint(k->family, k->remote, k->remote_port, t->remote, sizeof(t->remote));
	t->first_seen = now;
	t->config = config;
	t->probe_pending = client;

	memset(&t->peer, 0, sizeof(t->peer));
	if (client)
	{
		t->peer.role = e->role;
		t->peer.family = k->family;
		memcpy(t->peer.addr, k->remote, INET_ADDR_MAX_LEN);
		t->peer.port = k->remote_port;
		t->peer.dbid = e->dbid;
		strlcpy(t->peer.appname, e->appname, sizeof(t->peer.appname));
	}
}

Tracker *
tracker_enter(const Matched *m, TimestampTz now, uint64 config, bool *found)
{
	TrackerKey	key;
	Tracker    *t;

	memset(&key, 0, sizeof(key));
	key.pid = m->entry->pid;
	key.inode = m->entry->inode;
	t = hash_search(trackers, &key, HASH_ENTER, found);
	if (!*found)
		tracker_init(t, m, now, config);
	t->seen = true;
	return t;
}

void
tracker_mark_all_unseen(void)
{
	HASH_SEQ_STATUS seq;
	Tracker    *t;

	hash_seq_init(&seq, trackers);
	while ((t = hash_seq_search(&seq)) != NULL)
		t->seen = false;
}

/* A connection gone is forgotten; its server's record stays. */
void
tracker_forget_idle_peers(TimestampTz now)
{
	HASH_SEQ_STATUS seq;
	Peer	   *p;
	Tracker    *t;

	/* a server some live connection has is in use, whatever it did lately */
	hash_seq_init(&seq, trackers);
	while ((t = hash_seq_search(&seq)) != NULL)
	{
		p = hash_search(peers, &t->peer, HASH_FIND, NULL);
		if (p != NULL)
			p->last_used = now;
	}
	hash_seq_init(&seq, peers);
	while ((p = hash_seq_search(&seq)) != NULL)
	{
		if (TimestampDifferenceExceeds(p->last_used, now, 3600 * 1000))
			(void) hash_search(peers, &p->key, HASH_REMOVE, NULL);
	}
}

void
tracker_forget_unseen(void)
{
	HASH_SEQ_STATUS seq;
	Tracker    *t;

	hash_seq_init(&seq, trackers);
	while ((t = hash_seq_search(&seq)) != NULL)
	{
		if (!t->seen)
			(void) hash_search(trackers, &t->key, HASH_REMOVE, NULL);
	}
}
