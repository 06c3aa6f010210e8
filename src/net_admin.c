/*-------------------------------------------------------------------------
 *
 * net_admin.c
 *	  Least privilege for CAP_NET_ADMIN, and the endpoint helper.
 *
 * Re-adding MPTCP endpoints needs CAP_NET_ADMIN.  A DBA may start
 * PostgreSQL with it (systemd AmbientCapabilities=CAP_NET_ADMIN), but then
 * every process PostgreSQL forks or executes would hold it: backends,
 * COPY ... PROGRAM, archive_command.  Linux offers no hook to strip it from
 * PostgreSQL's children selectively, so walmptcp moves it out of PostgreSQL
 * altogether while the postmaster loads it:
 *
 * 1. the postmaster forks, twice, a small helper process that keeps only
 *	  CAP_NET_ADMIN and does one thing: on request, remove an existing
 *	  endpoint and add it again exactly as it was;
 * 2. the postmaster drops CAP_NET_ADMIN from its effective, permitted,
 *	  inheritable and ambient sets before it creates shared memory or forks
 *	  anything, so no PostgreSQL process and nothing they execute holds it.
 *
 * The helper is reparented to init (the postmaster never reaps it, so its
 * exit cannot look like a crashed backend).  Where the postmaster itself
 * would inherit it (it is PID 1, as in the official container images, or a
 * child subreaper), a small guardian process stays between the two and
 * always exits with status 0 when the helper ends, however it ends: the
 * postmaster treats an unknown child that dies by a signal as a crashed
 * backend and restarts the whole cluster.  The helper talks over a socketpair whose
 * other end only the postmaster and the supervisor hold, and exits when
 * both are gone.  Every other child of the postmaster (backends, parallel
 * workers, checkpointer, autovacuum, archiver, other extensions' workers)
 * closes it in a fork handler before it runs any code of its own, so no
 * process but the supervisor can ask for an endpoint to be re-added.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "endpoint_pm.h"
#include "miscadmin.h"
#include "walmptcp.h"

#define HELPER_MAGIC 0x574d5054		/* "WMPT" */

/*
 * Every request carries the caller's pid and a sequence number, echoed in
 * the reply: a reply left queued by a caller that gave up waiting (or was
 * killed mid-call; its successor inherits the socket) is recognised and
 * skipped instead of being taken for the answer to a later request.
 */
typedef struct HelperRequest
{
	uint32		magic;
	int32		caller;			/* pid */
	uint32		seq;
	uint8		op;				/* HELPER_OP_* */
	uint8		endpoint_id;
} HelperRequest;

typedef struct HelperReply
{
	int32		caller;			/* as in the request */
	uint32		seq;
	int32		result;			/* 0 or -errno */
	int32		pid;
	int32		fate;			/* WalmptcpReaddFate */
	WalmptcpEndpoint endpoint;	/* what was re-added */
} HelperReply;

/* A helper that does not answer (stopped, stuck) must not hang its caller. */
#define HELPER_TIMEOUT_MS 3000

#define HELPER_OP_PING 1
#define HELPER_OP_READD 2

static int	helper_fd = -1;
static int	helper_pid = 0;
static uint32 helper_seq = 0;
static bool helper_fork_handler_installed = false;

/*
 * pthread_atfork() child handler: runs in every child right after fork(),
 * before the child's own code.  Only a child the postmaster forks as the
 * supervisor keeps the helper's socket.
 */
static void
close_helper_in_child(void)
{
	if (helper_fd < 0)
		return;
	if (getppid() == PostmasterPid &&
		walmptcp_forked_as_bgworker("walmptcp", WALMPTCP_SUPERVISOR_FUNCTION))
		return;
	close(helper_fd);
	helper_fd = -1;
}

static bool
has_cap(cap_flag_t set, cap_value_t cap)
{
	cap_t		caps = cap_get_proc();
	cap_flag_value_t value = CAP_CLEAR;

	if (caps)
	{
		cap_get_flag(caps, cap, set, &value);
		cap_free(caps);
	}
	return value == CAP_SET;
}

