/*-------------------------------------------------------------------------
 *
 * conn_state.c
 *	  Join the connection registry with what the kernel reports now.
 *
 * Join: registry inode -> MPTCP socket (idiag_inode) -> token -> subflows
 * (MPTCP_SUBFLOW_ATTR_TOKEN_LOC, which is the local token on both sides).
 * A plain TCP connection is its own single subflow (TCP inode), and so is an
 * MPTCP socket that fell back to TCP (matched by addresses and ports).
 * Used by the SQL functions and by the supervisor.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "conn_state.h"
#include "walmptcp.h"


static bool
same_endpoint(int family, const uint8 *addr, uint16 port,
			  const struct sockaddr_storage *ss)
{
	if (ss->ss_family != family)
		return false;
	if (family == AF_INET)
	{
		const struct sockaddr_in *in = (const struct sockaddr_in *) ss;

		return ntohs(in->sin_port) == port && memcmp(&in->sin_addr, addr, 4) == 0;
	}
	else
	{
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) ss;

		return ntohs(in6->sin6_port) == port && memcmp(&in6->sin6_addr, addr, 16) == 0;
	}
}

static bool
matches_entry_tuple(const DiagSocket *s, const WalmptcpConnEntry *e)
{
	return same_endpoint(s->family, s->local, s->local_port, &e->local) &&
		same_endpoint(s->family, s->remote, s->remote_port, &e->remote);
}

uint16
walmptcp_sockaddr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *) ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *) ss)->sin6_port);
	return 0;
}

static void
add_port(uint16 *ports, int *n, uint16 port)
{
	if (port == 0)
		return;
	for (int i = 0; i < *n; i++)
		if (ports[i] == port)
			return;
	ports[(*n)++] = port;
}

/* Registry snapshot (optionally one pid) joined with a sock_diag dump. */
Matched *
walmptcp_match_connections(int filter_pid, int *count)
{
	int			n_entries;
	WalmptcpConnEntry *entries = walmptcp_registry_snapshot(&n_entries);
	Matched    *out;
	uint16	   *local_ports,
			   *remote_ports;
	int			n_local = 0,
				n_remote = 0,
				n = 0;
	DiagSnapshot snap;

	*count = 0;
	if (n_entries == 0)
		return NULL;

	/* Only the sockets that can belong to our connections are dumped. */
	local_ports = palloc(n_entries * sizeof(uint16));
	remote_ports = palloc(n_entries * sizeof(uint16));
	for (int i = 0; i < n_entries; i++)
	{
		if (filter_pid != 0 && entries[i].pid != filter_pid)
			continue;
		if (entries[i].role == WALMPTCP_ROLE_WALSENDER)
			add_port(local_ports, &n_local, walmptcp_sockaddr_port(&entries[i].local));
		else
			add_port(remote_ports, &n_remote, walmptcp_sockaddr_port(&entries[i].remote));
	}
	if (n_local + n_remote == 0)
		return NULL;
	walmptcp_diag_collect(local_ports, n_local, remote_ports, n_remote, &snap);

	out = palloc0(n_entries * sizeof(Matched));
	for (int i = 0; i < n_entries; i++)
	{
		WalmptcpConnEntry *e = &entries[i];
		Matched    *m;
		bool		fallback;

		if (filter_pid != 0 && e->pid != filter_pid)
			continue;
		m = &out[n++];
		m->entry = e;
		m->subflows = palloc(Max(snap.n_tcp, 1) * sizeof(DiagSocket *));

		for (int j = 0; j < snap.n_mptcp && m->msk == NULL; j++)
			if (snap.mptcp[j].inode == e->inode)
				m->msk = &snap.mptcp[j];
		for (int j = 0; m->msk == NULL && j < snap.n_tcp && m->tcp == NULL; j++)
			if (snap.tcp[j].inode == e->inode)
				m->tcp = &snap.tcp[j];

		if (m->tcp)
		{
			m->subflows[m->n_subflows++] = m->tcp;
			continue;
		}
		if (m->msk == NULL)
			continue;			/* closing; the row shows the registry only */

		fallback = (m->msk->mptcp.flags & MPTCP_INFO_FLAG_FALLBACK_BIT) != 0;
		for (int j = 0; j < snap.n_tcp; j++)
		{
			DiagSocket *s = &snap.tcp[j];

			if (fallback || m->msk->mptcp.token == 0)
			{
				/* a fallen-back connection has one TCP socket, same tuple */
				if (s->local_port == m->msk->local_port &&
					s->remote_port == m->msk->remote_port &&
					memcmp(s->local, m->msk->local, 16) == 0 &&
					memcmp(s->remote, m->msk->remote, 16) == 0)
					m->subflows[m->n_subflows++] = s;
			}
			else if (s->has_subflow_info && s->token_loc == m->msk->mptcp.token)
				m->subflows[m->n_subflows++] = s;
			else if (s->is_subflow && !s->has_subflow_info &&
					 matches_entry_tuple(s, e))
				m->withheld = true;
		}
		if (!fallback && m->n_subflows == 0)
			m->withheld = true;
	}
	*count = n;
	return out;
}

