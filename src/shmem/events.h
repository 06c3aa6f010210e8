/*-------------------------------------------------------------------------
 *
 * events.h
 *	  The supervisor's events, in shared memory.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_EVENTS_H
#define WALMPTCP_EVENTS_H

#include "walmptcp.h"

struct LWLock;					/* storage/lwlock.h */

#define WALMPTCP_EVENT_ADDR_LEN 64
#define WALMPTCP_EVENT_NAME_LEN 24
#define WALMPTCP_EVENT_DETAIL_LEN 256

typedef struct WalmptcpEvent
{
	int64		time;			/* TimestampTz */
	int			pid;
	WalmptcpRole role;
	char		local[WALMPTCP_EVENT_ADDR_LEN];
	char		remote[WALMPTCP_EVENT_ADDR_LEN];
	char		event[WALMPTCP_EVENT_NAME_LEN];
	char		detail[WALMPTCP_EVENT_DETAIL_LEN];
} WalmptcpEvent;

extern Size walmptcp_events_shmem_size(void);
extern void walmptcp_events_shmem_init(struct LWLock *lock);
extern WalmptcpEvent *walmptcp_events_copy(int *count);
extern void walmptcp_event(int pid, WalmptcpRole role, const char *local,
						   const char *remote, const char *event,
						   const char *detail);

#endif							/* WALMPTCP_EVENTS_H */
