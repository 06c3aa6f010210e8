/*-------------------------------------------------------------------------
 *
 * tcp_option_deferral.c
 *	  TCP-level options libpq sets that a kernel refuses on MPTCP sockets.
 *
 * libpq treats a failed setsockopt() of TCP_NODELAY, the keepalive knobs
 * (keepalives_idle, keepalives_interval, keepalives_count) or
 * TCP_USER_TIMEOUT (tcp_user_timeout) as a failed connection.  Linux
 * refuses some of them on MPTCP sockets: TCP_USER_TIMEOUT on every kernel
 * so far (ENOPROTOOPT), TCP_NODELAY before 5.17, TCP_KEEPIDLE/KEEPINTVL/
 * KEEPCNT before their 6.6/6.10 backports, and some point releases answer
 * EOPNOTSUPP instead.  So, on an MPTCP socket and for these two errnos
 * only, the refusal is recorded and libpq told it worked; once the
 * connection's outcome is known, the options are applied for real if it
 * fell back to TCP (where they work) or named in one LOG line if it is
 * MPTCP.  Any other error, level or socket is passed through unchanged.
 * wal_receiver_timeout still detects a dead server without them.
 *
 * The server side has the same problem with the same options (TCP_NODELAY
 * on an accepted connection; tcp_keepalives_* and tcp_user_timeout
 * GUCs): PostgreSQL closes a connection whose TCP_NODELAY fails.  There the
 * refusal is accepted as well and named once per process that sets the
 * options (the postmaster up to PostgreSQL 16, each backend from 17 on); an
 * accepted connection that fell back to TCP takes these options like any
 * other.  The server also reads the keepalive options and TCP_USER_TIMEOUT
 * back with getsockopt() (pqcomm.c: the kernel's default before the first
 * set, and SHOW): a refusal there would log "getsockopt(...) failed" and
 * skip the set, so it is answered with the kernel's default instead.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/stringinfo.h"
#include "miscadmin.h"

#include "got_patch.h"
#include "kernel_uapi.h"
#include "mptcp_socket.h"
#include "tcp_option_deferral.h"
#include "walmptcp.h"

/* the setting behind each option, for the LOG lines */
typedef struct TcpOptionName
{
	int			optname;
	const char *parameter;		/* libpq connection parameter */
	const char *guc;			/* server setting */
} TcpOptionName;

static const TcpOptionName tcp_option_names[] = {
	{TCP_NODELAY, "TCP_NODELAY (set by libpq)", "TCP_NODELAY"},
	{TCP_KEEPIDLE, "keepalives_idle", "tcp_keepalives_idle"},
	{TCP_KEEPINTVL, "keepalives_interval", "tcp_keepalives_interval"},
	{TCP_KEEPCNT, "keepalives_count", "tcp_keepalives_count"},
	{TCP_USER_TIMEOUT, "tcp_user_timeout", "tcp_user_timeout"},
};

#define MAX_DEFERRED lengthof(tcp_option_names)

typedef struct DeferredOption
{
	int			optname;
	int			value;
	int			refusal;		/* the kernel's errno */
} DeferredOption;

/* refused options of one socket (libpq opens one at a time per process) */
static int	deferred_fd = -1;
static DeferredOption deferred[MAX_DEFERRED];
static int	ndeferred = 0;

static const char *
parameter_of(int optname)
{
	for (int i = 0; i < (int) lengthof(tcp_option_names); i++)
		if (tcp_option_names[i].optname == optname)
			return tcp_option_names[i].parameter;
	return NULL;
}

static bool
is_mptcp_socket(int fd)
{
	int			proto;
	socklen_t	len = sizeof(proto);

	return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == 0 &&
		proto == IPPROTO_MPTCP;
}

static void
remember(int fd, int optname, int value, int refusal)
{
	if (fd != deferred_fd)
	{
		deferred_fd = fd;
		ndeferred = 0;
	}
	for (int i = 0; i < ndeferred; i++)
		if (deferred[i].optname == optname)
		{
			deferred[i].value = value;
			return;
		}
	if (ndeferred < (int) MAX_DEFERRED)
		deferred[ndeferred++] = (DeferredOption) {optname, value, refusal};
}

/*
 * setsockopt(), and did it fail only because fd is MPTCP and the kernel
 * refuses the option there?  If not, *rc is what to return, errno as
 * setsockopt() left it; if so, *err is the kernel's errno.
 */
static bool
set_refused_on_mptcp(int fd, int level, int optname, const void *optval,
					 socklen_t optlen, int *rc, int *err)
{
	*rc = setsockopt(fd, level, optname, optval, optlen);
	*err = errno;
	if (*rc != 0 && (*err == ENOPROTOOPT || *err == EOPNOTSUPP) &&
		level == IPPROTO_TCP && optlen == sizeof(int) &&
		parameter_of(optname) != NULL && is_mptcp_socket(fd))
		return true;
	errno = *err;
	return false;
}

static int
libpq_setsockopt_interposer(int fd, int level, int optname,
							const void *optval, socklen_t optlen)
{
	int			rc,
				err;

	if (!set_refused_on_mptcp(fd, level, optname, optval, optlen, &rc, &err))
		return rc;
	remember(fd, optname, *(const int *) optval, err);
	return 0;
}

