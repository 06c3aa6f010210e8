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

#include "registry.h"
#include "sock_diag.h"

/* One registered connection and what the kernel has for it. */
typedef struct Matched
{
	WalmptcpConnEntry *entry;
	DiagSocket *msk;			/* MPTCP socket, or NULL */
	DiagSocket *tcp;			/* plain TCP socket, or NULL */
	DiagSocket **subflows;
	int			n_subflows;
	bool		withheld;		/* subflows exist, details hidden */
	bool		from_owner;		/* subflows as the owning process read them */
	int64		owner_age_ms;	/* ... this long ago */
} Matched;

/* Connections of pid filter_pid (0: all), palloc'd; *count rows. */
extern Matched *walmptcp_match_connections(int filter_pid, int *count);
extern void walmptcp_match_inode(const DiagSnapshot *snap, uint64 inode,
								 Matched *m);

#endif							/* WALMPTCP_CONN_STATE_H */
