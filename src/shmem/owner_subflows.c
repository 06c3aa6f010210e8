/*-------------------------------------------------------------------------
 *
 * owner_subflows.c
 *	  A process reads the subflows of its own MPTCP socket (PostgreSQL-free).
 *
 * getsockopt(SOL_MPTCP, MPTCP_SUBFLOW_ADDRS / MPTCP_TCPINFO), Linux 5.16+,
 * fills a struct mptcp_subflow_data header and then one entry per subflow.
 * The kernel packs the entries at min(the size we ask for, its own sizeof)
 * and returns that stride in the header's size_user (net/mptcp/sockopt.c,
 * unchanged from 5.16 to 6.18).  struct tcp_info grows with the kernel
 * (232 bytes in 6.1, 248 in 6.7, more with AccECN), so a build whose
 * headers are newer than the running kernel gets entries shorter than its
 * own struct: they are walked by the returned stride, never as an array.
 * num_subflows counts every subflow, also those the buffer had no room
 * for; the returned length says how many entries were written.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/mptcp.h>
#include <linux/tcp.h>

#include "inet_addr.h"
#include "kernel_uapi.h"
#include "owner_subflows.h"
#include "subflow.h"

#define MIN_OF(a, b) ((a) < (b) ? (a) : (b))

int64_t
walmptcp_monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * One getsockopt of a subflow list into buf (room for WALMPTCP_OWNER_SUBFLOWS
 * entries of entry_size).  Returns how many entries were written, -1 on
 * failure; *stride is where entry i starts (buf + sizeof header + i * stride),
 * *subflows how many subflows the socket has.
 */
static int
get_subflow_list(int fd, int optname, void *buf, size_t buflen, uint32_t entry_size,
				 uint32_t *stride, uint32_t *subflows)
{
	struct mptcp_subflow_data d;
	socklen_t	len = (socklen_t) buflen;

	memset(buf, 0, buflen);
	memset(&d, 0, sizeof(d));
	d.size_subflow_data = sizeof(d);
	d.size_user = entry_size;
	memcpy(buf, &d, sizeof(d));
	if (getsockopt(fd, SOL_MPTCP, optname, buf, &len) != 0)
		return -1;				/* a fallback to TCP, or a kernel before 5.16 */
	memcpy(&d, buf, sizeof(d));
	/* the kernel never widens the stride; zero would not advance */
	if (d.size_user == 0 || d.size_user > entry_size || len < sizeof(d))
		return -1;
	*stride = d.size_user;
	*subflows = d.num_subflows;
	return (int) MIN_OF(MIN_OF(d.num_subflows, (uint32_t) WALMPTCP_OWNER_SUBFLOWS),
						(len - sizeof(d)) / d.size_user);
}

bool
walmptcp_read_own_subflows(int fd, WalmptcpOwnerView *view)
{
	struct
	{
		struct mptcp_subflow_data d;
		struct mptcp_subflow_addrs a[WALMPTCP_OWNER_SUBFLOWS];
	}			addrs;
	struct
	{
		struct mptcp_subflow_data d;
		struct tcp_info t[WALMPTCP_OWNER_SUBFLOWS];
	}			infos;
	uint32_t	addr_stride,
				tcpi_stride,
				addr_subflows,
				tcpi_subflows;
	int			n_addrs,
				n_infos;

	n_addrs = get_subflow_list(fd, MPTCP_SUBFLOW_ADDRS, &addrs, sizeof(addrs),
							   sizeof(addrs.a[0]), &addr_stride, &addr_subflows);
	if (n_addrs < 0)
		return false;
	n_infos = get_subflow_list(fd, MPTCP_TCPINFO, &infos, sizeof(infos),
							   sizeof(infos.t[0]), &tcpi_stride, &tcpi_subflows);
	if (n_infos < 0)
		return false;

	/* both walk the same subflow list: a subflow came or went in between */
	if (addr_subflows != tcpi_subflows || n_addrs != n_infos)
		return false;

	memset(view, 0, sizeof(*view));
	view->taken_at = walmptcp_monotonic_us();
	for (int i = 0; i < n_addrs; i++)
	{
		WalmptcpSubflow *s = &view->subflows[view->n];
		struct mptcp_subflow_addrs a;
		struct tcp_info t;

		/* entry i is at the kernel's stride; what it did not write stays 0 */
		memset(&a, 0, sizeof(a));
		memcpy(&a, (const char *) addrs.a + (size_t) i * addr_stride, addr_stride);
		memset(&t, 0, sizeof(t));
		memcpy(&t, (const char *) infos.t + (size_t) i * tcpi_stride, tcpi_stride);

		if (a.sa_family != AF_INET && a.sa_family != AF_INET6)
			continue;
		s->family = a.sa_family;
		(void) inet_addr_from_sockaddr(&a.sa_local, s->local, &s->local_port);
		(void) inet_addr_from_sockaddr(&a.sa_remote, s->remote, &s->remote_port);
		s->state = t.tcpi_state;
		walmptcp_subflow_take_tcp_info(s, &t, (int) tcpi_stride);
		s->is_subflow = true;
		s->from_owner = true;
		view->n++;
	}
	return true;
}
