/*-------------------------------------------------------------------------
 *
 * walrcv_wrapper.c
 *	  Route every replication connection through walmptcp.
 *
 * The walreceiver, logical replication workers and CREATE/ALTER/DROP
 * SUBSCRIPTION all connect through the function table that libpqwalreceiver
 * installs in WalReceiverFunctions.  walmptcp loads that library itself at
 * preload time and replaces the connection-string entry points in place, so
 * every later load_file("libpqwalreceiver") is a no-op that finds the
 * wrapped table.  Replacing members rather than copying the struct keeps
 * walmptcp independent of the struct's size in a given minor release.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "fmgr.h"
#include "replication/walreceiver.h"

#include "compat.h"
#include "conninfo_mptcp.h"
#include "mptcp_socket.h"
#include "net_admin.h"
#include "owner_view.h"
#include "registry.h"
#include "tcp_option_deferral.h"
#include "walmptcp.h"
#include "walrcv_wrapper.h"


static walrcv_connect_fn original_connect;
static walrcv_disconnect_fn original_disconnect;
static walrcv_check_conninfo_fn original_check_conninfo;
#ifdef WALMPTCP_HAVE_GET_DBNAME_FROM_CONNINFO
static walrcv_get_dbname_from_conninfo_fn original_get_dbname_from_conninfo;
#endif

/* "server "10.0.0.1" port 5432" or "server socket "/path"", for messages. */
static char *
describe_peer(int fd)
{
	struct sockaddr_storage addr;
	socklen_t	len = sizeof(addr);
	char		host[INET6_ADDRSTRLEN] = "?";
	int			port = 0;

	if (fd >= 0 && getpeername(fd, (struct sockaddr *) &addr, &len) == 0)
	{
		if (addr.ss_family == AF_INET)
		{
			struct sockaddr_in *in = (struct sockaddr_in *) &addr;

			inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
			port = ntohs(in->sin_port);
		}
		else if (addr.ss_family == AF_INET6)
		{
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &addr;

			inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
			port = ntohs(in6->sin6_port);
		}
		else if (addr.ss_family == AF_UNIX)
		{
			struct sockaddr_un *un = (struct sockaddr_un *) &addr;

			return psprintf("server socket \"%.*s\"",
							(int) (len - offsetof(struct sockaddr_un, sun_path)),
							un->sun_path);
		}
	}
	return psprintf("server \"%s\" port %d", host, port);
}

/*
 * The socket of each open connection of this process, to unregister it at
 * disconnect.  A process holds one replication connection at a time in
 * practice; the table is only a guard against surprises.
 */
#define MAX_OPEN_CONNS 8
static struct
{
	WalReceiverConn *conn;
	int			fd;
}			open_conns[MAX_OPEN_CONNS];

static void
remember_connection(WalReceiverConn *conn, int fd, const WalmptcpConninfo *ci,
					WalmptcpOutcome outcome, const char *reason,
					const char *appname)
{
	for (int i = 0; i < MAX_OPEN_CONNS; i++)
	{
		if (open_conns[i].conn == NULL)
		{
			open_conns[i].conn = conn;
			open_conns[i].fd = fd;
			walmptcp_registry_add(walmptcp_current_role(), fd, true, ci->mode,
								  outcome, reason,
								  ci->application_name ? ci->application_name : appname);
			if (outcome == WALMPTCP_OUTCOME_MPTCP)
				walmptcp_owner_view_start(fd);
			return;
		}
	}
}

static void
wrapped_disconnect(WalReceiverConn *conn)
{
	for (int i = 0; i < MAX_OPEN_CONNS; i++)
	{
		if (open_conns[i].conn == conn)
		{
			walmptcp_owner_view_stop(open_conns[i].fd);
			walmptcp_registry_remove_fd(open_conns[i].fd);
			open_conns[i].conn = NULL;
		}
	}
	original_disconnect(conn);
}

static const char *
mode_source(const WalmptcpConninfo *ci)
{
	return ci->specified ? "connection option mptcp" : "walmptcp.default_mode";
}

/*
 * A connection over a Unix-domain socket (host=/path) has no paths to
 * spread over.  It is not registered: the SQL functions show network
 * connections only.
 */
static WalReceiverConn *
unix_socket_connection(WalReceiverConn *conn, int fd,
					   const WalmptcpConninfo *ci, const char *reason,
					   char **err)
{
	if (ci->mode == WALMPTCP_MODE_REQUIRE)
	{
		char	   *peer = describe_peer(fd);

		original_disconnect(conn);
		*err = psprintf("walmptcp: Multipath TCP is required (%s = require) but the connection to %s is not TCP: %s",
						mode_source(ci), peer, reason);
		return NULL;
	}
	if (ci->mode == WALMPTCP_MODE_PREFER)
		ereport(LOG,
				(errmsg("walmptcp: replication connection to %s does not use Multipath TCP",
						describe_peer(fd)),
				 errdetail("%s.", reason),
				 errhint("Give a host name or address in the connection string to replicate over the network.")));
	return conn;
}

