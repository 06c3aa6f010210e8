/*-------------------------------------------------------------------------
 *
 * connection_tracker.h
 *	  What the supervisor remembers between ticks: one Tracker per
 *	  replication connection, one Peer per server, and the events it records
 *	  about them.
 *
 * State only: nothing here looks at the kernel or decides anything.  The
 * decisions are in repair_policy.h, the looking in observation.h.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_CONNECTION_TRACKER_H
#define WALMPTCP_CONNECTION_TRACKER_H

#include "datatype/timestamp.h"

#include "conn_state.h"
#include "endpoint_pm.h"
#include "events.h"
#include "inet_addr.h"
#include "registry.h"
#include "subflow_path.h"
#include "walmptcp.h"

#define MAX_RECONNECTS_PER_HOUR 12
#define MAX_PENDING 8

typedef enum EventKind
{
	EV_LOST, EV_ADDED, EV_DEGRADED, EV_REPAIR, EV_REPAIRED, EV_REPAIR_FAILED,
	EV_RECONNECT, EV_RECONNECTED, EV_BASELINE, EV_CIRCUIT_OPEN, EV_COUNT
} EventKind;

/* A server, as a client side connection's process sees it. */
typedef struct PeerKey
{
	WalmptcpRole role;
	int			family;
	uint8		addr[INET_ADDR_MAX_LEN];
	uint16		port;
	unsigned int dbid;
	char		appname[WALMPTCP_APPNAME_LEN];
} PeerKey;

typedef struct Peer
{
	PeerKey		key;			/* hash key: first */
	TimestampTz reconnects[MAX_RECONNECTS_PER_HOUR];	/* ring */
	int			next_reconnect;
	TimestampTz reconnect_asked_at;
	TimestampTz degraded_since; /* of the connection asked to reconnect */
	PathSet		promised;		/* what the probe that justified it got */
	TimestampTz breaker_logged_at;
	TimestampTz last_used;		/* by a connection's tick */
} Peer;

/* An endpoint re-add done for a missing path, to be checked later. */
typedef struct PendingReadd
{
	WalmptcpEndpoint ep;
	SubflowPath path;
	TimestampTz at;
	bool		own;			/* this connection's re-add, not a shared one */
} PendingReadd;

typedef struct TrackerKey
{
	int			pid;
	uint64		inode;
} TrackerKey;

typedef struct Tracker
{
	TrackerKey	key;			/* hash key: first */
	bool		seen;			/* in this tick's look */
	WalmptcpRole role;
	PathOwnerContext ctx;
	PeerKey		peer;
	char		local[WALMPTCP_EVENT_ADDR_LEN];	/* initial subflow, for events and logs */
	char		remote[WALMPTCP_EVENT_ADDR_LEN];
	TimestampTz first_seen;
	uint64		config;			/* host endpoints and limits at baseline */
	PathSet		now;
	PathSet		expected;
	bool		probe_pending;	/* client: what a fresh connection gets */
	int			missing_ticks;
	bool		degraded;
	TimestampTz degraded_since;
	int			attempts;
	TimestampTz next_attempt;
	bool		gave_up;
	TimestampTz gave_up_at;
	TimestampTz last_endpoint_repair;
	TimestampTz path_back_since;	/* server: an owned missing path answers */
	bool		client_side_lost;	/* server: no subflow from a missing path's
									 * client address at some look */
	const char *last_method;
	int			npending;		/* endpoint re-adds to verify */
	PendingReadd pending[MAX_PENDING];
	TimestampTz last_log[EV_COUNT];
} Tracker;

/* The two hash tables, in the supervisor's process (once, at start). */
extern void tracker_tables_create(void);

/* Does the supervisor watch connections of this role at all? */
extern bool tracker_role_tracked(WalmptcpRole role);

/*
 * Forget the servers no connection has used for an hour: the supervisor
 * runs for months and standbys, subscriptions and their servers come and
 * go.  An hour is the longest any of a server's limits looks back
 * (reconnects per hour), so nothing a rule needs is lost.
 */
extern void tracker_forget_idle_peers(TimestampTz now);

/*
 * The tracker of a matched connection, created if new (*found false): who
 * it is, its server, when it was first seen, and the host configuration
 * then.  Marked as seen in this tick.
 */
extern Tracker *tracker_enter(const Matched *m, TimestampTz now, uint64 config,
							  bool *found);

/* Before a tick's look; after it, forget the trackers not seen again. */
extern void tracker_mark_all_unseen(void);
extern void tracker_forget_unseen(void);

/* The per-server record of a client side tracker, created if new. */
extern Peer *tracker_peer(const Tracker *t);

/* An event: always into the ring, into the log at most every 10 s per kind. */
extern void tracker_record(Tracker *t, EventKind kind, const char *fmt,...) pg_attribute_printf(3, 4);

#endif							/* WALMPTCP_CONNECTION_TRACKER_H */
