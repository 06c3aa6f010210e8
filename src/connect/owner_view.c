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
 * The reading itself is in owner_subflows.c.
 *
 * A walsender's last send can come after its PGPROC is gone: the TLS
 * close_notify of socket_close(), an on_proc_exit callback.  The view is
 * stopped before shared-memory exit (walsender_registration.c), and the
 * registry publishes nothing once the process is exiting.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <sys/socket.h>

#include "utils/guc.h"

#include "got_patch.h"
#include "owner_view.h"
#include "registry.h"

#define OWNER_SNAPSHOT_MS 1000

int			walmptcp_subflow_source = WALMPTCP_SUBFLOW_SOURCE_AUTO;

static const struct config_enum_entry subflow_source_options[] = {
	{"auto", WALMPTCP_SUBFLOW_SOURCE_AUTO, false},
	{"sock_diag", WALMPTCP_SUBFLOW_SOURCE_SOCK_DIAG, false},
	{"owner", WALMPTCP_SUBFLOW_SOURCE_OWNER, false},
	{NULL, 0, false}
};

/* walmptcp.subflow_source */
void
walmptcp_owner_view_define_settings(void)
{
	DefineCustomEnumVariable("walmptcp.subflow_source",
							 "Where walmptcp learns a connection's subflows.",
							 "auto: the kernel's sock_diag, or the owning process's own view where the kernel withholds subflow details; "
							 "sock_diag: only sock_diag; owner: only the owning process's view.",
							 &walmptcp_subflow_source,
							 WALMPTCP_SUBFLOW_SOURCE_AUTO,
							 subflow_source_options,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
}

static int	owner_fd = -1;
static int64 next_snapshot = 0;	/* walmptcp_monotonic_us() */

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

static inline void
maybe_snapshot(int fd)
{
	int64		now;
	WalmptcpOwnerView view;

	if (fd != owner_fd || walmptcp_subflow_source == WALMPTCP_SUBFLOW_SOURCE_SOCK_DIAG)
		return;
	now = walmptcp_monotonic_us();
	if (now < next_snapshot)
		return;
	next_snapshot = now + (int64) OWNER_SNAPSHOT_MS * 1000;
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
