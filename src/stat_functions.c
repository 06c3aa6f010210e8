/*-------------------------------------------------------------------------
 *
 * stat_functions.c
 *	  walmptcp_connections() and walmptcp_subflows(): the registry joined
 *	  with what the kernel says right now (conn_state.c); walmptcp_events():
 *	  the supervisor's events (events.c).  Roles without pg_read_all_stats
 *	  get addresses, byte counters and details as NULL.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/mptcp.h>

#include "catalog/pg_authid.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inet.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "compat.h"
#include "conn_state.h"
#include "events.h"
#include "owner_view.h"
#include "registry.h"
#include "walmptcp.h"

PG_FUNCTION_INFO_V1(walmptcp_connections);
PG_FUNCTION_INFO_V1(walmptcp_subflows);
PG_FUNCTION_INFO_V1(walmptcp_events);

#define NUM_CONNECTION_COLUMNS 21
#define NUM_SUBFLOW_COLUMNS 19

static const char *const tcp_state_names[] = {
	"unknown", "established", "syn-sent", "syn-recv", "fin-wait-1",
	"fin-wait-2", "time-wait", "close", "close-wait", "last-ack", "listen",
	"closing", "new-syn-recv", "bound-inactive"
};

static Datum
inet_datum(int family, const void *addr)
{
	char		buf[INET6_ADDRSTRLEN];

	if (inet_ntop(family, addr, buf, sizeof(buf)) == NULL)
		return (Datum) 0;
	return DirectFunctionCall1(inet_in, CStringGetDatum(buf));
}

static Datum
sockaddr_inet_datum(const struct sockaddr_storage *ss, bool *isnull)
{
	*isnull = false;
	if (ss->ss_family == AF_INET)
		return inet_datum(AF_INET, &((const struct sockaddr_in *) ss)->sin_addr);
	if (ss->ss_family == AF_INET6)
		return inet_datum(AF_INET6, &((const struct sockaddr_in6 *) ss)->sin6_addr);
	*isnull = true;
	return (Datum) 0;
}

static int
pid_argument(FunctionCallInfo fcinfo)
{
	int			pid;

	if (PG_ARGISNULL(0))
		return 0;
	pid = PG_GETARG_INT32(0);
	if (pid <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid process ID: %d", pid),
				 errhint("Pass the pid of a replication process, or NULL for all of them.")));
	return pid;
}

static bool
may_see_details(void)
{
	return has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
}

/* Common start of both functions: checks, arguments, the join. */
static Matched *
begin_scan(FunctionCallInfo fcinfo, bool *details, int *n)
{
	int			filter_pid;

	walmptcp_require_preload();
	filter_pid = pid_argument(fcinfo);
	*details = may_see_details();
	InitMaterializedSRF(fcinfo, 0);
	return walmptcp_match_connections(filter_pid, n);
}