/* Remove CAP_NET_ADMIN from every set of this process. */
static bool
drop_net_admin(void)
{
	cap_t		caps = cap_get_proc();
	cap_value_t list[1] = {CAP_NET_ADMIN};
	bool		ok;

	if (caps == NULL)
		return false;
	ok = cap_set_flag(caps, CAP_EFFECTIVE, 1, list, CAP_CLEAR) == 0 &&
		cap_set_flag(caps, CAP_PERMITTED, 1, list, CAP_CLEAR) == 0 &&
		cap_set_flag(caps, CAP_INHERITABLE, 1, list, CAP_CLEAR) == 0 &&
		cap_set_proc(caps) == 0;
	cap_free(caps);
	/* lowering the inheritable bit already cleared it from ambient */
	(void) cap_set_ambient(CAP_NET_ADMIN, CAP_CLEAR);
	return ok;
}

/* The helper keeps CAP_NET_ADMIN and nothing else. */
static void
keep_only_net_admin(void)
{
	cap_t		caps = cap_init();
	cap_value_t list[1] = {CAP_NET_ADMIN};

	cap_set_flag(caps, CAP_EFFECTIVE, 1, list, CAP_SET);
	cap_set_flag(caps, CAP_PERMITTED, 1, list, CAP_SET);
	(void) cap_set_proc(caps);
	cap_free(caps);
	(void) cap_reset_ambient();
}

static void
helper_main(int fd)
{
	sigset_t	all;

	/* Nothing of the postmaster's: own session, default signals, no fds. */
	(void) setsid();
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (dup2(fd, 3) < 0)
		_exit(1);
	closefrom(4);
	/* not the postmaster's terminal or pipe: a caller may wait for its end */
	{
		int			null = open("/dev/null", O_RDWR);

		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
			_exit(1);
		if (null > 3)
			close(null);
	}
	prctl(PR_SET_NAME, "walmptcp-helper");
	keep_only_net_admin();
	if (getenv("WALMPTCP_TEST_HELPER_FAIL_ADDS"))
		walmptcp_endpoint_fail_next_adds(atoi(getenv("WALMPTCP_TEST_HELPER_FAIL_ADDS")));

	for (;;)
	{
		HelperRequest req;
		HelperReply reply;
		ssize_t		n = recv(3, &req, sizeof(req), 0);

		if (n == 0)
			_exit(0);			/* every PostgreSQL process is gone */
		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		memset(&reply, 0, sizeof(reply));
		reply.pid = getpid();
		reply.caller = req.caller;
		reply.seq = req.seq;
		if (n != sizeof(req) || req.magic != HELPER_MAGIC)
			reply.result = -EINVAL;
		else if (req.op == HELPER_OP_READD)
		{
			WalmptcpReaddFate fate;

			reply.result = walmptcp_endpoint_readd(req.endpoint_id, &reply.endpoint, &fate);
			reply.fate = fate;
		}
		else if (req.op != HELPER_OP_PING)
			reply.result = -EINVAL;
		(void) send(3, &reply, sizeof(reply), 0);
	}
}

/* Would an orphaned grandchild of this process be reparented to it? */
static bool
orphans_come_to_us(void)
{
	int			subreaper = 0;

	if (getpid() == 1)
		return true;
	return prctl(PR_GET_CHILD_SUBREAPER, &subreaper) == 0 && subreaper != 0;
}

/*
 * Between the postmaster and the helper: ignore what can be ignored, wait
 * for the helper, exit 0 whatever became of it.
 */
static void
guardian_main(int fd)
{
	pid_t		helper;
	int			null;

	(void) setsid();
	helper = fork();
	if (helper == 0)
		helper_main(fd);
	/* not the postmaster's handlers (its SIGCHLD one would reap for it) */
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, sig == SIGCHLD ? SIG_DFL : SIG_IGN);
	null = open("/dev/null", O_RDWR);
	if (null >= 0)
	{
		(void) dup2(null, 0);
		(void) dup2(null, 1);
		(void) dup2(null, 2);
	}
	closefrom(3);
	prctl(PR_SET_NAME, "walmptcp-guard");
	while (helper > 0 && waitpid(helper, NULL, 0) < 0 && errno == EINTR)
		;
	_exit(0);
}

