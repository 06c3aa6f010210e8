/*-------------------------------------------------------------------------
 *
 * conn_state.h
 *	  A registered replication connection and its kernel state.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_CONN_STATE_H
#define WALMPTCP_CONN_STATE_H

#include "owner_subflows.h"
#include "owner_view.h"
#include "registry.h"
#include "sock_diag.h"

/* One registered connection and what is known of it. */
typedef struct Matched
{
	WalmptcpConnEntry *entry;
	DiagSocket *msk;			/* MPTCP socket, or NULL */
	DiagSocket *tcp;			/* plain TCP socket, or NULL */
	bool		mptcp;			/* an MPTCP socket that did not fall back */
	WalmptcpSubflow **subflows;
	int			n_subflows;
	bool		withheld;		/* subflows exist, details hidden */
	bool		from_owner;		/* subflows as the owning process read them */
	int64		owner_age_ms;	/* ... this long ago */
	WalmptcpSubflowSource source;	/* walmptcp.subflow_source they follow */
} Matched;

/* Connections of pid filter_pid (0: all), palloc'd; *count rows. */
extern Matched *walmptcp_match_connections(int filter_pid, int *count);

/*
 * The one place that decides a connection's subflows: for the socket with
 * this inode, its kernel sockets in snap (MPTCP, or plain or fallen-back
 * TCP) and, as walmptcp.subflow_source says, the owning process's view
 * (owner, taken at walmptcp_monotonic_us() time; NULL: none) in place of
 * sock_diag's; how much is known (withheld, from_owner).  m->entry is left
 * alone; m->subflows may point into snap and *owner.
 */
extern void walmptcp_decide_subflows(const DiagSnapshot *snap, uint64 inode,
									 WalmptcpOwnerView *owner, int64 now,
									 Matched *m);

#endif							/* WALMPTCP_CONN_STATE_H */
