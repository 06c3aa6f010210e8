/*-------------------------------------------------------------------------
 *
 * sock_diag.h
 *	  What the kernel says about MPTCP sockets and TCP subflows.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_SOCK_DIAG_H
#define WALMPTCP_SOCK_DIAG_H

#include <linux/tcp.h>

/*
 * struct mptcp_info as of Linux 6.10.  The kernel returns a prefix of it on
 * older kernels; *_len says how much, and fields beyond it are unknown.
 */
typedef struct WalmptcpMptcpInfo
{
	uint8		subflows;		/* 5.9: extra subflows (initial not counted) */
	uint8		add_addr_signal;
	uint8		add_addr_accepted;
	uint8		subflows_max;
	uint8		add_addr_signal_max;
	uint8		add_addr_accepted_max;
	uint32		flags;
	uint32		token;
	uint64		write_seq;
	uint64		snd_una;
	uint64		rcv_nxt;
	uint8		local_addr_used;	/* 5.12 */
	uint8		local_addr_max;
	uint8		csum_enabled;	/* 5.14 */
	uint32		retransmits;	/* 6.5 */
	uint64		bytes_retrans;
	uint64		bytes_sent;
	uint64		bytes_received;
	uint64		bytes_acked;
	uint8		subflows_total; /* 6.8 */
	uint8		reserved[3];
	uint32		last_data_sent; /* 6.10 */
	uint32		last_data_recv;
	uint32		last_ack_recv;
} WalmptcpMptcpInfo;

#define WALMPTCP_INFO_HAS(len, field) \
	((len) >= (int) (offsetof(WalmptcpMptcpInfo, field) + \
					 sizeof(((WalmptcpMptcpInfo *) 0)->field)))

#define WALMPTCP_TCPI_HAS(len, field) \
	((len) >= (int) (offsetof(struct tcp_info, field) + \
					 sizeof(((struct tcp_info *) 0)->field)))

/* idiag_state values (the kernel's include/net/tcp_states.h) */
#define WALMPTCP_TCP_ESTABLISHED 1
#define WALMPTCP_TCP_TIME_WAIT 6
#define WALMPTCP_TCP_LISTEN 10
#define WALMPTCP_TCP_NEW_SYN_RECV 12

#define MPTCP_INFO_FLAG_FALLBACK_BIT 1	/* MPTCP_INFO_FLAG_FALLBACK */

typedef struct DiagSocket
{
	int			family;
	uint8		state;			/* TCP_ESTABLISHED, ... */
	uint8		local[16];
	uint8		remote[16];
	uint16		local_port;		/* host order */
	uint16		remote_port;
	uint64		inode;

	/* TCP sockets */
	struct tcp_info tcpi;
	int			tcpi_len;
	bool		is_subflow;		/* has the "mptcp" ULP */
	bool		from_owner;		/* read by the owning process, not sock_diag */
	bool		has_subflow_info;
	uint32		token_loc;
	uint8		id_loc;
	uint8		id_rem;
	uint32		subflow_flags;

	/* MPTCP sockets */
	WalmptcpMptcpInfo mptcp;
	int			mptcp_len;
} DiagSocket;

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
