/*-------------------------------------------------------------------------
 *
 * owner_view.h
 *	  Replication processes publishing their own socket's subflows.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_OWNER_VIEW_H
#define WALMPTCP_OWNER_VIEW_H

#include <stdbool.h>

/* walmptcp.subflow_source */
typedef enum WalmptcpSubflowSource
{
	WALMPTCP_SUBFLOW_SOURCE_AUTO,
	WALMPTCP_SUBFLOW_SOURCE_SOCK_DIAG,
	WALMPTCP_SUBFLOW_SOURCE_OWNER
} WalmptcpSubflowSource;

extern int	walmptcp_subflow_source;
extern void walmptcp_owner_view_define_settings(void);

extern void walmptcp_install_owner_view_interposers(bool executable);
extern void walmptcp_owner_view_start(int fd);
extern void walmptcp_owner_view_stop(int fd);

#endif							/* WALMPTCP_OWNER_VIEW_H */
