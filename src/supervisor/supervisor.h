/*-------------------------------------------------------------------------
 *
 * supervisor.h
 *	  The supervisor background worker and its settings.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_SUPERVISOR_H
#define WALMPTCP_SUPERVISOR_H

#include <stdbool.h>

/* the background worker's entry point, as registered (net_admin.c knows it too) */
#define WALMPTCP_SUPERVISOR_FUNCTION "walmptcp_supervisor_main"

typedef enum WalmptcpRepair
{
	WALMPTCP_REPAIR_AUTO,
	WALMPTCP_REPAIR_ENDPOINT,
	WALMPTCP_REPAIR_RECONNECT,
	WALMPTCP_REPAIR_OFF
} WalmptcpRepair;

/* walmptcp.supervisor, walmptcp.check_interval, walmptcp.repair */
extern bool walmptcp_supervisor_enabled;
extern int	walmptcp_check_interval;
extern int	walmptcp_repair;
extern void walmptcp_supervisor_define_settings(void);

extern void walmptcp_supervisor_register(void);

#endif							/* WALMPTCP_SUPERVISOR_H */
