/*-------------------------------------------------------------------------
 *
 * tcp_option_deferral.h
 *	  TCP options a kernel refuses on MPTCP sockets: the setsockopt() and
 *	  getsockopt() interposers.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_TCP_OPTION_DEFERRAL_H
#define WALMPTCP_TCP_OPTION_DEFERRAL_H

#include "walmptcp.h"

extern void walmptcp_install_tcp_option_interposer(void);
extern void walmptcp_forget_deferred_options(void);
extern void walmptcp_apply_deferred_options(int fd, WalmptcpOutcome outcome);

#endif							/* WALMPTCP_TCP_OPTION_DEFERRAL_H */
