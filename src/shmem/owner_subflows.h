/*-------------------------------------------------------------------------
 *
 * owner_subflows.h
 *	  A process reads the subflows of its own MPTCP socket (PostgreSQL-free).
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_OWNER_SUBFLOWS_H
#define WALMPTCP_OWNER_SUBFLOWS_H

#include <stdbool.h>
#include <stdint.h>

#include "subflow.h"

/*
 * A connection's subflows as the process that owns its socket read them
 * (owner_view.c), for kernels whose sock_diag withholds subflow details
 * from an unprivileged server.
 */
#define WALMPTCP_OWNER_SUBFLOWS 16

typedef struct WalmptcpOwnerView
{
	int64_t		taken_at;		/* walmptcp_monotonic_us(); 0: none yet */
	int			n;
	WalmptcpSubflow subflows[WALMPTCP_OWNER_SUBFLOWS];
} WalmptcpOwnerView;

/*
 * Microseconds of CLOCK_MONOTONIC: the owner view's clock.  Writer and
 * readers are processes of one server on one host, and a step of the wall
 * clock (NTP, a VM resumed) must not make an old view look fresh.
 */
extern int64_t walmptcp_monotonic_us(void);

/* Read the subflows of one's own MPTCP socket fd; false on failure. */
extern bool walmptcp_read_own_subflows(int fd, WalmptcpOwnerView *view);

#endif							/* WALMPTCP_OWNER_SUBFLOWS_H */
