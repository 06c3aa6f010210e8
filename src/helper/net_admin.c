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
 *	  anything, so no PostgreSQL process holds it; and from its bounding set
 *	  when it has CAP_SETPCAP (which it then drops too), so that nothing
 *	  they execute can get it back from a file capability.
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
 * closes it in a fork handler before it runs any code of its own.  The
 * postmaster and the supervisor are not dumpable, so that a same-user
 * process cannot take the socket from them (ptrace, pidfd_getfd), and the
 * helper checks each request's SCM_CREDENTIALS (helper_protocol.c): no
 * process but the supervisor can ask for an endpoint to be re-added.
 *
 * Copyright (c) 2026, the walmptcp authors
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

#include "endpoint_helper.h"
#include "endpoint_pm.h"
#include "helper_protocol.h"
#include "miscadmin.h"
#include "net_admin.h"
#include "postmaster_child.h"

/* A helper that does not answer (stopped, stuck) must not hang its caller. */
#define HELPER_TIMEOUT_MS 3000

static int	helper_fd = -1;
static int	helper_pid = 0;
static uint32 helper_seq = 0;
static bool helper_fork_handler_installed = false;
static pid_t helper_postmaster = 0;		/* the helper's senders' parent */
static int	postmaster_dumpable = 1;	/* before walmptcp changed it */

/*
 * pthread_atfork() child handler: runs in every child right after fork(),
 * before the child's own code.  Only the child the postmaster forks as the
 * supervisor registered by _PG_init keeps the helper's socket (and stays
 * not dumpable, as the postmaster made itself: a same-user process cannot
 * ptrace it or take the socket with pidfd_getfd).  Every other child closes
 * the socket and becomes dumpable again, so backends still leave core dumps.
 */
