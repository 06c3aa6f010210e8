/*-------------------------------------------------------------------------
 *
 * sock_diag.c
 *	  Read MPTCP sockets and their TCP subflows with NETLINK_SOCK_DIAG.
 *
 * This is the interface ss(8) uses; it needs no privilege.  Two dumps per
 * address family:
 *
 * - MPTCP sockets: inet_diag_req_v2.sdiag_protocol is one byte, so
 *	 IPPROTO_MPTCP (262) cannot go there; it is sent as an
 *	 INET_DIAG_REQ_PROTOCOL attribute.  INET_DIAG_INFO carries struct
 *	 mptcp_info; idiag_inode equals the inode of the owning process's fd.
 *
 * - Every TCP socket that is not listening.  INET_DIAG_INFO carries struct
 *	 tcp_info and, for subflows, INET_DIAG_ULP_INFO the MPTCP token and
 *	 address ids.  Subflows are joined to their connection by token, never
 *	 by port: with port-based endpoints ("ip mptcp endpoint add ... port
 *	 5202 signal") a connection's subflows use ports other than its own.
 *	 Older kernels (6.1 and 6.12 were checked) emit the ULP part only to
 *	 CAP_NET_ADMIN;
 *	 is_subflow without has_subflow_info tells that case apart.
 *
 * The kernel cannot filter the TCP dump for us: inet_diag bytecode tests
 * addresses, ports, devices, marks and cgroups, not the MPTCP token or ULP,
 * and no port set covers a connection's subflows (announced ports, joins
 * from the peer's ephemeral ports, on a walsender the same listen port as
 * every client backend).  So the kernel reads every TCP socket of the
 * namespace once per dump; what is kept is bounded here instead: the MPTCP
 * sockets of the registered inodes, and of the TCP sockets only those that
 * belong to them (their token, their tuple, or a registered inode).  Memory
 * and the join then grow with the registered connections, not with the
 * namespace's sockets.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/mptcp.h>
#include <linux/sock_diag.h>

#include "inet_addr.h"
#include "kernel_uapi.h"
#include "netlink_frames.h"
#include "sock_diag.h"
#include "test_hooks.h"

/*
 * Every TCP state but listening, TIME_WAIT and NEW_SYN_RECV: listeners carry
 * no subflows, the other two are not full sockets (no ULP, no owner).
 */
#define DIAG_STATES_WANTED (~((1U << WALMPTCP_TCP_LISTEN) | \
							  (1U << WALMPTCP_TCP_TIME_WAIT) | \
							  (1U << WALMPTCP_TCP_NEW_SYN_RECV)))

typedef struct DumpState
{
	bool		mptcp;			/* dumping MPTCP sockets */
	uint32		states;			/* bit mask of TCP states */
	const uint64 *inodes;		/* the sockets asked about; NULL: all */
	int			n_inodes;
	const struct DumpState *msks;	/* TCP: the MPTCP sockets kept */
	bool		withheld_seen;	/* TCP: a subflow without its ULP info */
	DiagSocket *items;
	int			count;
	int			capacity;
} DumpState;

static bool
inode_wanted(const DumpState *st, uint64 inode)
{
	for (int i = 0; i < st->n_inodes; i++)
		if (st->inodes[i] == inode)
			return true;
	return false;
}

/*
 * A TCP socket the join may use: a registered plain socket, a subflow
 * carrying the token of a kept MPTCP socket, or a socket with a kept MPTCP
 * socket's tuple (its TCP socket after a fallback, or its initial subflow
 * shown without ULP info).
 */
static bool
tcp_wanted(const DumpState *st, const DiagSocket *s)
{
	if (inode_wanted(st, s->inode))
		return true;
	for (int i = 0; i < st->msks->count; i++)
	{
		const DiagSocket *m = &st->msks->items[i];

		if (s->sk.has_subflow_info && m->mptcp.token != 0 && s->sk.token_loc == m->mptcp.token)
			return true;
		if (walmptcp_subflow_same_tuple(&s->sk, &m->sk))
			return true;
	}
	return false;
}

#ifdef WALMPTCP_TEST_HOOKS
/*
 * Tests only (WALMPTCP_TEST_DIAG_DUMP_FAILS=N): the first N dumps of each
 * process fail with an ERROR in the middle of the dump, where palloc's
 * "out of memory" does, so that t/024 can check that the netlink socket is
 * closed all the same.
 */
static void
test_fail_dump(void)
{
	static int	failed = 0;

	if (!test_hook_fires("WALMPTCP_TEST_DIAG_DUMP_FAILS", &failed))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_OUT_OF_MEMORY),
			 errmsg("sock_diag dump failed (test hook WALMPTCP_TEST_DIAG_DUMP_FAILS)")));
}
#endif

