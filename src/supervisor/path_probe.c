/*-------------------------------------------------------------------------
 *
 * path_probe.c
 *	  The supervisor's probe connections (see path_probe.h).
 *
 * Both are closed before anything reaches PostgreSQL's protocol: the probe
 * connection before the startup packet (the server logs nothing), the path
 * check at once.  ss shows a probe as a second MPTCP connection to the
 * server while it lasts (PROBE_WAIT_MS).
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/interrupt.h"
#include "storage/latch.h"
#include "utils/timestamp.h"

#include "inet_addr.h"
#include "kernel_uapi.h"
#include "owner_subflows.h"
#include "path_probe.h"
#include "test_hooks.h"

#define PROBE_CONNECT_MS 2000
#define PROBE_WAIT_MS 1500		/* the path manager adds subflows within a few RTTs */
#define PROBE_POLL_MS 50
#define PATH_CHECK_MS 1000

/* Connect a non-blocking socket, waiting at most timeout_ms: 0 or an errno. */
static int
connect_within(int fd, const struct sockaddr_storage *ss, socklen_t len, int timeout_ms)
{
	int			err = 0;
	socklen_t	errlen = sizeof(err);
	struct pollfd pfd = {fd, POLLOUT, 0};

	if (connect(fd, (const struct sockaddr *) ss, len) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return errno;
	if (poll(&pfd, 1, timeout_ms) != 1)
		return ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) != 0)
		return errno;
	return err;
}

#ifdef WALMPTCP_TEST_HOOKS
/*
 * Tests only (WALMPTCP_TEST_PROBE_DIAG_FAILS=N): the first N probes' reads
 * of their subflows fail with an ERROR, as a transient sock_diag failure
 * does, so that t/024 can check that the probe connection is closed all the
 * same.  The message is always the same, as a persistent failure's is.
 */
static void
test_fail_probe_diag(void)
{
	static int	failed = 0;

	if (!test_hook_fires("WALMPTCP_TEST_PROBE_DIAG_FAILS", &failed))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_SYSTEM_ERROR),
			 errmsg("sock_diag read of a probe connection failed (test hook WALMPTCP_TEST_PROBE_DIAG_FAILS)")));
}
#endif

/*
 * One read of the probe connection's subflows, as a replication
 * connection's are read (walmptcp_decide_subflows).  False while unknown.
 */
static bool
probe_read_subflows(int fd, uint64 inode, PathSet *out)
{
	DiagSnapshot snap;
	Matched		m;
	WalmptcpOwnerView view;
	bool		have_view;

	out->n = 0;
	memset(&m, 0, sizeof(m));
#ifdef WALMPTCP_TEST_HOOKS
	test_fail_probe_diag();
#endif
	walmptcp_diag_collect(&inode, 1, &snap);
	/* we own this socket, so our own view is at hand should it count */
	have_view = walmptcp_read_own_subflows(fd, &view);
	walmptcp_decide_subflows(&snap, inode, have_view ? &view : NULL,
							 walmptcp_monotonic_us(), &m);
	if (!m.mptcp || m.withheld)
		return false;
	pathset_of_connection(&m, true, out);
	return true;
}

bool
probe_fresh_connection(int family, const uint8 *addr, uint16 port, int enough,
					   PathSet *out)
{
	struct sockaddr_storage ss;
	socklen_t	sslen = inet_addr_to_sockaddr(family, addr, port, &ss);
	struct stat st;
	volatile bool known = false;
	int			fd;

	out->n = 0;
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_MPTCP);
	if (fd < 0)
		return false;
	if (connect_within(fd, &ss, sslen, PROBE_CONNECT_MS) != 0 || fstat(fd, &st) != 0)
	{
		close(fd);
		return false;
	}

	/* an ERROR in sock_diag must not leave the connection open (CLOSE_WAIT) */
	PG_TRY();
	{
		/*
		 * Wait on the latch, so that a shutdown request is not held up; look
		 * every PROBE_POLL_MS when the caller knows how many is enough.
		 */
		for (TimestampTz until = GetCurrentTimestamp() + PROBE_WAIT_MS * 1000;;)
		{
			long		left = (until - GetCurrentTimestamp()) / 1000;

			if (ShutdownRequestPending)
				break;
			if (left <= 0)
			{
				known = probe_read_subflows(fd, (uint64) st.st_ino, out);
				break;
			}
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 enough > 0 ? Min(left, PROBE_POLL_MS) : left,
							 PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			if (enough > 0 && !ShutdownRequestPending &&
				probe_read_subflows(fd, (uint64) st.st_ino, out) && out->n >= enough)
			{
				known = true;
				break;
			}
		}
	}
	PG_FINALLY();
	{
		close(fd);
	}
	PG_END_TRY();
	return known;
}

bool
path_answers(int family, const uint8 *local, const uint8 *remote, uint16 port)
{
	struct sockaddr_storage src,
				dst;
	socklen_t	len;
	int			fd,
				rc;
	bool		answered = false;

	len = inet_addr_to_sockaddr(family, local, 0, &src);
	(void) inet_addr_to_sockaddr(family, remote, port, &dst);

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	if (bind(fd, (struct sockaddr *) &src, len) == 0)
	{
		rc = connect_within(fd, &dst, len, PATH_CHECK_MS);
		answered = (rc == 0 || rc == ECONNREFUSED);
	}
	close(fd);
	return answered;
}
