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
#include <linux/tcp.h>

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
#include "inet_addr.h"
#include "registry.h"
#include "walmptcp.h"

PG_FUNCTION_INFO_V1(walmptcp_connections);
PG_FUNCTION_INFO_V1(walmptcp_subflows);
PG_FUNCTION_INFO_V1(walmptcp_events);

/* Result columns, in the order of the SQL definitions (walmptcp--1.0.sql). */
typedef enum ConnectionColumn
{
	CONN_PID,
	CONN_ROLE,
	CONN_APPLICATION_NAME,
	CONN_LOCAL_ADDR,
	CONN_LOCAL_PORT,
	CONN_REMOTE_ADDR,
	CONN_REMOTE_PORT,
	CONN_REQUESTED_MODE,
	CONN_MPTCP,
	CONN_FALLBACK_REASON,
	CONN_SUBFLOWS,
	CONN_SUBFLOWS_MAX,
	CONN_ADD_ADDR_SIGNAL,
	CONN_ADD_ADDR_ACCEPTED,
	CONN_BYTES_SENT,
	CONN_BYTES_RECEIVED,
	CONN_BYTES_ACKED,
	CONN_BYTES_RETRANS,
	CONN_TOKEN,
	CONN_CONNECTED_AT,
	CONN_KERNEL_DETAIL,
	NUM_CONNECTION_COLUMNS
} ConnectionColumn;

typedef enum SubflowColumn
{
	SUB_PID,
	SUB_ROLE,
	SUB_LOCAL_ADDR,
	SUB_LOCAL_PORT,
	SUB_REMOTE_ADDR,
	SUB_REMOTE_PORT,
	SUB_LOCAL_ID,
	SUB_REMOTE_ID,
	SUB_BACKUP,
	SUB_KIND,
	SUB_STATE,
	SUB_RTT_US,
	SUB_CWND,
	SUB_BYTES_SENT,
	SUB_BYTES_RECEIVED,
	SUB_BYTES_ACKED,
	SUB_RETRANS,
	SUB_DELIVERY_RATE,
	SUB_FULLY_ESTABLISHED,
	NUM_SUBFLOW_COLUMNS
} SubflowColumn;

typedef enum EventColumn
{
	EV_TIME,
	EV_PID,
	EV_ROLE,
	EV_LOCAL_ADDR,
	EV_REMOTE_ADDR,
	EV_EVENT,
	EV_DETAIL,
	NUM_EVENT_COLUMNS
} EventColumn;

/* A row under construction: every column NULL until set. */
typedef struct Row
{
	Datum	   *values;
	bool	   *nulls;
} Row;

static inline void
set_col(Row *row, int col, Datum value)
{
	row->values[col] = value;
	row->nulls[col] = false;
}

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
	uint8		addr[INET_ADDR_MAX_LEN];
	uint16		port;

	*isnull = !inet_addr_from_sockaddr((const struct sockaddr *) ss, addr, &port);
	return *isnull ? (Datum) 0 : inet_datum(ss->ss_family, addr);
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

/*
 * Both functions: the scan, and emit called for each matched connection
 * (the rows it adds go to rsinfo's tuplestore).
 */
typedef void (*EmitRows) (ReturnSetInfo *rsinfo, Matched *m, bool details);

static Datum
scan_rows(FunctionCallInfo fcinfo, EmitRows emit)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		details;
	int			n;
	Matched    *matched = begin_scan(fcinfo, &details, &n);

	for (int i = 0; i < n; i++)
		emit(rsinfo, &matched[i], details);
	return (Datum) 0;
}

