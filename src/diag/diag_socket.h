/*-------------------------------------------------------------------------
 *
 * diag_socket.h
 *	  One socket as the kernel's sock_diag describes it, and the parser of
 *	  its message (PostgreSQL-free: test/fuzz feeds the parser raw bytes).
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_DIAG_SOCKET_H
#define WALMPTCP_DIAG_SOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/netlink.h>

#include "subflow.h"

/*
 * struct mptcp_info as of Linux 6.10.  The kernel returns a prefix of it on
 * older kernels; *_len says how much, and fields beyond it are unknown.
 */
typedef struct WalmptcpMptcpInfo
{
	uint8_t		subflows;		/* 5.9: extra subflows (initial not counted) */
	uint8_t		add_addr_signal;
	uint8_t		add_addr_accepted;
	uint8_t		subflows_max;
	uint8_t		add_addr_signal_max;
	uint8_t		add_addr_accepted_max;
	uint32_t		flags;
	uint32_t		token;
	uint64_t		write_seq;
	uint64_t		snd_una;
	uint64_t		rcv_nxt;
	uint8_t		local_addr_used;	/* 5.12 */
	uint8_t		local_addr_max;
	uint8_t		csum_enabled;	/* 5.14 */
	uint32_t		retransmits;	/* 6.5 */
	uint64_t		bytes_retrans;
	uint64_t		bytes_sent;
	uint64_t		bytes_received;
	uint64_t		bytes_acked;
	uint8_t		subflows_total; /* 6.8 */
	uint8_t		reserved[3];
	uint32_t		last_data_sent; /* 6.10 */
	uint32_t		last_data_recv;
	uint32_t		last_ack_recv;
} WalmptcpMptcpInfo;

#define WALMPTCP_INFO_HAS(len, field) \
	((len) >= (int) (offsetof(WalmptcpMptcpInfo, field) + \
					 sizeof(((WalmptcpMptcpInfo *) 0)->field)))

/* idiag_state values (the kernel's include/net/tcp_states.h) */
#define WALMPTCP_TCP_ESTABLISHED 1
#define WALMPTCP_TCP_TIME_WAIT 6
#define WALMPTCP_TCP_LISTEN 10
#define WALMPTCP_TCP_NEW_SYN_RECV 12

#define MPTCP_INFO_FLAG_FALLBACK_BIT 1	/* MPTCP_INFO_FLAG_FALLBACK */

/*
 * One socket of a dump.  A TCP socket is a subflow (or a plain connection's
 * socket); an MPTCP socket has its initial subflow's tuple and state in sk.
 */
typedef struct DiagSocket
{
	WalmptcpSubflow sk;
	uint64_t	inode;

	/* MPTCP sockets */
	WalmptcpMptcpInfo mptcp;
	int			mptcp_len;
} DiagSocket;

/*
 * Fill *s from one inet_diag message of a dump of MPTCP sockets (mptcp) or
 * of TCP sockets.  False when the message is too short to be one; malformed
 * attributes are skipped.
 */
extern bool walmptcp_diag_parse_message(const struct nlmsghdr *nlh, bool mptcp,
										DiagSocket *s);

#endif							/* WALMPTCP_DIAG_SOCKET_H */
