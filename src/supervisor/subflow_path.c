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

/* client: the server's port is remote */
void
pathset_of_connection(const Matched *m, bool client, PathSet *out)
{
	out->n = 0;
	for (int i = 0; i < m->n_subflows; i++)
	{
		const WalmptcpSubflow *s = m->subflows[i];
		SubflowPath p;

		if (s->state != WALMPTCP_TCP_ESTABLISHED)
			continue;			/* joins in progress, closing subflows */
		memset(&p, 0, sizeof(p));
		p.family = s->family;
		memcpy(p.local, s->local, inet_addr_len(s->family));
		memcpy(p.remote, s->remote, inet_addr_len(s->family));
		p.server_port = client ? s->remote_port : s->local_port;
		pathset_add(out, &p);
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
