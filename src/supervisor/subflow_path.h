/*-------------------------------------------------------------------------
 *
 * subflow_path.h
 *	  The path a subflow takes, and sets of them: what the supervisor
 *	  compares from one look to the next.
 *
 * A path is (local address, remote address, the server side's port).  The
 * client's ephemeral port is left out: a subflow re-created on the same
 * path gets a new one.  The server's port is kept: with port-based
 * endpoints ("ip mptcp endpoint add ADDR port 5202 signal") several
 * subflows share both addresses and differ only by the port announced.
 * Two subflows on one path count once: after an address comes back, a
 * subflow whose other end died can linger beside its successor and must not
 * make a degraded set look whole.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_SUBFLOW_PATH_H
#define WALMPTCP_SUBFLOW_PATH_H

#include "conn_state.h"
#include "inet_addr.h"

/* more than the kernel's limit of 8 extra subflows, with room to spare */
#define WALMPTCP_MAX_PATHS 64

typedef struct SubflowPath
{
	int			family;
	uint8		local[INET_ADDR_MAX_LEN];
	uint8		remote[INET_ADDR_MAX_LEN];
	uint16		server_port;	/* the listen or announced port */
} SubflowPath;

typedef struct PathSet
{
	int			n;
	SubflowPath paths[WALMPTCP_MAX_PATHS];
} PathSet;

/*
 * The connection a path belongs to, as far as endpoint ownership goes
 * (endpoint_repair.h); kept here so that the supervisor's state and policy
 * need no I/O header to hold it.
 */
typedef struct PathOwnerContext
{
	bool		client;			/* this host opened the connection */
	int			family;
	uint8		peer_addr[INET_ADDR_MAX_LEN];	/* the other end of the initial subflow */
	uint16		peer_port;
	uint16		server_port;	/* the server's port of the initial subflow */
} PathOwnerContext;

/*
 * The established subflows of a connection, as paths, whichever source
 * they came from (walmptcp_decide_subflows).
 */
extern void pathset_of_connection(const Matched *m, bool client, PathSet *out);

extern bool path_equal(const SubflowPath *a, const SubflowPath *b);
extern bool pathset_contains(const PathSet *set, const SubflowPath *p);
extern void pathset_add(PathSet *set, const SubflowPath *p);
extern void pathset_union(PathSet *set, const PathSet *more);
extern void pathset_difference(const PathSet *a, const PathSet *b, PathSet *out);
extern void pathset_remove(PathSet *set, const SubflowPath *p);

/* "10.77.2.2>10.77.1.1:5432", "fd77:0:0:2::2>[fd77:0:0:1::1]:5432" */
extern void path_format(const SubflowPath *p, char *buf, size_t len);
extern void pathset_format(const PathSet *set, char *buf, size_t len);

#endif							/* WALMPTCP_SUBFLOW_PATH_H */
