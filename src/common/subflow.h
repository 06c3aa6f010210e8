/*-------------------------------------------------------------------------
 *
 * subflow.h
 *	  One TCP subflow, whichever source read it (PostgreSQL-free): the
 *	  kernel's sock_diag (src/diag/) or the process that owns the MPTCP
 *	  socket (MPTCP_SUBFLOW_ADDRS / MPTCP_TCPINFO, owner_subflows.c).  A
 *	  plain TCP connection's socket has the same shape.
 *
 * Only the parts of struct tcp_info that walmptcp shows are kept: the owner's
 * view of up to 16 subflows sits in every registry entry in shared memory,
 * and its size must not follow the build's kernel headers.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_SUBFLOW_H
#define WALMPTCP_SUBFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inet_addr.h"

/*
 * struct tcp_info is <linux/tcp.h>'s, which clashes with the <netinet/tcp.h>
 * that PostgreSQL's headers include: only its users include it.
 */
struct tcp_info;

/* Whether the first len bytes of a struct tcp_info hold field. */
#define WALMPTCP_TCPI_HAS(len, field) \
	((len) >= (int) (offsetof(struct tcp_info, field) + \
					 sizeof(((struct tcp_info *) 0)->field)))

typedef struct WalmptcpSubflow
{
	int			family;
	uint8_t		state;			/* TCP_ESTABLISHED, ... */
	uint8_t		local[INET_ADDR_MAX_LEN];
	uint8_t		remote[INET_ADDR_MAX_LEN];
	uint16_t	local_port;		/* host order */
	uint16_t	remote_port;

	/* from struct tcp_info; a field beyond tcpi_len is unknown (0) */
	int			tcpi_len;		/* how much tcp_info the kernel gave */
	uint32_t	rtt;
	uint32_t	snd_cwnd;
	uint32_t	total_retrans;
	uint64_t	bytes_sent;
	uint64_t	bytes_received;
	uint64_t	bytes_acked;
	uint64_t	bytes_retrans;
	uint64_t	delivery_rate;

	bool		is_subflow;		/* an MPTCP subflow, not a plain TCP socket */
	bool		from_owner;		/* read by the owning process, not sock_diag */
	/* sock_diag's MPTCP subflow attributes (never in the owner's view) */
	bool		has_subflow_info;
	uint32_t	token_loc;
	uint8_t		id_loc;
	uint8_t		id_rem;
	uint32_t	subflow_flags;
} WalmptcpSubflow;

/*
 * Take what walmptcp keeps of a struct tcp_info of which the kernel gave the
 * first len bytes (the rest of *t zero).
 */
extern void walmptcp_subflow_take_tcp_info(WalmptcpSubflow *s,
										   const struct tcp_info *t, int len);

/* Same addresses and ports. */
static inline bool
walmptcp_subflow_same_tuple(const WalmptcpSubflow *a, const WalmptcpSubflow *b)
{
	return a->family == b->family &&
		a->local_port == b->local_port && a->remote_port == b->remote_port &&
		memcmp(a->local, b->local, INET_ADDR_MAX_LEN) == 0 &&
		memcmp(a->remote, b->remote, INET_ADDR_MAX_LEN) == 0;
}

#endif							/* WALMPTCP_SUBFLOW_H */