static WalReceiverConn *
wrapped_connect(WALRCV_CONNECT_PARAMS)
{
	WalmptcpConninfo ci;
	WalReceiverConn *volatile conn = NULL;
	volatile int fd = -1;
	WalmptcpOutcome outcome;
	char	   *reason;

	/* only the supervisor talks to the endpoint helper */
	walmptcp_helper_close();

	walmptcp_parse_conninfo(conninfo, &ci);
	if (ci.error)
	{
		*err = walmptcp_conninfo_error_message(&ci);
		return NULL;
	}

	walmptcp_begin_client_connect(ci.mode != WALMPTCP_MODE_OFF);
	PG_TRY();
	{
		conn = original_connect(WALRCV_CONNECT_ARGS(ci.conninfo));
	}
	PG_FINALLY();
	{
		fd = walmptcp_end_client_connect();
	}
	PG_END_TRY();

	if (conn == NULL)
		return NULL;

	outcome = walmptcp_socket_outcome(fd, &reason);
	if (outcome == WALMPTCP_OUTCOME_UNIX_SOCKET)
		return unix_socket_connection(conn, fd, &ci, reason, err);
	walmptcp_apply_deferred_options(fd, outcome);
	if (ci.mode == WALMPTCP_MODE_OFF || outcome == WALMPTCP_OUTCOME_MPTCP)
	{
		if (outcome == WALMPTCP_OUTCOME_MPTCP)
			ereport(DEBUG1,
					(errmsg_internal("walmptcp: replication connection to %s uses MPTCP",
									 describe_peer(fd))));
		else
			reason = pstrdup("mptcp=off was asked for");
		remember_connection(conn, fd, &ci, outcome, reason, appname);
		return conn;
	}

	if (ci.mode == WALMPTCP_MODE_REQUIRE)
	{
		char	   *peer = describe_peer(fd);

		original_disconnect(conn);
		*err = psprintf("walmptcp: Multipath TCP is required (%s = require) but the connection to %s is plain TCP: %s",
						mode_source(&ci), peer, reason);
		return NULL;
	}

	ereport(LOG,
			(errmsg("walmptcp: replication connection to %s uses TCP instead of Multipath TCP",
					describe_peer(fd)),
			 errdetail("%s.", reason),
			 errhint("Use mptcp=require to refuse such connections, or mptcp=0 to ask for plain TCP.")));
	remember_connection(conn, fd, &ci, outcome, reason, appname);
	return conn;
}

static void
wrapped_check_conninfo(WALRCV_CHECK_CONNINFO_PARAMS)
{
	WalmptcpConninfo ci;

	walmptcp_parse_conninfo(conninfo, &ci);
	if (ci.error)
		walmptcp_report_conninfo_error(&ci);
	original_check_conninfo(WALRCV_CHECK_CONNINFO_ARGS(ci.conninfo));
}

#ifdef WALMPTCP_HAVE_GET_DBNAME_FROM_CONNINFO
static char *
wrapped_get_dbname_from_conninfo(const char *conninfo)
{
	WalmptcpConninfo ci;

	walmptcp_parse_conninfo(conninfo, &ci);
	if (ci.error)
		walmptcp_report_conninfo_error(&ci);
	return original_get_dbname_from_conninfo(ci.conninfo);
}
#endif

void
walmptcp_wrap_walreceiver(void)
{
	load_file("libpqwalreceiver", false);
	if (WalReceiverFunctions == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("walmptcp: libpqwalreceiver did not install its functions")));

	original_connect = WalReceiverFunctions->walrcv_connect;
	original_check_conninfo = WalReceiverFunctions->walrcv_check_conninfo;
	original_disconnect = WalReceiverFunctions->walrcv_disconnect;
	WalReceiverFunctions->walrcv_connect = wrapped_connect;
	WalReceiverFunctions->walrcv_disconnect = wrapped_disconnect;
	WalReceiverFunctions->walrcv_check_conninfo = wrapped_check_conninfo;
#ifdef WALMPTCP_HAVE_GET_DBNAME_FROM_CONNINFO
	original_get_dbname_from_conninfo = WalReceiverFunctions->walrcv_get_dbname_from_conninfo;
	WalReceiverFunctions->walrcv_get_dbname_from_conninfo = wrapped_get_dbname_from_conninfo;
#endif
}
