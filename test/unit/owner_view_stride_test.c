/*
 * Unit test of src/shmem/owner_subflows.c: the subflow lists of
 * getsockopt(SOL_MPTCP, MPTCP_TCPINFO / MPTCP_SUBFLOW_ADDRS) read from a
 * kernel whose entries are shorter than the build headers' structs.
 *
 * getsockopt is replaced (-Wl,--wrap=getsockopt) by a fake kernel that
 * works as net/mptcp/sockopt.c does (5.16 to 6.18): it packs each entry at
 * min(the size asked for, its own sizeof), returns that stride in the
 * header's size_user, counts every subflow in num_subflows and writes only
 * the entries that fit.  Its tcp_info is 232 bytes (Linux 6.1) when the
 * headers' is 248 or more (6.7+), else 16 bytes shorter than the headers';
 * its mptcp_subflow_addrs 160 bytes (room for both IPv6 addresses), so that
 * both lists are walked at a stride that is not the headers'.
 *
 * Prints TAP; exit status 1 when a check fails.
 *
 * Copyright (c) 2026, the walmptcp authors
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/mptcp.h>
#include <linux/tcp.h>

#include "../../src/common/kernel_uapi.h"
#include "../../src/shmem/owner_subflows.h"

#define MAX_FAKE_SUBFLOWS 20

#include "tap.h"

/* The fake kernel: its struct sizes and the subflows of the socket. */
static unsigned int kernel_tcpi_size;
static unsigned int kernel_addrs_size;
static int	fake_subflows;

static void
fake_tcp_info(int i, struct tcp_info *t)
{
	memset(t, 0, sizeof(*t));
	t->tcpi_state = (uint8_t) (1 + i % 11);
	t->tcpi_rtt = 1000 + i;
	t->tcpi_snd_cwnd = 10 + i;
	t->tcpi_total_retrans = 7 * i;
	t->tcpi_bytes_acked = 1000000ULL * (i + 1) + 1;
	t->tcpi_bytes_received = 2000000ULL * (i + 1) + 2;
	t->tcpi_delivery_rate = 3000000ULL * (i + 1) + 3;
	t->tcpi_bytes_sent = 4000000ULL * (i + 1) + 4;
}

/* the bytes of subflow i's addresses: 10.0.i.1:5000+i -> 10.1.i.2:5432 */
static void
fake_addrs(int i, struct mptcp_subflow_addrs *a)
{
	memset(a, 0, sizeof(*a));
	a->sin_local.sin_family = AF_INET;
	a->sin_local.sin_port = htons(5000 + i);
	a->sin_local.sin_addr.s_addr = htonl(0x0a000001 | (i << 8));
	a->sin_remote.sin_family = AF_INET;
	a->sin_remote.sin_port = htons(5432);
	a->sin_remote.sin_addr.s_addr = htonl(0x0a010002 | (i << 8));
}

int			__wrap_getsockopt(int fd, int level, int optname, void *optval, socklen_t *optlen);

int
__wrap_getsockopt(int fd, int level, int optname, void *optval, socklen_t *optlen)
{
	struct mptcp_subflow_data sfd;
	unsigned int ksize;
	int			len = (int) *optlen;
	unsigned int copied = 0;
	char	   *ptr;

	if (fd != 3)
	{
		errno = EBADF;
		return -1;
	}
	if (level != SOL_MPTCP || (optname != MPTCP_TCPINFO && optname != MPTCP_SUBFLOW_ADDRS))
	{
		errno = EOPNOTSUPP;
		return -1;
	}
	/* mptcp_get_subflow_data() */
	if (len < (int) sizeof(sfd))
	{
		errno = EINVAL;
		return -1;
	}
	memcpy(&sfd, optval, sizeof(sfd));
	if (sfd.size_subflow_data < sizeof(sfd) || (int) sfd.size_subflow_data > len ||
		sfd.num_subflows || sfd.size_kernel)
	{
		errno = EINVAL;
		return -1;
	}
	len -= sfd.size_subflow_data;

	ksize = optname == MPTCP_TCPINFO ? kernel_tcpi_size : kernel_addrs_size;
	sfd.size_kernel = ksize;
	sfd.size_user = sfd.size_user < ksize ? sfd.size_user : ksize;
	ptr = (char *) optval + sfd.size_subflow_data;
	for (int i = 0; i < fake_subflows; i++)
	{
		if (len && len >= (int) sfd.size_user)
		{
			struct tcp_info t;
			struct mptcp_subflow_addrs a;

			if (optname == MPTCP_TCPINFO)
			{
				fake_tcp_info(i, &t);
				memcpy(ptr, &t, sfd.size_user);
			}
			else
			{
				fake_addrs(i, &a);
				memcpy(ptr, &a, sfd.size_user);
			}
			ptr += sfd.size_user;
			copied += sfd.size_user;
			len -= sfd.size_user;
		}
	}
	sfd.num_subflows = fake_subflows;
	/* mptcp_put_subflow_data() */
	*optlen = copied ? copied + sfd.size_subflow_data : sizeof(sfd);
	memcpy(optval, &sfd, sizeof(sfd));
	return 0;
}

/* What subflow i must read as, given what the kernel's entry holds. */
#define IN_ENTRY(field) \
	(offsetof(struct tcp_info, field) + sizeof(((struct tcp_info *) 0)->field) <= kernel_tcpi_size)

