/*-------------------------------------------------------------------------
 *
 * walsender_registration.c
 *	  Walsenders record their connection in the registry once authenticated.
 *
 * ClientAuthentication_hook runs in every client backend, walsender or
 * not; for a walsender on a TCP socket it decides what the connection got
 * and registers it.  It is also where every client backend lets go of the
 * endpoint helper's socket (only the supervisor talks to the helper).
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "libpq/auth.h"
#include "libpq/libpq-be.h"
#include "mptcp_socket.h"
#include "net_admin.h"
#include "owner_view.h"
#include "registry.h"
#include "replication/walsender.h"
#include "storage/ipc.h"
#include "walmptcp.h"
#include "walsender_registration.h"


static ClientAuthentication_hook_type prev_client_auth_hook = NULL;

/*
 * The owner's view ends before shared-memory exit: socket_close() (an
 * on_proc_exit callback, after ProcKill) still sends the TLS close_notify
 * through the send interposer, and a snapshot then would take the
 * registry's LWLock without a PGPROC.
 */
static void
stop_owner_view(int code, Datum arg)
{
	walmptcp_owner_view_stop(DatumGetInt32(arg));
}

/*
 * Walsenders: once authenticated, record the connection.  A plain TCP
 * client of the MPTCP listener gets a plain TCP socket from the kernel.
 */
static void
after_authentication(Port *port, int status)
{
	if (prev_client_auth_hook)
		prev_client_auth_hook(port, status);

	/* only the supervisor talks to the endpoint helper */
	walmptcp_helper_close();

	if (status == STATUS_OK && am_walsender && port != NULL &&
		(port->laddr.addr.ss_family == AF_INET || port->laddr.addr.ss_family == AF_INET6))
	{
		char	   *reason;
		WalmptcpOutcome outcome = walmptcp_socket_outcome(port->sock, &reason);
		int			mptcp_listeners,
					tcp_listeners,
					listen_errno;

		walmptcp_listen_summary(&mptcp_listeners, &tcp_listeners, &listen_errno);
		if (outcome == WALMPTCP_OUTCOME_TCP && mptcp_listeners > 0)
			reason = pstrdup("the client did not ask for MPTCP");
		else if (outcome == WALMPTCP_OUTCOME_TCP)
			reason = pstrdup("this server listens with plain TCP");
		else if (outcome == WALMPTCP_OUTCOME_PEER_FALLBACK)
			reason = pstrdup("the connection fell back to TCP during the handshake");
		walmptcp_registry_add(WALMPTCP_ROLE_WALSENDER, port->sock, false,
							  WALMPTCP_MODE_OFF, outcome, reason,
							  port->application_name);
		if (outcome == WALMPTCP_OUTCOME_MPTCP)
		{
			walmptcp_owner_view_start(port->sock);
			before_shmem_exit(stop_owner_view, Int32GetDatum(port->sock));
		}
	}
}

void
walmptcp_install_walsender_registration(void)
{
	prev_client_auth_hook = ClientAuthentication_hook;
	ClientAuthentication_hook = after_authentication;
}
