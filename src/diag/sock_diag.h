/*-------------------------------------------------------------------------
 *
 * sock_diag.h
 *	  What the kernel says about MPTCP sockets and TCP subflows.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_SOCK_DIAG_H
#define WALMPTCP_SOCK_DIAG_H

#include "diag_socket.h"

typedef struct DiagSnapshot
{
	DiagSocket *mptcp;
	int			n_mptcp;
	DiagSocket *tcp;
	int			n_tcp;
	bool		details_withheld;	/* subflows seen without their ULP info */
} DiagSnapshot;

/*
 * The MPTCP sockets whose inode is in inodes, their subflows (by token) and
 * TCP sockets (by tuple), and the plain TCP sockets whose inode is in
 * inodes.  The kernel reads every socket of the namespace; the others are
 * dropped as they arrive.  Errors are reported with ereport(ERROR).
 */
extern void walmptcp_diag_collect(const uint64 *inodes, int n_inodes,
								  DiagSnapshot *snap);

/* Listening MPTCP and TCP sockets on port. */
extern DiagSocket *walmptcp_diag_listeners(uint16 port, int *count);

#endif							/* WALMPTCP_SOCK_DIAG_H */
