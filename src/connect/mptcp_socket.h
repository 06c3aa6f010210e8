/*-------------------------------------------------------------------------
 *
 * mptcp_socket.h
 *	  The socket() interposers, and what a connection really got.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_MPTCP_SOCKET_H
#define WALMPTCP_MPTCP_SOCKET_H

#include "walmptcp.h"

/* walmptcp.listen */
extern bool walmptcp_listen;
extern void walmptcp_socket_define_settings(void);

extern void walmptcp_install_listen_interposer(void);
extern void walmptcp_install_libpq_interposer(void);
extern void walmptcp_begin_client_connect(bool want_mptcp);
extern int	walmptcp_end_client_connect(void);
extern WalmptcpOutcome walmptcp_socket_outcome(int fd, char **reason);
extern int	walmptcp_kernel_refusal(int domain);
extern bool walmptcp_probe_kernel(int *err);
extern void walmptcp_listen_summary(int *mptcp_sockets, int *tcp_sockets,
									int *refusal_errno);

#endif							/* WALMPTCP_MPTCP_SOCKET_H */
