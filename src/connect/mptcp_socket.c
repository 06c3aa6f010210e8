/*-------------------------------------------------------------------------
 *
 * mptcp_socket.c
 *	  Decide which sockets become MPTCP, create them, and find out what a
 *	  connection really got.
 *
 * Two interposers are installed through GOT rewrites (got_patch.c):
 *
 * - In the postmaster's executable, socket() for AF_INET/AF_INET6 stream
 *	 sockets asks for IPPROTO_MPTCP while walmptcp.listen is on.  Only the
 *	 postmaster itself is affected: children inherit the rewritten slot but the
 *	 interposer passes their calls (ident, RADIUS, ...) through untouched.
 *
 * - In libpq, socket() asks for IPPROTO_MPTCP only inside the window opened by
 *	 walmptcp_begin_client_connect(), i.e. while walrcv_connect runs for a
 *	 connection that asked for MPTCP.  Cancel requests, dblink and postgres_fdw
 *	 use the same libpq but never inside that window.
 *
 * When the kernel refuses MPTCP (not built: EPROTONOSUPPORT/EINVAL; disabled
 * by net.mptcp.enabled=0: ENOPROTOOPT) the socket is created as plain TCP and
 * the refusal is remembered for the life of the process, as Go's net package
 * does, per address family: a kernel built without MPTCP for IPv6
 * (CONFIG_MPTCP_IPV6=n) still gives IPv4 sockets MPTCP.  Replication processes are short-lived per connection, so a kernel
 * that gains MPTCP is noticed at the next reconnect.
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
#include <linux/mptcp.h>

#include "miscadmin.h"
#include "utils/guc.h"

#include "got_patch.h"
#include "kernel_uapi.h"
#include "mptcp_socket.h"
#include "tcp_option_deferral.h"
#include "walmptcp.h"

/*
 * This process's answer to "does this kernel give us MPTCP sockets?".  The
 * pid guards against inheriting the postmaster's answer through fork(): a
 * server started while MPTCP was off must not stop its later walreceivers
 * from trying again.
 */
typedef struct FamilyRefusal
{
	int			err;
	pid_t		pid;
} FamilyRefusal;

/* walmptcp.listen */
bool		walmptcp_listen = true;

void
walmptcp_socket_define_settings(void)
{
	DefineCustomBoolVariable("walmptcp.listen",
							 "Makes the server's TCP listen sockets Multipath TCP.",
							 "Clients without MPTCP still connect with plain TCP.",
							 &walmptcp_listen,
							 true,
							 PGC_POSTMASTER,
							 0,
							 NULL, NULL, NULL);
}

static FamilyRefusal kernel_refusal[2];	/* AF_INET, AF_INET6 */

static FamilyRefusal *
refusal_of(int domain)
{
	return &kernel_refusal[domain == AF_INET6 ? 1 : 0];
}

/* Postmaster listen sockets, inherited by every child through fork(). */
static int	listen_mptcp_sockets = 0;
static int	listen_tcp_sockets = 0;
static int	listen_refusal_errno = 0;

/* The client connect window (walrcv_connect of an MPTCP connection). */
static bool client_window_open = false;
static bool client_wants_mptcp = false;
static int	client_last_fd = -1;

static bool
is_inet_stream(int domain, int type, int protocol)
{
	return (domain == AF_INET || domain == AF_INET6) &&
		(type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) == SOCK_STREAM &&
		(protocol == 0 || protocol == IPPROTO_TCP);
}

static bool
is_kernel_refusal(int err)
{
	return err == EPROTONOSUPPORT || err == EINVAL || err == ENOPROTOOPT;
}

/*
 * Create an MPTCP socket, or a TCP one when the kernel refuses MPTCP.
 * *refused is set to the kernel's errno when it refused, else 0.
 */
static int
mptcp_socket_or_tcp(int domain, int type, int *refused)
{
	FamilyRefusal *r = refusal_of(domain);

	*refused = 0;
	if (walmptcp_kernel_refusal(domain) == 0)
	{
		int			fd = socket(domain, type, IPPROTO_MPTCP);

		if (fd >= 0 || !is_kernel_refusal(errno))
			return fd;			/* MPTCP, or an error TCP would hit too */
		r->err = errno;
		r->pid = getpid();
	}
	*refused = r->err;
	return socket(domain, type, 0);
}

static int
listen_socket_interposer(int domain, int type, int protocol)
{
	int			fd;
	int			refused;

	if (IsUnderPostmaster || !walmptcp_listen ||
		!is_inet_stream(domain, type, protocol))
		return socket(domain, type, protocol);

	fd = mptcp_socket_or_tcp(domain, type, &refused);
	if (fd < 0)
		return fd;

	if (refused == 0)
	{
		if (listen_mptcp_sockets++ == 0)
			ereport(LOG,
					(errmsg("walmptcp: the server listens with Multipath TCP")));
	}
	else
	{
		int			save_errno = errno;

		if (listen_tcp_sockets == 0)
		{
			errno = refused;
			ereport(LOG,
					(errmsg("walmptcp: the kernel refused Multipath TCP, the server listens with plain TCP"),
					 errdetail("socket(IPPROTO_MPTCP) failed: %m."),
					 errhint("Enable MPTCP with \"sysctl net.mptcp.enabled=1\" (Linux 5.6 or later), or set walmptcp.listen = off.")));
		}
		listen_tcp_sockets++;
		listen_refusal_errno = refused;
		errno = save_errno;
	}
	return fd;
}