static void
check_view(const char *what, int expect_n)
{
	WalmptcpOwnerView view;
	char		msg[256];
	int			bad_state = 0,
				bad_rtt = 0,
				bad_bytes = 0,
				bad_addr = 0;

	memset(&view, 0x55, sizeof(view));
	ok(walmptcp_read_own_subflows(3, &view), what);
	snprintf(msg, sizeof(msg), "%s: %d subflows read (got %d)", what, expect_n, view.n);
	ok(view.n == expect_n, msg);
	for (int i = 0; i < view.n && i < expect_n; i++)
	{
		const WalmptcpSubflow *s = &view.subflows[i];
		struct tcp_info t;
		struct mptcp_subflow_addrs a;
		uint32_t	local,
					remote;

		fake_tcp_info(i, &t);
		fake_addrs(i, &a);
		memcpy(&local, s->local, 4);
		memcpy(&remote, s->remote, 4);
		if (s->state != t.tcpi_state)
		{
			bad_state++;
			printf("# subflow %d: state %u, the kernel wrote %u\n", i, s->state, t.tcpi_state);
		}
		if (s->rtt != (IN_ENTRY(tcpi_rtt) ? t.tcpi_rtt : 0) ||
			s->snd_cwnd != (IN_ENTRY(tcpi_snd_cwnd) ? t.tcpi_snd_cwnd : 0) ||
			s->total_retrans != (IN_ENTRY(tcpi_total_retrans) ? t.tcpi_total_retrans : 0) ||
			s->tcpi_len != (int32_t) kernel_tcpi_size)
		{
			bad_rtt++;
			printf("# subflow %d: rtt %u cwnd %u retrans %u len %d, the kernel wrote %u %u %u %u\n",
				   i, s->rtt, s->snd_cwnd, s->total_retrans, s->tcpi_len,
				   t.tcpi_rtt, t.tcpi_snd_cwnd, t.tcpi_total_retrans, kernel_tcpi_size);
		}
		if (s->bytes_acked != (IN_ENTRY(tcpi_bytes_acked) ? t.tcpi_bytes_acked : 0) ||
			s->bytes_received != (IN_ENTRY(tcpi_bytes_received) ? t.tcpi_bytes_received : 0) ||
			s->delivery_rate != (IN_ENTRY(tcpi_delivery_rate) ? t.tcpi_delivery_rate : 0) ||
			s->bytes_sent != (IN_ENTRY(tcpi_bytes_sent) ? t.tcpi_bytes_sent : 0))
		{
			bad_bytes++;
			printf("# subflow %d: bytes acked %llu received %llu sent %llu rate %llu, the kernel wrote %llu %llu %llu %llu\n",
				   i, (unsigned long long) s->bytes_acked, (unsigned long long) s->bytes_received,
				   (unsigned long long) s->bytes_sent, (unsigned long long) s->delivery_rate,
				   (unsigned long long) t.tcpi_bytes_acked, (unsigned long long) t.tcpi_bytes_received,
				   (unsigned long long) t.tcpi_bytes_sent, (unsigned long long) t.tcpi_delivery_rate);
		}
		if (s->family != AF_INET ||
			local != a.sin_local.sin_addr.s_addr || s->local_port != ntohs(a.sin_local.sin_port) ||
			remote != a.sin_remote.sin_addr.s_addr || s->remote_port != ntohs(a.sin_remote.sin_port))
		{
			bad_addr++;
			printf("# subflow %d: family %u %s:%u -> ", i, s->family,
				   inet_ntoa(*(struct in_addr *) &local), s->local_port);
			printf("%s:%u\n", inet_ntoa(*(struct in_addr *) &remote), s->remote_port);
		}
	}
	snprintf(msg, sizeof(msg), "%s: every subflow's state", what);
	ok(bad_state == 0, msg);
	snprintf(msg, sizeof(msg), "%s: every subflow's rtt, cwnd, retransmits, tcpi_len", what);
	ok(bad_rtt == 0, msg);
	snprintf(msg, sizeof(msg), "%s: every subflow's byte counts and delivery rate", what);
	ok(bad_bytes == 0, msg);
	snprintf(msg, sizeof(msg), "%s: every subflow's addresses and ports", what);
	ok(bad_addr == 0, msg);
}

int
main(void)
{
	char		what[160];

	printf("# build headers: struct tcp_info %zu bytes, struct mptcp_subflow_addrs %zu bytes\n",
		   sizeof(struct tcp_info), sizeof(struct mptcp_subflow_addrs));

	/* a kernel as old as the headers */
	kernel_tcpi_size = sizeof(struct tcp_info);
	kernel_addrs_size = sizeof(struct mptcp_subflow_addrs);
	fake_subflows = 4;
	check_view("kernel as old as the headers, 4 subflows", 4);

	/* an older kernel: a shorter tcp_info (6.1 under 6.7+ headers) */
	kernel_tcpi_size = sizeof(struct tcp_info) >= 248 ? 232 : sizeof(struct tcp_info) - 16;
	snprintf(what, sizeof(what), "kernel tcp_info %u bytes, 4 subflows", kernel_tcpi_size);
	check_view(what, 4);

	/* and shorter address entries too */
	kernel_addrs_size = 160;
	snprintf(what, sizeof(what), "kernel tcp_info %u bytes, subflow addrs %u bytes, 4 subflows",
			 kernel_tcpi_size, kernel_addrs_size);
	check_view(what, 4);

	/* more subflows than the buffer has room for: the first 16 */
	fake_subflows = MAX_FAKE_SUBFLOWS;
	snprintf(what, sizeof(what), "kernel tcp_info %u bytes, %d subflows",
			 kernel_tcpi_size, MAX_FAKE_SUBFLOWS);
	check_view(what, WALMPTCP_OWNER_SUBFLOWS);

	/* no subflow at all */
	fake_subflows = 0;
	check_view("no subflow", 0);

	printf("1..%d\n", tests);
	return failed ? 1 : 0;
}