static DiagSocket *
next_item(DumpState *st)
{
#ifdef WALMPTCP_TEST_HOOKS
	test_fail_dump();
#endif
	if (st->count == st->capacity)
	{
		st->capacity = st->capacity ? st->capacity * 2 : 16;
		st->items = st->items ? repalloc(st->items, st->capacity * sizeof(DiagSocket))
			: palloc(st->capacity * sizeof(DiagSocket));
	}
	memset(&st->items[st->count], 0, sizeof(DiagSocket));
	return &st->items[st->count++];
}

static int
on_message(const struct nlmsghdr *nlh, void *data)
{
	DumpState  *st = (DumpState *) data;
	DiagSocket *s = next_item(st);

	if (!walmptcp_diag_parse_message(nlh, st->mptcp, s))
	{
		st->count--;
		return MNL_CB_OK;
	}

	if (st->inodes == NULL)
		return MNL_CB_OK;		/* listeners: all of them */
	if (st->mptcp)
	{
		if (!inode_wanted(st, s->inode))
			st->count--;
		return MNL_CB_OK;
	}
	/* seen on any subflow: the kernel withholds details from us */
	if (s->sk.is_subflow && !s->sk.has_subflow_info)
		st->withheld_seen = true;
	if (!tcp_wanted(st, s))
		st->count--;
	return MNL_CB_OK;
}

/*
 * One dump request; returns false with errno set on failure.  Errors are
 * reported by the caller once the netlink socket is closed.
 */
static bool
dump(struct mnl_socket *nl, int family, bool mptcp, DumpState *st)
{
	/* large enough for any dump batch the kernel sends (up to 32 KiB) */
	static char buf[65536];
	struct nlmsghdr *nlh;
	struct inet_diag_req_v2 *req;
	unsigned int seq = (unsigned int) time(NULL);
	unsigned int portid = mnl_socket_get_portid(nl);
	ssize_t		ret;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = family;
	req->sdiag_protocol = IPPROTO_TCP;
	req->idiag_states = st->states;
	req->idiag_ext = 1 << (INET_DIAG_INFO - 1);
	if (mptcp)
		mnl_attr_put_u32(nlh, INET_DIAG_REQ_PROTOCOL, IPPROTO_MPTCP);

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return false;

	st->mptcp = mptcp;
	while ((ret = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0)
	{
		if (!walmptcp_netlink_frames_ok(buf, ret))
		{
			errno = EPROTO;
			return false;
		}
		ret = mnl_cb_run(buf, ret, seq, portid, on_message, st);
		if (ret <= MNL_CB_STOP)
			break;
	}
	/* a kernel without MPTCP diag support answers ENOENT: no sockets */
	return ret >= 0 || errno == ENOENT;
}

/*
 * MPTCP sockets of both families into *mptcp, TCP sockets into *tcp (which
 * may be the same state).  Errors are reported with ereport(ERROR); the
 * netlink socket is closed first, also when an ERROR (palloc's "out of
 * memory") leaves a dump half-way.
 */
static void
dump_all(DumpState *mptcp, DumpState *tcp)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_SOCK_DIAG);
	bool		ok = false;
	int			save_errno = 0;

	if (nl == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("walmptcp: could not open a NETLINK_SOCK_DIAG socket: %m")));
	PG_TRY();
	{
		ok = mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) >= 0 &&
			dump(nl, AF_INET, true, mptcp) &&
			dump(nl, AF_INET6, true, mptcp) &&
			dump(nl, AF_INET, false, tcp) &&
			dump(nl, AF_INET6, false, tcp);
		save_errno = errno;
	}
	PG_FINALLY();
	{
		mnl_socket_close(nl);
	}
	PG_END_TRY();
	if (!ok)
	{
		errno = save_errno;
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("walmptcp: sock_diag request failed: %m")));
	}
}

void
walmptcp_diag_collect(const uint64 *inodes, int n_inodes, DiagSnapshot *snap)
{
	DumpState	mptcp = {0},
				tcp = {0};

	/* the MPTCP dumps come first: the TCP dumps keep what belongs to them */
	mptcp.inodes = tcp.inodes = inodes;
	mptcp.n_inodes = tcp.n_inodes = n_inodes;
	tcp.msks = &mptcp;
	tcp.states = mptcp.states = DIAG_STATES_WANTED;

	dump_all(&mptcp, &tcp);

	snap->mptcp = mptcp.items;
	snap->n_mptcp = mptcp.count;
	snap->tcp = tcp.items;
	snap->n_tcp = tcp.count;
	snap->details_withheld = tcp.withheld_seen;
}

/*
 * The listening MPTCP and TCP sockets of this namespace on port (a
 * palloc'd array).  Errors are reported with ereport(ERROR).
 */
DiagSocket *
walmptcp_diag_listeners(uint16 port, int *count)
{
	DumpState	st = {0};
	int			n = 0;

	st.states = 1U << WALMPTCP_TCP_LISTEN;
	dump_all(&st, &st);
	for (int i = 0; i < st.count; i++)
	{
		if (st.items[i].sk.local_port == port)
			st.items[n++] = st.items[i];
	}
	*count = n;
	return st.items;
}
