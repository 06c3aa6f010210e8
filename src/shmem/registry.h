/*-------------------------------------------------------------------------
 *
 * registry.h
 *	  Shared-memory table of this node's replication connections.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_REGISTRY_H
#define WALMPTCP_REGISTRY_H

#include <sys/socket.h>

#include "owner_subflows.h"
#include "walmptcp.h"

struct LWLock;					/* storage/lwlock.h */

#define WALMPTCP_REASON_LEN 256
#define WALMPTCP_APPNAME_LEN 64

typedef struct WalmptcpConnEntry
{
	int			pid;			/* 0: free slot */
	WalmptcpRole role;
	uint64		inode;			/* socket inode, joins sock_diag */
	int			fd;
	bool		mode_known;		/* false for walsenders: the client chose */
	WalmptcpMode mode;
	WalmptcpOutcome outcome;	/* at connect time */
	char		reason[WALMPTCP_REASON_LEN];
	char		appname[WALMPTCP_APPNAME_LEN];
	unsigned int dbid;			/* Oid: a subscription's database, else 0 */
	int64		connected_at;	/* TimestampTz */
	struct sockaddr_storage local;	/* at connect time */
	struct sockaddr_storage remote;
	WalmptcpOwnerView owner;	/* published by the owning process */
} WalmptcpConnEntry;

extern Size walmptcp_registry_shmem_size(void);
extern void walmptcp_registry_shmem_init(struct LWLock *lock);
extern void walmptcp_registry_add(WalmptcpRole role, int fd, bool mode_known,
								  WalmptcpMode mode, WalmptcpOutcome outcome,
								  const char *reason, const char *appname);
extern void walmptcp_registry_remove_fd(int fd);
extern WalmptcpConnEntry *walmptcp_registry_snapshot(int *count);
extern void walmptcp_registry_publish_owner_view(int fd, const WalmptcpOwnerView *view);
extern WalmptcpRole walmptcp_current_role(void);
extern WalmptcpRole walmptcp_bgworker_role(const char *library, const char *type,
										   const char *name);

#endif							/* WALMPTCP_REGISTRY_H */
