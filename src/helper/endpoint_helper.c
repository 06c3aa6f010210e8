/*-------------------------------------------------------------------------
 *
 * endpoint_helper.c
 *	  The endpoint helper process (and its guardian): keeps CAP_NET_ADMIN
 *	  and, on the supervisor's request, re-adds an MPTCP endpoint.
 *
 * Forked by the postmaster at preload (net_admin.c), it runs nothing of
 * PostgreSQL's: this file does not include postgres.h, so the build itself
 * refuses an ereport, a palloc or any other call that assumes a PostgreSQL
 * process.  It answers requests that carry the supervisor's credentials
 * (helper_protocol.c) and exits when every PostgreSQL process that held its
 * socket is gone.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "endpoint_helper.h"
#include "endpoint_pm.h"
#include "helper_protocol.h"

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

#ifdef WALMPTCP_TEST_HOOKS
/*
 * Tests only (WALMPTCP_TEST_HELPER_HOLD=FILE): before a re-add, create FILE
 * and wait until the test removes it (at most 2.5 s, under the caller's
 * 3 s), so that the test can change the host's endpoints in between.
 */
static void
test_hold_readd(void)
{
	const char *file = getenv("WALMPTCP_TEST_HELPER_HOLD");
	int			fd;

	if (file == NULL)
		return;
	fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	for (int i = 0; i < 250 && access(file, F_OK) == 0; i++)
		usleep(10000);
}
#endif

static void helper_main(int fd, pid_t postmaster) __attribute__((noreturn));

static void
helper_main(int fd, pid_t postmaster)
{
	sigset_t	all;
	int			on = 1;

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
	/* the kernel attaches each sender's pid and uid to what it sends */
	if (setsockopt(3, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) != 0)
		_exit(1);
#ifdef WALMPTCP_TEST_HOOKS
	if (getenv("WALMPTCP_TEST_HELPER_FAIL_ADDS"))
		walmptcp_endpoint_fail_next_adds(atoi(getenv("WALMPTCP_TEST_HELPER_FAIL_ADDS")));
#endif

	for (;;)
	{
		HelperRequest req;
		HelperReply reply;
		pid_t		sender = 0;
		uid_t		sender_uid = 0;
		bool		has_cred;
		ssize_t		n = helper_recv_request(3, &req, &sender, &sender_uid, &has_cred);

		if (n == 0)
			_exit(0);			/* every PostgreSQL process is gone */
		if (n < 0)
		{
			if (n == -EINTR)
				continue;
			_exit(1);
		}
		memset(&reply, 0, sizeof(reply));
		reply.pid = getpid();
		reply.caller = req.caller;
		reply.seq = req.seq;
		if (n != sizeof(req) || req.magic != HELPER_MAGIC)
			reply.result = -EINVAL;
		else if (!has_cred ||
				 helper_sender_allowed(sender, sender_uid, postmaster, getuid()) != 0)
			reply.result = -EPERM;
		else if (req.op == HELPER_OP_READD)
		{
			WalmptcpReaddFate fate;

#ifdef WALMPTCP_TEST_HOOKS
			test_hold_readd();
#endif
			reply.result = walmptcp_endpoint_readd(&req.endpoint, &reply.endpoint, &fate);
			reply.fate = fate;
		}
		else if (req.op != HELPER_OP_PING)
			reply.result = -EINVAL;
		(void) send(3, &reply, sizeof(reply), 0);
	}
}

/*
 * Between the postmaster and the helper: ignore what can be ignored, wait
 * for the helper, exit 0 whatever became of it.
 */
void
walmptcp_guardian_main(int fd, pid_t postmaster)
{
	pid_t		helper;
	int			null;

	(void) setsid();
	helper = fork();
	if (helper == 0)
		helper_main(fd, postmaster);
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

/* The helper, forked by the postmaster (no guardian needed). */
void
walmptcp_helper_main(int fd, pid_t postmaster)
{
	helper_main(fd, postmaster);
}
