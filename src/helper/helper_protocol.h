/*-------------------------------------------------------------------------
 *
 * helper_protocol.h
 *	  The endpoint helper's request and reply, who may send a request, and
 *	  waiting for the reply to one request.
 *
 * Plain C without palloc or ereport: the helper process uses it, and the
 * unit test (test/unit/helper_protocol_test.c) runs it alone.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_HELPER_PROTOCOL_H
#define WALMPTCP_HELPER_PROTOCOL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "endpoint_pm.h"

#define HELPER_MAGIC 0x574d5055		/* "WMPU": requests carry an endpoint */

#define HELPER_OP_PING 1
#define HELPER_OP_READD 2

/*
 * Every request carries the caller's pid and a sequence number, echoed in
 * the reply: a reply left queued by a caller that gave up waiting (or was
 * killed mid-call; its successor inherits the socket) is recognised and
 * skipped instead of being taken for the answer to a later request.  A
 * re-add names the whole endpoint the supervisor judged (id, address, port,
 * flags, device), not only its id: ids can be renumbered between the
 * supervisor's look and the helper's act, and the helper then refuses.
 */
typedef struct HelperRequest
{
	uint32_t	magic;
	int32_t		caller;			/* pid */
	uint32_t	seq;
	uint8_t		op;				/* HELPER_OP_* */
	WalmptcpEndpoint endpoint;	/* HELPER_OP_READD: as the supervisor saw it */
} HelperRequest;

typedef struct HelperReply
{
	int32_t		caller;			/* as in the request */
	uint32_t	seq;
	int32_t		result;			/* 0 or -errno */
	int32_t		pid;
	int32_t		fate;			/* WalmptcpReaddFate */
	WalmptcpEndpoint endpoint;	/* what was re-added (-ESTALE: what is there now) */
} HelperReply;

/* called for each late reply to an earlier request that is skipped */
typedef void (*HelperSkippedReply) (const HelperReply *late);

/*
 * Wait at most timeout_ms for the reply to (caller, seq) on fd.  0: it
 * came, copied to *reply; else -errno (-ETIMEDOUT, -EPIPE), *reply
 * untouched.  Replies to other requests are skipped (skipped() sees each).
 */
extern int	helper_await_reply(int fd, int32_t caller, uint32_t seq, int timeout_ms,
							   HelperReply *reply, HelperSkippedReply skipped);

/*
 * Receive one request with its sender's SCM_CREDENTIALS (SO_PASSCRED must be
 * set on fd): bytes received, 0 at end of file, or -errno.  *has_cred says
 * whether the kernel attached credentials.
 */
extern ssize_t helper_recv_request(int fd, HelperRequest *req, pid_t *pid,
								   uid_t *uid, bool *has_cred);

/*
 * May the process pid, user uid, send requests?  Only the postmaster
 * (pid == postmaster) or one of its direct children that is not dumpable
 * (the supervisor: every other child makes itself dumpable again after
 * fork), of the helper's own user.  0 or -EPERM.  When procfs belongs to
 * another PID namespace than ours (its "self" is not our pid), the parent
 * and dumpability cannot be read and only the user is checked.
 */
extern int	helper_sender_allowed(pid_t pid, uid_t uid, pid_t postmaster, uid_t own_uid);

#endif							/* WALMPTCP_HELPER_PROTOCOL_H */
