/*-------------------------------------------------------------------------
 *
 * walmptcp.h
 *	  walmptcp's shared vocabulary: what a connection asked for, what it got,
 *	  and which kind of process owns it.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_H
#define WALMPTCP_H

#include <stdbool.h>

/* How a connection should use MPTCP (conninfo keyword "mptcp"). */
typedef enum WalmptcpMode
{
	WALMPTCP_MODE_OFF,
	WALMPTCP_MODE_PREFER,
	WALMPTCP_MODE_REQUIRE
} WalmptcpMode;

/* What a connection got. */
typedef enum WalmptcpOutcome
{
	WALMPTCP_OUTCOME_TCP,		/* plain TCP was asked for */
	WALMPTCP_OUTCOME_MPTCP,		/* MPTCP end to end */
	WALMPTCP_OUTCOME_KERNEL_REFUSED,	/* local kernel refused MPTCP */
	WALMPTCP_OUTCOME_PEER_FALLBACK,	/* peer answered without MPTCP */
	WALMPTCP_OUTCOME_UNIX_SOCKET	/* Unix-domain socket: no TCP at all */
} WalmptcpOutcome;

/* Which kind of process owns a replication connection. */
typedef enum WalmptcpRole
{
	WALMPTCP_ROLE_WALSENDER,
	WALMPTCP_ROLE_WALRECEIVER,
	WALMPTCP_ROLE_APPLY,
	WALMPTCP_ROLE_TABLESYNC,
	WALMPTCP_ROLE_SLOTSYNC,
	WALMPTCP_ROLE_BACKEND
} WalmptcpRole;

extern const char *walmptcp_mode_name(WalmptcpMode mode);
extern const char *walmptcp_role_name(WalmptcpRole role);

/* set by _PG_init once every part is installed (module.c) */
extern bool walmptcp_preloaded;
extern void walmptcp_require_preload(void);

#endif							/* WALMPTCP_H */