static void
close_helper_in_child(void)
{
	if (helper_fd < 0)
		return;
	if (getppid() == PostmasterPid && walmptcp_forked_as_supervisor())
	{
		(void) prctl(PR_SET_DUMPABLE, 0);
		return;
	}
	close(helper_fd);
	helper_fd = -1;
	if (postmaster_dumpable > 0)
		(void) prctl(PR_SET_DUMPABLE, postmaster_dumpable);
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

/*
 * Remove CAP_NET_ADMIN from every set of this process: false if that
 * failed.  From the bounding set too (*bounding says whether it is gone
 * from there), which needs CAP_SETPCAP: without that, a program with the
 * file capability cap_net_admin that PostgreSQL runs would get it back.
 * CAP_SETPCAP, when given for this, goes as well (from every set).
 */
static bool
drop_net_admin(bool *bounding)
{
	cap_t		caps = cap_get_proc();
	cap_value_t setpcap[1] = {CAP_SETPCAP};
	cap_value_t list[2] = {CAP_NET_ADMIN, CAP_SETPCAP};
	bool		ok;

	*bounding = false;
	if (caps == NULL)
		return false;
	if (has_cap(CAP_PERMITTED, CAP_SETPCAP) &&
		cap_set_flag(caps, CAP_EFFECTIVE, 1, setpcap, CAP_SET) == 0)
		(void) cap_set_proc(caps);
	(void) prctl(PR_CAPBSET_DROP, CAP_NET_ADMIN, 0, 0, 0);
	*bounding = prctl(PR_CAPBSET_READ, CAP_NET_ADMIN, 0, 0, 0) == 0;
	if (*bounding)
		(void) prctl(PR_CAPBSET_DROP, CAP_SETPCAP, 0, 0, 0);

	ok = cap_set_flag(caps, CAP_EFFECTIVE, 2, list, CAP_CLEAR) == 0 &&
		cap_set_flag(caps, CAP_PERMITTED, 2, list, CAP_CLEAR) == 0 &&
		cap_set_flag(caps, CAP_INHERITABLE, 2, list, CAP_CLEAR) == 0 &&
		cap_set_proc(caps) == 0;
	cap_free(caps);
	/* lowering the inheritable bit already cleared it from ambient */
	(void) cap_set_ambient(CAP_NET_ADMIN, CAP_CLEAR);
	(void) cap_set_ambient(CAP_SETPCAP, CAP_CLEAR);
	return ok;
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
 * A reply to an earlier request that nobody waits for any more (its caller
 * timed out, or was the supervisor before a crash-restart).  Skipped, but
 * an endpoint lost by that re-add must not go unsaid.
 */
static void
late_reply(const HelperReply *late)
{
	char		desc[128];

	if (late->fate != WALMPTCP_READD_LOST)
		return;
	walmptcp_endpoint_describe(&late->endpoint, desc, sizeof(desc));
	ereport(WARNING,
			(errmsg("walmptcp: an MPTCP endpoint of this host was removed by a repair and could not be added back"),
			 errdetail("endpoint %s was removed and could not be added back (%s); the host no longer has it (the endpoint helper's answer came late)",
					   desc, strerror(-late->result)),
			 errhint("Add it again with \"ip mptcp endpoint add\".")));
}

static int
helper_call(uint8 op, const WalmptcpEndpoint *ep, HelperReply *reply)
{
	HelperRequest req;

	if (helper_fd < 0)
		return -ENOTCONN;
	memset(&req, 0, sizeof(req));
	req.magic = HELPER_MAGIC;
	req.caller = (int32) getpid();
	req.seq = ++helper_seq;
	req.op = op;
	if (ep)
		req.endpoint = *ep;
	if (send(helper_fd, &req, sizeof(req), MSG_DONTWAIT) != sizeof(req))
		return -errno;
	return helper_await_reply(helper_fd, req.caller, req.seq, HELPER_TIMEOUT_MS,
							  reply, late_reply);
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
	bool		bounding;

	if (!has_cap(CAP_PERMITTED, CAP_NET_ADMIN) &&
		!has_cap(CAP_INHERITABLE, CAP_NET_ADMIN))
		return;

	if (start_helper && has_cap(CAP_PERMITTED, CAP_NET_ADMIN) &&
		socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0)
	{
		bool		guarded = orphans_come_to_us();
		int			on = 1;

		/*
		 * Credentials are attached only to what is sent while the receiver
		 * asks for them: set before the helper runs, so that even the
		 * first ping carries them.
		 */
		(void) setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on));

		/*
		 * Not dumpable while it holds the socket: a same-user process
		 * (COPY ... TO PROGRAM) could otherwise take it with pidfd_getfd or
		 * ptrace.  The fork handler makes every child but the supervisor
		 * dumpable again; only the postmaster's own core dump is given up.
		 */
		postmaster_dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
		(void) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		helper_postmaster = getpid();
		fflush(NULL);
		pid = fork();
		if (pid == 0)
		{
			close(sv[0]);
			if (guarded)
				walmptcp_guardian_main(sv[1], helper_postmaster);
			if (fork() == 0)
				walmptcp_helper_main(sv[1], helper_postmaster);
			_exit(0);
		}
		close(sv[1]);
		if (pid > 0)
		{
			/* a guardian lives on; the postmaster reaps it when it ends */
			if (!guarded)
				(void) waitpid(pid, NULL, 0);
			helper_fd = sv[0];
			if (helper_call(HELPER_OP_PING, NULL, &reply) == 0 && reply.result == 0)
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
		if (helper_fd < 0 && postmaster_dumpable > 0)
			(void) prctl(PR_SET_DUMPABLE, postmaster_dumpable, 0, 0, 0);
	}

	if (!drop_net_admin(&bounding))
		ereport(WARNING,
				(errmsg("walmptcp: could not drop CAP_NET_ADMIN: %m"),
				 helper_pid ?
				 errdetail("The endpoint helper (pid %d) has it, and so have PostgreSQL's processes.", helper_pid) :
				 errdetail("PostgreSQL's processes keep it.")));
	else
		ereport(LOG,
				(helper_pid ?
				 errmsg("walmptcp: CAP_NET_ADMIN moved to the endpoint helper (pid %d); no PostgreSQL process keeps it",
						helper_pid) :
				 errmsg("walmptcp: dropped CAP_NET_ADMIN; no PostgreSQL process keeps it"),
				 bounding ? 0 :
				 errdetail("It stays in the bounding set (dropping it needs CAP_SETPCAP): a program with the file capability cap_net_admin that PostgreSQL runs would get it."),
				 bounding ? 0 :
				 errhint("Give PostgreSQL CAP_SETPCAP too (AmbientCapabilities and CapabilityBoundingSet); walmptcp drops it with CAP_NET_ADMIN.")));
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

	return helper_call(HELPER_OP_PING, NULL, &reply) == 0 && reply.result == 0;
}

/*
 * Ask the helper to re-add endpoint ep, if the host's endpoint with ep's id
 * is still exactly ep (else -ESTALE, *done what is there now); 0 or -errno.
 * *fate says what the host has now (untouched when the helper did not
 * answer).
 */
int
walmptcp_helper_readd(const WalmptcpEndpoint *ep, WalmptcpEndpoint *done,
					  WalmptcpReaddFate *fate)
{
	HelperReply reply;
	int			rc;

	*fate = WALMPTCP_READD_UNTOUCHED;
	rc = helper_call(HELPER_OP_READD, ep, &reply);
	if (rc != 0)
		return rc;				/* no answer: nothing is known */
	*done = reply.endpoint;
	*fate = (WalmptcpReaddFate) reply.fate;
	return reply.result;
}
