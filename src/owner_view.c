/*-------------------------------------------------------------------------
 *
 * owner_view.c
 *	  The owning process's view of its replication connection's subflows.
 *
 * Before Linux 6.18 (6.1 and 6.12 were checked), sock_diag shows a
 * subflow's MPTCP details (token, ids) to CAP_NET_ADMIN only, so an
 * unprivileged server cannot tell which TCP sockets are a connection's
 * subflows.  The process that owns the MPTCP socket can always ask:
 * getsockopt(SOL_MPTCP, MPTCP_SUBFLOW_ADDRS / MPTCP_TCPINFO), Linux 5.16+.
 *
 * Walsenders and walreceivers (and logical replication workers) already
 * pass through send() and recv() on that socket: libpq's and the postgres
 * executable's calls are interposed (GOT, got_patch.c), and at most once
 * per OWNER_SNAPSHOT_MS the process reads its subflows and publishes them
 * in its registry entry.  Every other call costs one comparison; a process
 * without an MPTCP replication connection only passes through.  What is
 * published is as old as the process's last send or recv: the readers
 * (conn_state.c) say how old, and the supervisor ignores a stale view.
 * With walmptcp.subflow_source = sock_diag nothing is read or published.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/mptcp.h>
#include <linux/tcp.h>

#include "utils/timestamp.h"

#include "walmptcp.h"
#include "kernel_uapi.h"

#define OWNER_SNAPSHOT_MS 1000

int			walmptcp_subflow_source = WALMPTCP_SUBFLOW_SOURCE_AUTO;

static int	owner_fd = -1;
static TimestampTz next_snapshot = 0;

void
walmptcp_owner_view_start(int fd)
{
	owner_fd = fd;
	next_snapshot = 0;
}

void
walmptcp_owner_view_stop(int fd)
{
	if (owner_fd == fd)
		owner_fd = -1;
}

static void
copy_sockaddr(const struct sockaddr *sa, uint8 *addr, uint16 *port)
{
	if (sa->sa_family == AF_INET)
	{
		const struct sockaddr_in *in = (const struct sockaddr_in *) sa;

		memcpy(addr, &in->sin_addr, 4);
		*port = ntohs(in->sin_port);
	}
	else if (sa->sa_family == AF_INET6)
	{
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;

		memcpy(addr, &in6->sin6_addr, 16);
		*port = ntohs(in6->sin6_port);
	}
}

/* Read the subflows of one's own MPTCP socket fd; false on failure. */
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
	socklen_t	len;
	int			n,
				tcpi_len;

	memset(&addrs, 0, sizeof(addrs));
	addrs.d.size_subflow_data = sizeof(addrs.d);
	addrs.d.size_user = sizeof(addrs.a[0]);
	len = sizeof(addrs);
	if (getsockopt(fd, SOL_MPTCP, MPTCP_SUBFLOW_ADDRS, &addrs, &len) != 0)
		return false;			/* a fallback to TCP, or a kernel before 5.16 */

	memset(&infos, 0, sizeof(infos));
	infos.d.size_subflow_data = sizeof(infos.d);
	infos.d.size_user = sizeof(infos.t[0]);
	len = sizeof(infos);
	if (getsockopt(fd, SOL_MPTCP, MPTCP_TCPINFO, &infos, &len) != 0)
		return false;

	/* both walk the same subflow list: a subflow came or went in between */
	if (addrs.d.num_subflows != infos.d.num_subflows)
		return false;

	memset(view, 0, sizeof(*view));
	view->taken_at = GetCurrentTimestamp();
	n = Min((int) addrs.d.num_subflows, WALMPTCP_OWNER_SUBFLOWS);
	tcpi_len = (int) Min(infos.d.size_kernel, infos.d.size_user);
	for (int i = 0; i < n; i++)
	{
		WalmptcpOwnerSubflow *s = &view->subflows[view->n];
		const struct tcp_info *t = &infos.t[i];

		if (addrs.a[i].sa_family != AF_INET && addrs.a[i].sa_family != AF_INET6)
			continue;
		s->family = addrs.a[i].sa_family;
		copy_sockaddr(&addrs.a[i].sa_local, s->local, &s->local_port);
		copy_sockaddr(&addrs.a[i].sa_remote, s->remote, &s->remote_port);
		s->state = t->tcpi_state;
		s->tcpi_len = tcpi_len;
		s->rtt = t->tcpi_rtt;
		s->snd_cwnd = t->tcpi_snd_cwnd;
		s->total_retrans = t->tcpi_total_retrans;
		s->bytes_sent = t->tcpi_bytes_sent;
		s->bytes_received = t->tcpi_bytes_received;
		s->bytes_acked = t->tcpi_bytes_acked;
		s->delivery_rate = t->tcpi_delivery_rate;
		view->n++;
	}
	return true;
}

static inline void
maybe_snapshot(int fd)
{
	TimestampTz now;
	WalmptcpOwnerView view;

	if (fd != owner_fd || walmptcp_subflow_source == WALMPTCP_SUBFLOW_SOURCE_SOCK_DIAG)
		return;
	now = GetCurrentTimestamp();
	if (now < next_snapshot)
		return;
	next_snapshot = now + (TimestampTz) OWNER_SNAPSHOT_MS * 1000;
	if (walmptcp_read_own_subflows(fd, &view))
		walmptcp_registry_publish_owner_view(fd, &view);
}

static ssize_t
send_interposer(int fd, const void *buf, size_t len, int flags)
{
	ssize_t		rc = send(fd, buf, len, flags);
	int			save_errno = errno;

	maybe_snapshot(fd);
	errno = save_errno;
	return rc;
}

static ssize_t
recv_interposer(int fd, void *buf, size_t len, int flags)
{
	ssize_t		rc = recv(fd, buf, len, flags);
	int			save_errno = errno;

	maybe_snapshot(fd);
	errno = save_errno;
	return rc;
}

/*
 * libpq's send/recv (walreceiver, logical replication workers) and, in the
 * postmaster before any child exists, the executable's (walsenders).
 */
void
walmptcp_install_owner_view_interposers(bool executable)
{
	int			patched = 0;
	int			rc[4] = {0, 0, 0, 0};

	rc[0] = walmptcp_patch_got("libpq.so", "send", (void *) send_interposer);
	rc[1] = walmptcp_patch_got("libpq.so", "recv", (void *) recv_interposer);
	if (executable)
	{
		rc[2] = walmptcp_patch_got(NULL, "send", (void *) send_interposer);
		rc[3] = walmptcp_patch_got(NULL, "recv", (void *) recv_interposer);
	}
	for (int i = 0; i < (int) lengthof(rc); i++)
		patched += Max(rc[i], 0);
	if (patched == 0)
		ereport(LOG,
				(errmsg("walmptcp: could not interpose send() and recv()"),
				 errdetail("On kernels that withhold subflow details from sock_diag, walmptcp_subflows() shows no subflows.")));
}
