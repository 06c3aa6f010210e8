/*-------------------------------------------------------------------------
 *
 * helper_protocol.c
 *	  The endpoint helper's request and reply, who may send a request, and
 *	  waiting for the reply to one request.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE				/* struct ucred */
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "helper_protocol.h"

int
helper_await_reply(int fd, int32_t caller, uint32_t seq, int timeout_ms,
				   HelperReply *reply, HelperSkippedReply skipped)
{
	struct timespec start,
				now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;)
	{
		struct pollfd pfd = {fd, POLLIN, 0};
		HelperReply got;
		long		waited;
		int			rc;

		clock_gettime(CLOCK_MONOTONIC, &now);
		waited = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		rc = poll(&pfd, 1, timeout_ms - waited);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			return rc == 0 ? -ETIMEDOUT : -errno;
		/* into a local buffer: a late reply must not become the caller's */
		if (recv(fd, &got, sizeof(got), MSG_DONTWAIT) != sizeof(got))
			return -EPIPE;
		if (got.caller == caller && got.seq == seq)
		{
			*reply = got;
			return 0;
		}
		if (skipped)
			skipped(&got);
	}
}

ssize_t
helper_recv_request(int fd, HelperRequest *req, pid_t *pid, uid_t *uid, bool *has_cred)
{
	union
	{
		char		buf[CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	}			control;
	struct iovec iov = {req, sizeof(*req)};
	struct msghdr msg;
	ssize_t		n;

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control.buf;
	msg.msg_controllen = sizeof(control.buf);
	*has_cred = false;
	n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
	{
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
			c->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
		{
			struct ucred cred;

			memcpy(&cred, CMSG_DATA(c), sizeof(cred));
			*pid = cred.pid;
			*uid = cred.uid;
			*has_cred = true;
		}
	}
	return n;
}

/* The parent of pid from /proc/pid/stat, or -1. */
static pid_t
parent_of(pid_t pid)
{
	char		path[64],
				buf[512];
	const char *end;
	int			fd;
	ssize_t		n;
	int			ppid;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* "pid (comm) state ppid ...": comm may hold anything, even ") " */
	end = strrchr(buf, ')');
	if (end == NULL || sscanf(end + 1, " %*c %d", &ppid) != 1)
		return -1;
	return ppid;
}

int
helper_sender_allowed(pid_t pid, uid_t uid, pid_t postmaster, uid_t own_uid)
{
	char		path[64],
				self[32];
	struct stat st;
	ssize_t		n;

	if (uid != own_uid || pid <= 0)
		return -EPERM;
	/* the credentials' pid is in our PID namespace: is /proc too? */
	n = readlink("/proc/self", self, sizeof(self) - 1);
	if (n <= 0)
		return -EPERM;
	self[n] = '\0';
	if (atoi(self) != (int) getpid())
		return 0;				/* /proc of another namespace: user only */
	if (pid == postmaster)
		return 0;
	if (parent_of(pid) != postmaster)
		return -EPERM;
	/*
	 * A process that is not dumpable has the files of its /proc directory
	 * (not the directory itself) owned by root.
	 */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	if (stat(path, &st) != 0 || st.st_uid == own_uid)
		return -EPERM;
	return 0;
}
