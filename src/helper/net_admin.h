/*-------------------------------------------------------------------------
 *
 * net_admin.h
 *	  CAP_NET_ADMIN and the endpoint helper process.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_NET_ADMIN_H
#define WALMPTCP_NET_ADMIN_H

#include <stdbool.h>

#include "endpoint_pm.h"

extern void walmptcp_net_admin_setup(bool start_helper);
extern void walmptcp_helper_close(void);
extern bool walmptcp_helper_available(void);
extern int	walmptcp_helper_readd(const WalmptcpEndpoint *ep, WalmptcpEndpoint *done,
								  WalmptcpReaddFate *fate);

#endif							/* WALMPTCP_NET_ADMIN_H */
