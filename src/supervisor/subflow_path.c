/*-------------------------------------------------------------------------
 *
 * subflow_path.c
 *	  Subflow paths and sets of them (see subflow_path.h).
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>

#include "inet_addr.h"
#include "subflow_path.h"

/* Add an established subflow's path; client: the server's port is remote. */
static void
add_established(PathSet *out, int family, int state, const uint8 *local,
				const uint8 *remote, uint16 local_port, uint16 remote_port,
				bool client)
{
	SubflowPath p;

	if (state != WALMPTCP_TCP_ESTABLISHED)
		return;					/* joins in progress, closing subflows */
	memset(&p, 0, sizeof(p));
	p.family = family;
	memcpy(p.local, local, inet_addr_len(family));
	memcpy(p.remote, remote, inet_addr_len(family));
	p.server_port = client ? remote_port : local_port;
	pathset_add(out, &p);
}

void
pathset_of_connection(const Matched *m, bool client, PathSet *out)
{
	out->n = 0;
	for (int i = 0; i < m->n_subflows; i++)
	{
		const DiagSocket *s = m->subflows[i];

		add_established(out, s->family, s->state, s->local, s->remote,
						s->local_port, s->remote_port, client);
	}
}

void
pathset_of_owner_view(const WalmptcpOwnerView *view, bool client, PathSet *out)
{
	out->n = 0;
	for (int i = 0; i < view->n; i++)
	{
		const WalmptcpOwnerSubflow *s = &view->subflows[i];

		add_established(out, s->family, s->state, s->local, s->remote,
						s->local_port, s->remote_port, client);
	}
}

bool
path_equal(const SubflowPath *a, const SubflowPath *b)
{
	return a->family == b->family && a->server_port == b->server_port &&
		inet_addr_equal(a->family, a->local, b->local) &&
		inet_addr_equal(a->family, a->remote, b->remote);
}

bool
pathset_contains(const PathSet *set, const SubflowPath *p)
{
	for (int i = 0; i < set->n; i++)
	{
		if (path_equal(&set->paths[i], p))
			return true;
	}
	return false;
}

/* Add p unless present; a full set stays as it is (more than any kernel allows). */
void
pathset_add(PathSet *set, const SubflowPath *p)
{
	if (set->n < WALMPTCP_MAX_PATHS && !pathset_contains(set, p))
		set->paths[set->n++] = *p;
}

void
pathset_union(PathSet *set, const PathSet *more)
{
	for (int i = 0; i < more->n; i++)
		pathset_add(set, &more->paths[i]);
}

/* out = a - b */
void
pathset_difference(const PathSet *a, const PathSet *b, PathSet *out)
{
	out->n = 0;
	for (int i = 0; i < a->n; i++)
	{
		if (!pathset_contains(b, &a->paths[i]))
			out->paths[out->n++] = a->paths[i];
	}
}

void
pathset_remove(PathSet *set, const SubflowPath *p)
{
	for (int i = 0; i < set->n; i++)
	{
		if (path_equal(&set->paths[i], p))
		{
			set->paths[i] = set->paths[--set->n];
			return;
		}
	}
}

void
path_format(const SubflowPath *p, char *buf, size_t len)
{
	char		l[INET6_ADDRSTRLEN] = "?",
				r[INET6_ADDRSTRLEN] = "?";

	inet_ntop(p->family, p->local, l, sizeof(l));
	inet_ntop(p->family, p->remote, r, sizeof(r));
	snprintf(buf, len, p->family == AF_INET6 ? "%s>[%s]:%u" : "%s>%s:%u",
			 l, r, p->server_port);
}

void
pathset_format(const PathSet *set, char *buf, size_t len)
{
	size_t		used = 0;

	buf[0] = '\0';
	for (int i = 0; i < set->n && used + 1 < len; i++)
	{
		char		one[128];

		path_format(&set->paths[i], one, sizeof(one));
		snprintf(buf + used, len - used, "%s%s", i ? ", " : "", one);
		used = strlen(buf);
	}
}