static int
helper_call(uint8 op, uint8 id, HelperReply *reply)
{
	HelperRequest req;
	struct timespec start,
				now;

	if (helper_fd < 0)
		return -ENOTCONN;
	memset(&req, 0, sizeof(req));
	req.magic = HELPER_MAGIC;
	req.caller = (int32) getpid();
	req.seq = ++helper_seq;
	req.op = op;
	req.endpoint_id = id;
	if (send(helper_fd, &req, sizeof(req), MSG_DONTWAIT) != sizeof(req))
		return -errno;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;)
	{
		struct pollfd pfd = {helper_fd, POLLIN, 0};
		long		waited;
		int			rc;

		clock_gettime(CLOCK_MONOTONIC, &now);
		waited = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (waited >= HELPER_TIMEOUT_MS)
			return -ETIMEDOUT;
		rc = poll(&pfd, 1, HELPER_TIMEOUT_MS - waited);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			return rc == 0 ? -ETIMEDOUT : -errno;
		if (recv(helper_fd, reply, sizeof(*reply), MSG_DONTWAIT) != sizeof(*reply))
			return -EPIPE;
		if (reply->caller == req.caller && reply->seq == req.seq)
			return reply->result;
		/* a late answer to an earlier call: skip it */
	}
}

/*
 * Postmaster, at preload: hand CAP_NET_ADMIN to the helper (when the
 * supervisor may use it) and drop it from PostgreSQL.
 */
void
walmptcp_net_admin_setup(bool start_helper)
{
	int			sv[2];
	pid_t		pid;
	HelperReply reply;

	if (!has_cap(CAP_PERMITTED, CAP_NET_ADMIN) &&
		!has_cap(CAP_INHERITABLE, CAP_NET_ADMIN))
		return;

	if (start_helper && has_cap(CAP_PERMITTED, CAP_NET_ADMIN) &&
		socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0)
	{
		bool		guarded = orphans_come_to_us();

		fflush(NULL);
		pid = fork();
		if (pid == 0)
		{
			close(sv[0]);
			if (guarded)
				guardian_main(sv[1]);
			if (fork() == 0)
				helper_main(sv[1]);
			_exit(0);
		}
		close(sv[1]);
		if (pid > 0)
		{
			/* a guardian lives on; the postmaster reaps it when it ends */
			if (!guarded)
				(void) waitpid(pid, NULL, 0);
			helper_fd = sv[0];
			if (helper_call(HELPER_OP_PING, 0, &reply) == 0)
			{
				helper_pid = reply.pid;
				if (!helper_fork_handler_installed &&
					pthread_atfork(NULL, NULL, close_helper_in_child) == 0)
					helper_fork_handler_installed = true;
				if (!helper_fork_handler_installed)
				{
					/* without it every child would inherit the socket */
					close(helper_fd);
					helper_fd = -1;
					helper_pid = 0;
				}
			}
			else
			{
				close(helper_fd);
				helper_fd = -1;
			}
		}
		else
			close(sv[0]);
	}

	if (!drop_net_admin())
		ereport(WARNING,
				(errmsg("walmptcp: could not drop CAP_NET_ADMIN: %m")));
	if (helper_pid)
		ereport(LOG,
				(errmsg("walmptcp: CAP_NET_ADMIN moved to the endpoint helper (pid %d); no PostgreSQL process keeps it",
						helper_pid)));
	else
		ereport(LOG,
				(errmsg("walmptcp: dropped CAP_NET_ADMIN; no PostgreSQL process keeps it")));
}

/*
 * Let go of the helper (belt and braces: the fork handler has already done
 * it in every child but the supervisor).
 */
void
walmptcp_helper_close(void)
{
	if (helper_fd >= 0)
	{
		close(helper_fd);
		helper_fd = -1;
	}
}

bool
walmptcp_helper_available(void)
{
	HelperReply reply;

	return helper_call(HELPER_OP_PING, 0, &reply) == 0;
}

/*
 * Ask the helper to re-add endpoint id; 0 or -errno.  *fate says what the
 * host has now (untouched when the helper did not answer).
 */
int
walmptcp_helper_readd(uint8 id, WalmptcpEndpoint *done, WalmptcpReaddFate *fate)
{
	HelperReply reply;
	int			rc;

	memset(&reply, 0, sizeof(reply));	/* caller stays 0 unless it answered */
	rc = helper_call(HELPER_OP_READD, id, &reply);
	*fate = WALMPTCP_READD_UNTOUCHED;
	if (rc == 0 || reply.caller == (int32) getpid())
	{
		*done = reply.endpoint;
		*fate = (WalmptcpReaddFate) reply.fate;
	}
	return rc;
}