/*
 * The options this server process was refused (a bit per table entry).
 * The pid keeps a child from inheriting the postmaster's bits through
 * fork(): each process that sets the options says so once.
 */
static uint32 server_refusals_logged = 0;
static pid_t server_refusals_pid = 0;

static int
server_setsockopt_interposer(int fd, int level, int optname,
							 const void *optval, socklen_t optlen)
{
	int			rc,
				err;

	if (!set_refused_on_mptcp(fd, level, optname, optval, optlen, &rc, &err))
		return rc;
	if (server_refusals_pid != getpid())
	{
		server_refusals_pid = getpid();
		server_refusals_logged = 0;
	}
	for (int i = 0; i < (int) lengthof(tcp_option_names); i++)
	{
		if (tcp_option_names[i].optname != optname ||
			(server_refusals_logged & (1U << i)))
			continue;
		server_refusals_logged |= 1U << i;
		ereport(LOG,
				(errmsg("walmptcp: MPTCP connections of this server process run without %s (%s)",
						tcp_option_names[i].guc,
						err == EOPNOTSUPP ? "EOPNOTSUPP" : "ENOPROTOOPT"),
				 errdetail("This kernel refuses the option on MPTCP sockets; connections that fall back to TCP get it.")));
	}
	return 0;
}

/*
 * What a new TCP socket of this network namespace gets for optname: what
 * the server would have read on a kernel that accepts the option.
 */
static int
kernel_default(int optname)
{
	int			fd = socket(AF_INET, SOCK_STREAM, 0);
	int			value = 0;
	socklen_t	len = sizeof(value);

	if (fd >= 0)
	{
		int			rc = getsockopt(fd, IPPROTO_TCP, optname, &value, &len);

		close(fd);
		if (rc == 0 && len == sizeof(value))
			return value;
	}
	/* Linux's compiled-in defaults (net.ipv4.tcp_keepalive_*) */
	switch (optname)
	{
		case TCP_KEEPIDLE:
			return 7200;
		case TCP_KEEPINTVL:
			return 75;
		case TCP_KEEPCNT:
			return 9;
		default:
			return 0;			/* TCP_USER_TIMEOUT: none */
	}
}

static int
server_getsockopt_interposer(int fd, int level, int optname,
							 void *optval, socklen_t *optlen)
{
	int			rc = getsockopt(fd, level, optname, optval, optlen);
	int			err = errno;

	if (rc != 0 && (err == ENOPROTOOPT || err == EOPNOTSUPP) &&
		level == IPPROTO_TCP && optname != TCP_NODELAY &&
		parameter_of(optname) != NULL && optval != NULL && optlen != NULL &&
		*optlen >= (socklen_t) sizeof(int) && is_mptcp_socket(fd))
	{
		*(int *) optval = kernel_default(optname);
		*optlen = sizeof(int);
		return 0;
	}
	errno = err;
	return rc;
}

void
walmptcp_install_tcp_option_interposer(void)
{
	(void) walmptcp_patch_got("libpq.so", "setsockopt",
							  (void *) libpq_setsockopt_interposer);
	/* the server's own sockets: only while it listens with MPTCP */
	if (!IsUnderPostmaster && walmptcp_listen)
	{
		(void) walmptcp_patch_got(NULL, "setsockopt",
								  (void *) server_setsockopt_interposer);
		(void) walmptcp_patch_got(NULL, "getsockopt",
								  (void *) server_getsockopt_interposer);
	}
}

void
walmptcp_forget_deferred_options(void)
{
	deferred_fd = -1;
	ndeferred = 0;
}

/*
 * The connection on fd is established: apply what MPTCP refused if it is
 * TCP now, else say once which options this connection runs without.
 */
void
walmptcp_apply_deferred_options(int fd, WalmptcpOutcome outcome)
{
	StringInfoData names;

	if (fd < 0 || fd != deferred_fd || ndeferred == 0)
		return;
	initStringInfo(&names);
	for (int i = 0; i < ndeferred; i++)
	{
		const DeferredOption *o = &deferred[i];

		if (outcome == WALMPTCP_OUTCOME_MPTCP)
		{
			appendStringInfo(&names, "%s%s", names.len ? ", " : "", parameter_of(o->optname));
			if (o->optname != TCP_NODELAY)
				appendStringInfo(&names, "=%d", o->value);
			appendStringInfo(&names, " (%s)", o->refusal == EOPNOTSUPP ? "EOPNOTSUPP" : "ENOPROTOOPT");
		}
		else if (setsockopt(fd, IPPROTO_TCP, o->optname, &o->value, sizeof(o->value)) != 0)
			ereport(LOG,
					(errmsg("walmptcp: could not set %s on the TCP fallback connection: %m",
							parameter_of(o->optname))));
	}
	if (names.len > 0)
		ereport(LOG,
				(errmsg("walmptcp: this MPTCP connection runs without %s", names.data),
				 errdetail("This kernel refuses these TCP options on MPTCP sockets; they are applied only if a connection falls back to TCP."),
				 errhint("wal_receiver_timeout still detects an unresponsive server.")));
	pfree(names.data);
	walmptcp_forget_deferred_options();
}
