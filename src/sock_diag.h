/*-------------------------------------------------------------------------
 *
 * sock_diag.h
 *	  What the kernel says about MPTCP sockets and TCP subflows.
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
 * Dump every MPTCP socket of this network namespace, every MPTCP subflow,
 * and the plain TCP sockets whose inode is in inodes (the others are read
 * and dropped).  Errors are reported with ereport(ERROR).
 */
extern void walmptcp_diag_collect(const uint64 *inodes, int n_inodes,
								  DiagSnapshot *snap);

/* Listening MPTCP and TCP sockets on port. */
extern DiagSocket *walmptcp_diag_listeners(uint16 port, int *count);

#endif							/* WALMPTCP_SOCK_DIAG_H */