static int
libpq_socket_interposer(int domain, int type, int protocol)
{
	int			fd;
	int			refused;

	if (!client_window_open)
		return socket(domain, type, protocol);

	/*
	 * Remember Unix-domain sockets too: the connection may end up on one
	 * (host=/path, or a multi-host list), and the outcome must say so.
	 */
	if (!is_inet_stream(domain, type, protocol))
		fd = socket(domain, type, protocol);
	else if (client_wants_mptcp)
		fd = mptcp_socket_or_tcp(domain, type, &refused);
	else
		fd = socket(domain, type, protocol);
	if (fd >= 0)
		client_last_fd = fd;
	return fd;
}

void
walmptcp_install_listen_interposer(void)
{
	if (walmptcp_patch_got(NULL, "socket", (void *) listen_socket_interposer) <= 0)
		ereport(WARNING,
				(errmsg("walmptcp: could not interpose socket() in the postgres executable"),
				 errdetail("The server keeps listening with plain TCP.")));
}

void
walmptcp_install_libpq_interposer(void)
{
	int			sockets = walmptcp_patch_got("libpq.so", "socket",
											 (void *) libpq_socket_interposer);

	if (sockets <= 0)
		ereport(WARNING,
				(errmsg("walmptcp: could not interpose socket() in libpq"),
				 errdetail("Replication connections will use plain TCP.")));
}

void
walmptcp_begin_client_connect(bool want_mptcp)
{
	client_window_open = true;
	client_wants_mptcp = want_mptcp;
	client_last_fd = -1;
	walmptcp_forget_deferred_options();
}

/* Close the window; returns the last socket libpq created. */
int
walmptcp_end_client_connect(void)
{
	client_window_open = false;
	return client_last_fd;
}

/*
 * What did this connected socket get?  *reason is set (palloc'd) when the
 * result is not MPTCP although MPTCP was possible to ask for.
 */
WalmptcpOutcome
walmptcp_socket_outcome(int fd, char **reason)
{
	int			domain = 0;
	int			proto = 0;
	int			is_mptcp = 0;
	socklen_t	len = sizeof(domain);
	struct mptcp_info info;

	*reason = NULL;
	if (fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 &&
		domain == AF_UNIX)
	{
		*reason = pstrdup("the connection uses a Unix-domain socket, where Multipath TCP does not apply");
		return WALMPTCP_OUTCOME_UNIX_SOCKET;
	}
	len = sizeof(proto);
	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) != 0 ||
		proto != IPPROTO_MPTCP)
	{
		int			refusal = walmptcp_kernel_refusal(domain);

		/* no socket seen: either family's refusal explains it */
		if (fd < 0 && refusal == 0)
			refusal = walmptcp_kernel_refusal(AF_INET) ?
				walmptcp_kernel_refusal(AF_INET) : walmptcp_kernel_refusal(AF_INET6);
		if (client_wants_mptcp && refusal != 0)
		{
			*reason = psprintf("the local kernel refused MPTCP sockets: %s",
							   strerror(refusal));
			return WALMPTCP_OUTCOME_KERNEL_REFUSED;
		}
		if (fd < 0)
			*reason = pstrdup("walmptcp did not see libpq create the connection's socket");
		return WALMPTCP_OUTCOME_TCP;
	}

	/* Linux 6.10+ answers directly; 0 after a fallback to TCP. */
	len = sizeof(is_mptcp);
	if (getsockopt(fd, IPPROTO_TCP, TCP_IS_MPTCP, &is_mptcp, &len) == 0)
	{
		if (is_mptcp)
			return WALMPTCP_OUTCOME_MPTCP;
	}
	else
	{
		/*
		 * Older kernels: MPTCP_INFO fails after a fallback, with EOPNOTSUPP
		 * on IPv4 and ENOPROTOOPT on IPv6.
		 */
		len = sizeof(info);
		if (getsockopt(fd, SOL_MPTCP, MPTCP_INFO, &info, &len) == 0)
			return WALMPTCP_OUTCOME_MPTCP;
	}
	*reason = pstrdup("the server did not accept MPTCP (its handshake carried no MP_CAPABLE option): "
					  "it runs without walmptcp, with walmptcp.listen = off, "
					  "with MPTCP disabled in its kernel, or a middlebox removed the option");
	return WALMPTCP_OUTCOME_PEER_FALLBACK;
}

/* errno with which the kernel refused MPTCP for domain in this process, or 0. */
int
walmptcp_kernel_refusal(int domain)
{
	const FamilyRefusal *r = refusal_of(domain);

	return r->pid == getpid() ? r->err : 0;
}

/* Can this process create an MPTCP socket right now?  No caching. */
bool
walmptcp_probe_kernel(int *err)
{
	int			fd = socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP);

	if (fd < 0)
	{
		*err = errno;
		return false;
	}
	close(fd);
	*err = 0;
	return true;
}

void
walmptcp_listen_summary(int *mptcp_sockets, int *tcp_sockets, int *refusal_errno)
{
	*mptcp_sockets = listen_mptcp_sockets;
	*tcp_sockets = listen_tcp_sockets;
	*refusal_errno = listen_refusal_errno;
}