Datum
walmptcp_connections(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		details;
	int			n;
	Matched    *matched = begin_scan(fcinfo, &details, &n);

	for (int i = 0; i < n; i++)
	{
		Matched    *m = &matched[i];
		WalmptcpConnEntry *e = m->entry;
		DiagSocket *k = m->msk ? m->msk : m->tcp;
		Datum		values[NUM_CONNECTION_COLUMNS];
		bool		nulls[NUM_CONNECTION_COLUMNS];
		bool		is_mptcp = false;
		int			c = 0;

		memset(nulls, true, sizeof(nulls));
		values[c] = Int32GetDatum(e->pid);
		nulls[c++] = false;
		values[c] = CStringGetTextDatum(walmptcp_role_name(e->role));
		nulls[c++] = false;
		/*
		 * Like pg_stat_wal_receiver and pg_stat_replication, a role without
		 * pg_read_all_stats does not learn who the peer is, when it came or
		 * what was asked for: pid, role, mptcp and the subflow count only.
		 */
		if (details && e->appname[0])
		{
			values[c] = CStringGetTextDatum(e->appname);
			nulls[c] = false;
		}
		c++;
		/* addresses: the kernel's view, else what was recorded */
		if (details)
		{
			if (k)
			{
				values[c] = inet_datum(k->family, k->local);
				nulls[c] = false;
				values[c + 1] = Int32GetDatum(k->local_port);
				nulls[c + 1] = false;
				values[c + 2] = inet_datum(k->family, k->remote);
				nulls[c + 2] = false;
				values[c + 3] = Int32GetDatum(k->remote_port);
				nulls[c + 3] = false;
			}
			else
			{
				values[c] = sockaddr_inet_datum(&e->local, &nulls[c]);
				values[c + 1] = Int32GetDatum(walmptcp_sockaddr_port(&e->local));
				nulls[c + 1] = false;
				values[c + 2] = sockaddr_inet_datum(&e->remote, &nulls[c + 2]);
				values[c + 3] = Int32GetDatum(walmptcp_sockaddr_port(&e->remote));
				nulls[c + 3] = false;
			}
		}
		c += 4;
		if (details && e->mode_known)
		{
			values[c] = CStringGetTextDatum(walmptcp_mode_name(e->mode));
			nulls[c] = false;
		}
		c++;
		/* mptcp, fallback_reason */
		if (k)
		{
			is_mptcp = m->msk != NULL &&
				(m->msk->mptcp.flags & MPTCP_INFO_FLAG_FALLBACK_BIT) == 0;
			values[c] = BoolGetDatum(is_mptcp);
			nulls[c] = false;
		}
		c++;
		if (details && k && !is_mptcp)
		{
			values[c] = CStringGetTextDatum(e->reason[0] ? e->reason :
											"the connection fell back to TCP");
			nulls[c] = false;
		}
		c++;
		/* subflows, subflows_max, add_addr_signal, add_addr_accepted */
		if (m->msk && is_mptcp)
		{
			const WalmptcpMptcpInfo *mi = &m->msk->mptcp;
			int			len = m->msk->mptcp_len;

			values[c] = Int32GetDatum(WALMPTCP_INFO_HAS(len, subflows_total) ?
									  mi->subflows_total : mi->subflows + 1);
			nulls[c] = false;
			if (details)
			{
				values[c + 1] = Int32GetDatum(mi->subflows_max);
				values[c + 2] = Int32GetDatum(mi->add_addr_signal);
				values[c + 3] = Int32GetDatum(mi->add_addr_accepted);
				nulls[c + 1] = nulls[c + 2] = nulls[c + 3] = false;
			}
		}
		else if (k)
		{
			values[c] = Int32GetDatum(1);
			nulls[c] = false;
		}
		c += 4;
		/* bytes_sent, bytes_received, bytes_acked, bytes_retrans */
		if (details && m->msk && is_mptcp &&
			WALMPTCP_INFO_HAS(m->msk->mptcp_len, bytes_acked))
		{
			const WalmptcpMptcpInfo *mi = &m->msk->mptcp;

			values[c] = Int64GetDatum(mi->bytes_sent);
			values[c + 1] = Int64GetDatum(mi->bytes_received);
			values[c + 2] = Int64GetDatum(mi->bytes_acked);
			values[c + 3] = Int64GetDatum(mi->bytes_retrans);
			nulls[c] = nulls[c + 1] = nulls[c + 2] = nulls[c + 3] = false;
		}
		else if (details && m->n_subflows == 1 && !is_mptcp &&
				 WALMPTCP_TCPI_HAS(m->subflows[0]->tcpi_len, tcpi_bytes_retrans))
		{
			const struct tcp_info *t = &m->subflows[0]->tcpi;

			values[c] = Int64GetDatum(t->tcpi_bytes_sent);
			values[c + 1] = Int64GetDatum(t->tcpi_bytes_received);
			values[c + 2] = Int64GetDatum(t->tcpi_bytes_acked);
			values[c + 3] = Int64GetDatum(t->tcpi_bytes_retrans);
			nulls[c] = nulls[c + 1] = nulls[c + 2] = nulls[c + 3] = false;
		}
		c += 4;
		/* token, unpadded like ss -Mni prints it, so a DBA can grep for it */
		if (details && m->msk && is_mptcp)
		{
			values[c] = CStringGetTextDatum(psprintf("%x", m->msk->mptcp.token));
			nulls[c] = false;
		}
		c++;
		if (details)
		{
			values[c] = TimestampTzGetDatum((TimestampTz) e->connected_at);
			nulls[c] = false;
		}
		c++;
		/* kernel_detail */
		if (k == NULL)
		{
			values[c] = CStringGetTextDatum("the kernel has no socket for this connection (closing)");
			nulls[c] = false;
		}
		else if (m->withheld)
		{
			values[c] = CStringGetTextDatum(walmptcp_subflow_source == WALMPTCP_SUBFLOW_SOURCE_SOCK_DIAG ?
											"the kernel withholds subflow details from this process (older kernels show them to CAP_NET_ADMIN only)" :
											"the kernel withholds subflow details from this process and the owning process has not published its own view yet");
			nulls[c] = false;
		}
		else if (m->from_owner)
		{
			values[c] = CStringGetTextDatum(psprintf("subflows as the owning process read them %.1f s ago (MPTCP_SUBFLOW_ADDRS, MPTCP_TCPINFO)%s",
													 m->owner_age_ms / 1000.0,
													 walmptcp_subflow_source == WALMPTCP_SUBFLOW_SOURCE_OWNER ?
													 "" : "; the kernel withholds them from sock_diag"));
			nulls[c] = false;
		}
		c++;
		Assert(c == NUM_CONNECTION_COLUMNS);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

Datum
walmptcp_subflows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		details;
	int			n;
	Matched    *matched = begin_scan(fcinfo, &details, &n);

	for (int i = 0; i < n; i++)
	{
		Matched    *m = &matched[i];

		for (int j = 0; j < m->n_subflows; j++)
		{
			DiagSocket *s = m->subflows[j];
			const struct tcp_info *t = &s->tcpi;
			Datum		values[NUM_SUBFLOW_COLUMNS];
			bool		nulls[NUM_SUBFLOW_COLUMNS];
			int			c = 0;
			const char *kind;

			memset(nulls, true, sizeof(nulls));
			values[c] = Int32GetDatum(m->entry->pid);
			nulls[c++] = false;
			values[c] = CStringGetTextDatum(walmptcp_role_name(m->entry->role));
			nulls[c++] = false;
			if (details)
			{
				values[c] = inet_datum(s->family, s->local);
				values[c + 1] = Int32GetDatum(s->local_port);
				values[c + 2] = inet_datum(s->family, s->remote);
				values[c + 3] = Int32GetDatum(s->remote_port);
				nulls[c] = nulls[c + 1] = nulls[c + 2] = nulls[c + 3] = false;
			}
			c += 4;
			if (s->has_subflow_info)
			{
				values[c] = Int32GetDatum(s->id_loc);
				values[c + 1] = Int32GetDatum(s->id_rem);
				values[c + 2] = BoolGetDatum((s->subflow_flags &
											  (MPTCP_SUBFLOW_FLAG_BKUP_LOC | MPTCP_SUBFLOW_FLAG_BKUP_REM)) != 0);
				nulls[c] = nulls[c + 1] = nulls[c + 2] = false;
			}
			c += 3;
			if (s->from_owner)
				kind = (s->local_port == m->msk->local_port &&
						s->remote_port == m->msk->remote_port &&
						memcmp(s->local, m->msk->local, 16) == 0) ? "initial" : "join";
			else if (!s->has_subflow_info)
				kind = "tcp";
			else if (s->subflow_flags & (MPTCP_SUBFLOW_FLAG_JOIN_LOC | MPTCP_SUBFLOW_FLAG_JOIN_REM))
				kind = "join";
			else
				kind = "initial";
			values[c] = CStringGetTextDatum(kind);
			nulls[c++] = false;
			values[c] = CStringGetTextDatum(s->state < lengthof(tcp_state_names) ?
											tcp_state_names[s->state] : "unknown");
			nulls[c++] = false;
			if (details && WALMPTCP_TCPI_HAS(s->tcpi_len, tcpi_rtt))
			{
				values[c] = Int64GetDatum(t->tcpi_rtt);
				values[c + 1] = Int32GetDatum(t->tcpi_snd_cwnd);
				nulls[c] = nulls[c + 1] = false;
			}
			c += 2;
			if (details && WALMPTCP_TCPI_HAS(s->tcpi_len, tcpi_bytes_retrans))
			{
				values[c] = Int64GetDatum(t->tcpi_bytes_sent);
				values[c + 1] = Int64GetDatum(t->tcpi_bytes_received);
				values[c + 2] = Int64GetDatum(t->tcpi_bytes_acked);
				nulls[c] = nulls[c + 1] = nulls[c + 2] = false;
			}
			c += 3;
			if (details && WALMPTCP_TCPI_HAS(s->tcpi_len, tcpi_total_retrans))
			{
				values[c] = Int64GetDatum(t->tcpi_total_retrans);
				nulls[c] = false;
			}
			c++;
			if (details && WALMPTCP_TCPI_HAS(s->tcpi_len, tcpi_delivery_rate))
			{
				values[c] = Int64GetDatum(t->tcpi_delivery_rate);
				nulls[c] = false;
			}
			c++;
			/* the owner's view has no subflow flags: unknown */
			values[c] = BoolGetDatum(s->has_subflow_info &&
									 (s->subflow_flags & MPTCP_SUBFLOW_FLAG_FULLY_ESTABLISHED) != 0);
			nulls[c++] = s->from_owner;
			Assert(c == NUM_SUBFLOW_COLUMNS);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	return (Datum) 0;
}

/*
 * walmptcp_events() -> (event_time, pid, role, local_addr, remote_addr,
 *						  event, detail), oldest first.
 */
Datum
walmptcp_events(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	WalmptcpEvent *events;
	int			n;
	bool		details;

	walmptcp_require_preload();
	details = may_see_details();
	InitMaterializedSRF(fcinfo, 0);
	events = walmptcp_events_copy(&n);

	for (int i = 0; i < n; i++)
	{
		const WalmptcpEvent *e = &events[i];
		Datum		values[7];
		bool		nulls[7] = {false, false, false, false, false, false, false};

		values[0] = TimestampTzGetDatum((TimestampTz) e->time);
		values[1] = Int32GetDatum(e->pid);
		values[2] = CStringGetTextDatum(walmptcp_role_name(e->role));
		values[3] = CStringGetTextDatum(e->local);
		values[4] = CStringGetTextDatum(e->remote);
		nulls[3] = nulls[4] = !details;
		values[5] = CStringGetTextDatum(e->event);
		values[6] = CStringGetTextDatum(e->detail);
		nulls[6] = !details;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
