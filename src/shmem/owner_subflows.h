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

#include "inet_addr.h"

/*
 * A connection's subflows as the process that owns its socket read them
 * (owner_view.c), for kernels whose sock_diag withholds subflow details
 * from an unprivileged server.
 */
#define WALMPTCP_OWNER_SUBFLOWS 16

typedef struct WalmptcpOwnerSubflow
{
	uint8_t		family;
	uint8_t		state;			/* tcpi_state */
	uint16_t	local_port;
	uint16_t	remote_port;
	uint8_t		local[INET_ADDR_MAX_LEN];
	uint8_t		remote[INET_ADDR_MAX_LEN];
	int32_t		tcpi_len;		/* how much tcp_info the kernel gave */
	uint32_t	rtt;
	uint32_t	snd_cwnd;
	uint32_t	total_retrans;
	uint64_t	bytes_sent;
	uint64_t	bytes_received;
	uint64_t	bytes_acked;
	uint64_t	delivery_rate;
} WalmptcpOwnerSubflow;

typedef struct WalmptcpOwnerView
{
	int64_t		taken_at;		/* walmptcp_monotonic_us(); 0: none yet */
	int			n;
	WalmptcpOwnerSubflow subflows[WALMPTCP_OWNER_SUBFLOWS];
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