/* One row of walmptcp_connections() for a matched connection. */
static void
emit_connection_row(ReturnSetInfo *rsinfo, Matched *m, bool details)
{
	WalmptcpConnEntry *e = m->entry;
	const WalmptcpSubflow *k = m->msk ? &m->msk->sk : m->tcp ? &m->tcp->sk : NULL;
	Datum		values[NUM_CONNECTION_COLUMNS];
	bool		nulls[NUM_CONNECTION_COLUMNS];
	Row			row = {values, nulls};
	bool		is_mptcp = m->mptcp;

	memset(nulls, true, sizeof(nulls));
	set_col(&row, CONN_PID, Int32GetDatum(e->pid));
	set_col(&row, CONN_ROLE, CStringGetTextDatum(walmptcp_role_name(e->role)));
	/*
	 * Like pg_stat_wal_receiver and pg_stat_replication, a role without
	 * pg_read_all_stats does not learn who the peer is, when it came or
	 * what was asked for: pid, role, mptcp and the subflow count only.
	 */
	if (details && e->appname[0])
		set_col(&row, CONN_APPLICATION_NAME, CStringGetTextDatum(e->appname));
	/* addresses: the kernel's view, else what was recorded */
	if (details && k)
	{
		set_col(&row, CONN_LOCAL_ADDR, inet_datum(k->family, k->local));
		set_col(&row, CONN_LOCAL_PORT, Int32GetDatum(k->local_port));
		set_col(&row, CONN_REMOTE_ADDR, inet_datum(k->family, k->remote));
		set_col(&row, CONN_REMOTE_PORT, Int32GetDatum(k->remote_port));
	}
	else if (details)
	{
		values[CONN_LOCAL_ADDR] = sockaddr_inet_datum(&e->local, &nulls[CONN_LOCAL_ADDR]);
		set_col(&row, CONN_LOCAL_PORT, Int32GetDatum(inet_addr_sockaddr_port(&e->local)));
		values[CONN_REMOTE_ADDR] = sockaddr_inet_datum(&e->remote, &nulls[CONN_REMOTE_ADDR]);
		set_col(&row, CONN_REMOTE_PORT, Int32GetDatum(inet_addr_sockaddr_port(&e->remote)));
	}
	if (details && e->mode_known)
		set_col(&row, CONN_REQUESTED_MODE, CStringGetTextDatum(walmptcp_mode_name(e->mode)));
	if (k)
		set_col(&row, CONN_MPTCP, BoolGetDatum(is_mptcp));
	if (details && k && !is_mptcp)
		set_col(&row, CONN_FALLBACK_REASON,
				CStringGetTextDatum(e->reason[0] ? e->reason :
									"the connection fell back to TCP"));
	if (is_mptcp)
	{
		const WalmptcpMptcpInfo *mi = &m->msk->mptcp;
		int			len = m->msk->mptcp_len;

		set_col(&row, CONN_SUBFLOWS,
				Int32GetDatum(WALMPTCP_INFO_HAS(len, subflows_total) ?
							  mi->subflows_total : mi->subflows + 1));
		if (details)
		{
			set_col(&row, CONN_SUBFLOWS_MAX, Int32GetDatum(mi->subflows_max));
			set_col(&row, CONN_ADD_ADDR_SIGNAL, Int32GetDatum(mi->add_addr_signal));
			set_col(&row, CONN_ADD_ADDR_ACCEPTED, Int32GetDatum(mi->add_addr_accepted));
		}
	}
	else if (k)
		set_col(&row, CONN_SUBFLOWS, Int32GetDatum(1));
	if (details && is_mptcp &&
		WALMPTCP_INFO_HAS(m->msk->mptcp_len, bytes_acked))
	{
		const WalmptcpMptcpInfo *mi = &m->msk->mptcp;

		set_col(&row, CONN_BYTES_SENT, Int64GetDatum(mi->bytes_sent));
		set_col(&row, CONN_BYTES_RECEIVED, Int64GetDatum(mi->bytes_received));
		set_col(&row, CONN_BYTES_ACKED, Int64GetDatum(mi->bytes_acked));
		set_col(&row, CONN_BYTES_RETRANS, Int64GetDatum(mi->bytes_retrans));
	}
	else if (details && m->n_subflows == 1 && !is_mptcp &&
			 WALMPTCP_TCPI_HAS(m->subflows[0]->tcpi_len, tcpi_bytes_retrans))
	{
		const WalmptcpSubflow *t = m->subflows[0];

		set_col(&row, CONN_BYTES_SENT, Int64GetDatum(t->bytes_sent));
		set_col(&row, CONN_BYTES_RECEIVED, Int64GetDatum(t->bytes_received));
		set_col(&row, CONN_BYTES_ACKED, Int64GetDatum(t->bytes_acked));
		set_col(&row, CONN_BYTES_RETRANS, Int64GetDatum(t->bytes_retrans));
	}
	/* token, unpadded like ss -Mni prints it, so a DBA can grep for it */
	if (details && is_mptcp)
		set_col(&row, CONN_TOKEN, CStringGetTextDatum(psprintf("%x", m->msk->mptcp.token)));
	if (details)
		set_col(&row, CONN_CONNECTED_AT, TimestampTzGetDatum((TimestampTz) e->connected_at));
	if (k == NULL)
		set_col(&row, CONN_KERNEL_DETAIL,
				CStringGetTextDatum("the kernel has no socket for this connection (closing)"));
	else if (m->withheld)
		set_col(&row, CONN_KERNEL_DETAIL,
				CStringGetTextDatum(m->source == WALMPTCP_SUBFLOW_SOURCE_SOCK_DIAG ?
									"the kernel withholds subflow details from this process (older kernels show them to CAP_NET_ADMIN only)" :
									"the kernel withholds subflow details from this process and the owning process has not published its own view yet"));
	else if (m->from_owner)
		set_col(&row, CONN_KERNEL_DETAIL,
				CStringGetTextDatum(psprintf("subflows as the owning process read them %.1f s ago (MPTCP_SUBFLOW_ADDRS, MPTCP_TCPINFO)%s",
											 m->owner_age_ms / 1000.0,
											 m->source == WALMPTCP_SUBFLOW_SOURCE_OWNER ?
											 "" : "; the kernel withholds them from sock_diag")));
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

Datum
walmptcp_connections(PG_FUNCTION_ARGS)
{
	return scan_rows(fcinfo, emit_connection_row);
}

/* The rows of walmptcp_subflows() for a matched connection, one per subflow. */
static void
emit_subflow_rows(ReturnSetInfo *rsinfo, Matched *m, bool details)
{
	for (int j = 0; j < m->n_subflows; j++)
	{
		const WalmptcpSubflow *s = m->subflows[j];
		Datum		values[NUM_SUBFLOW_COLUMNS];
		bool		nulls[NUM_SUBFLOW_COLUMNS];
		Row			row = {values, nulls};
		const char *kind;

		memset(nulls, true, sizeof(nulls));
		set_col(&row, SUB_PID, Int32GetDatum(m->entry->pid));
		set_col(&row, SUB_ROLE, CStringGetTextDatum(walmptcp_role_name(m->entry->role)));
		if (details)
		{
			set_col(&row, SUB_LOCAL_ADDR, inet_datum(s->family, s->local));
			set_col(&row, SUB_LOCAL_PORT, Int32GetDatum(s->local_port));
			set_col(&row, SUB_REMOTE_ADDR, inet_datum(s->family, s->remote));
			set_col(&row, SUB_REMOTE_PORT, Int32GetDatum(s->remote_port));
		}
		if (s->has_subflow_info)
		{
			set_col(&row, SUB_LOCAL_ID, Int32GetDatum(s->id_loc));
			set_col(&row, SUB_REMOTE_ID, Int32GetDatum(s->id_rem));
			set_col(&row, SUB_BACKUP,
					BoolGetDatum((s->subflow_flags &
								  (MPTCP_SUBFLOW_FLAG_BKUP_LOC | MPTCP_SUBFLOW_FLAG_BKUP_REM)) != 0));
		}
		if (s->from_owner)
			kind = (s->local_port == m->msk->sk.local_port &&
					s->remote_port == m->msk->sk.remote_port &&
					memcmp(s->local, m->msk->sk.local, INET_ADDR_MAX_LEN) == 0) ? "initial" : "join";
		else if (!s->has_subflow_info)
			kind = "tcp";
		else if (s->subflow_flags & (MPTCP_SUBFLOW_FLAG_JOIN_LOC | MPTCP_SUBFLOW_FLAG_JOIN_REM))
			kind = "join";
		else
			kind = "initial";
		set_col(&row, SUB_KIND, CStringGetTextDatum(kind));
		set_col(&row, SUB_STATE,
				CStringGetTextDatum(s->state < lengthof(tcp_state_names) ?
									tcp_state_names[s->state] : "unknown"));
		if (details && WALMPTCP_TCPI_HAS(s->tcpi_len, tcpi_rtt))
		{
			set_col(&row, SUB_RTT_US, Int64GetDatum(s->rtt));
			set_col(&row, SUB_CWND, Int32GetDatum(s->snd_cwnd));
		}
		if (details && WALMPTCP_TCPI_HAS(s->tcpi_len, tcpi_bytes_retrans))
		{
			set_col(&row, SUB_BYTES_SENT, Int64GetDatum(s->bytes_sent));
			set_col(&row, SUB_BYTES_RECEIVED, Int64GetDatum(s->bytes_received));
			set_col(&row, SUB_BYTES_ACKED, Int64GetDatum(s->bytes_acked));
		}
		if (details && WALMPTCP_TCPI_HAS(s->tcpi_len, tcpi_total_retrans))
			set_col(&row, SUB_RETRANS, Int64GetDatum(s->total_retrans));
		if (details && WALMPTCP_TCPI_HAS(s->tcpi_len, tcpi_delivery_rate))
			set_col(&row, SUB_DELIVERY_RATE, Int64GetDatum(s->delivery_rate));
		/* the owner's view has no subflow flags: unknown */
		if (!s->from_owner)
			set_col(&row, SUB_FULLY_ESTABLISHED,
					BoolGetDatum(s->has_subflow_info &&
								 (s->subflow_flags & MPTCP_SUBFLOW_FLAG_FULLY_ESTABLISHED) != 0));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

Datum
walmptcp_subflows(PG_FUNCTION_ARGS)
{
	return scan_rows(fcinfo, emit_subflow_rows);
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
		Datum		values[NUM_EVENT_COLUMNS];
		bool		nulls[NUM_EVENT_COLUMNS];
		Row			row = {values, nulls};

		memset(nulls, true, sizeof(nulls));
		set_col(&row, EV_TIME, TimestampTzGetDatum((TimestampTz) e->time));
		set_col(&row, EV_PID, Int32GetDatum(e->pid));
		set_col(&row, EV_ROLE, CStringGetTextDatum(walmptcp_role_name(e->role)));
		set_col(&row, EV_EVENT, CStringGetTextDatum(e->event));
		/* who the peer is and what happened to it: pg_read_all_stats only */
		if (details)
		{
			set_col(&row, EV_LOCAL_ADDR, CStringGetTextDatum(e->local));
			set_col(&row, EV_REMOTE_ADDR, CStringGetTextDatum(e->remote));
			set_col(&row, EV_DETAIL, CStringGetTextDatum(e->detail));
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
