/*
 * Unit test of src/helper/helper_protocol.c, the endpoint helper's protocol,
 * without PostgreSQL: a fake helper on a socketpair.
 *
 * 1. Stale replies (second review D7): the helper answers request N only
 *    after its caller gave up, and never answers N+1.  The wait for N+1 must
 *    time out without taking N's reply for its own (the caller's buffer is
 *    untouched), and N's late reply, whose fate is "lost", must be seen by
 *    the skipped-reply callback (where the supervisor logs its WARNING).
 * 2. Who may send (SCM_CREDENTIALS): this process as "postmaster"; as a
 *    child of the postmaster only when it is not dumpable; another user,
 *    another parent: refused.
 *
 * Copyright (c) 2026, the walmptcp authors
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper_protocol.h"

static int	failures = 0;
static int	skipped_lost = 0;
static int	skipped_total = 0;

#define CHECK(cond, ...) \
	do { \
		if (!(cond)) { failures++; printf("FAIL: "); printf(__VA_ARGS__); printf("\n"); } \
		else { printf("ok: "); printf(__VA_ARGS__); printf("\n"); } \
	} while (0)

static void
on_skipped(const HelperReply *late)
{
	skipped_total++;
	if (late->fate == WALMPTCP_READD_LOST)
		skipped_lost++;
}

static void
send_reply(int fd, int32_t caller, uint32_t seq, int32_t result, int32_t fate, uint8_t id)
{
	HelperReply r;

	memset(&r, 0, sizeof(r));
	r.caller = caller;
	r.seq = seq;
	r.result = result;
	r.fate = fate;
	r.endpoint.id = id;
	r.endpoint.family = AF_INET;
	if (send(fd, &r, sizeof(r), 0) != sizeof(r))
		abort();
}

static void
test_stale_reply(void)
{
	int			sv[2];
	HelperReply reply;
	int			rc;
	int32_t		me = (int32_t) getpid();

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0)
		abort();

	/* call N = 7: no answer in time */
	memset(&reply, 0xAB, sizeof(reply));
	rc = helper_await_reply(sv[0], me, 7, 100, &reply, on_skipped);
	CHECK(rc == -ETIMEDOUT, "call 7 without answer times out (rc %d)", rc);

	/* N's answer arrives late (the helper lost endpoint 1); N+1 gets none */
	send_reply(sv[1], me, 7, -ENOMEM, WALMPTCP_READD_LOST, 1);
	memset(&reply, 0xAB, sizeof(reply));
	rc = helper_await_reply(sv[0], me, 8, 200, &reply, on_skipped);
	CHECK(rc == -ETIMEDOUT, "call 8: N's late reply is not taken for its own, it times out (rc %d)", rc);
	CHECK(reply.caller == (int32_t) 0xABABABAB && reply.seq == 0xABABABABu,
		  "call 8: the caller's reply buffer is untouched (caller %d seq %u)", reply.caller, reply.seq);
	CHECK(skipped_lost == 1 && skipped_total == 1,
		  "the late reply of call 7, fate lost, was seen by the skipped-reply callback (%d lost of %d skipped)",
		  skipped_lost, skipped_total);

	/* a late reply from another caller (a supervisor before a restart), then ours */
	send_reply(sv[1], me + 1, 3, 0, WALMPTCP_READD_READDED, 2);
	send_reply(sv[1], me, 9, 0, WALMPTCP_READD_READDED, 5);
	rc = helper_await_reply(sv[0], me, 9, 1000, &reply, on_skipped);
	CHECK(rc == 0 && reply.seq == 9 && reply.endpoint.id == 5 && skipped_total == 2,
		  "call 9: another caller's reply skipped, its own taken (rc %d, seq %u, id %u)",
		  rc, reply.seq, reply.endpoint.id);

	/* the helper is gone */
	close(sv[1]);
	rc = helper_await_reply(sv[0], me, 10, 1000, &reply, on_skipped);
	CHECK(rc == -EPIPE, "helper gone: -EPIPE (rc %d)", rc);
	close(sv[0]);
}

/* A request from this process with its credentials, as the helper sees it. */
static int
sender_check(pid_t postmaster)
{
	int			sv[2],
				on = 1;
	HelperRequest req;
	pid_t		pid = 0;
	uid_t		uid = 0;
	bool		has_cred;
	ssize_t		n;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0 ||
		setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) != 0)
		abort();
	memset(&req, 0, sizeof(req));
	req.magic = HELPER_MAGIC;
	if (send(sv[0], &req, sizeof(req), 0) != sizeof(req))
		abort();
	n = helper_recv_request(sv[1], &req, &pid, &uid, &has_cred);
	close(sv[0]);
	close(sv[1]);
	if (n != sizeof(req) || !has_cred || pid != getpid() || uid != getuid())
		return -1000;
	return helper_sender_allowed(pid, uid, postmaster, getuid());
}

static void
test_senders(void)
{
	int			rc;

	CHECK(sender_check(getpid()) == 0, "the postmaster itself may ping");
	/* a forked child plays the supervisor: its parent is "the postmaster" */
	{
		pid_t		child = fork();
		int			status;

		if (child == 0)
		{
			int			bad = 0;

			/*
			 * as root every non-dumpable process's /proc entry has our
			 * owner: be another user, as PostgreSQL always is (a uid change
			 * makes a process not dumpable: dumpable again)
			 */
			if (getuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
				_exit(255);
			prctl(PR_SET_DUMPABLE, 1);
			if (sender_check(getppid()) != -EPERM)
				bad |= 1;		/* dumpable child of the postmaster */
			prctl(PR_SET_DUMPABLE, 0);
			if (sender_check(getppid()) != 0)
				bad |= 2;		/* not dumpable: the supervisor */
			if (sender_check(getppid() + 100000) != -EPERM)
				bad |= 4;		/* child of another process */
			if (helper_sender_allowed(getpid(), getuid() + 1, getppid(), getuid()) != -EPERM)
				bad |= 8;		/* another user */
			_exit(bad);
		}
		waitpid(child, &status, 0);
		rc = WIFEXITED(status) ? WEXITSTATUS(status) : 255;
		CHECK(!(rc & 1), "a dumpable child of the postmaster is refused");
		CHECK(!(rc & 2), "a child of the postmaster that is not dumpable (the supervisor) may send");
		CHECK(!(rc & 4), "a child of another process is refused");
		CHECK(!(rc & 8), "another user is refused");
	}
}

int
main(void)
{
	test_stale_reply();
	test_senders();
	if (failures)
	{
		printf("helper_protocol_test: %d failure(s)\n", failures);
		return 1;
	}
	printf("helper_protocol_test: all passed\n");
	return 0;
}
