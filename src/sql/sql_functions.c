/*-------------------------------------------------------------------------
 *
 * sql_functions.c
 *	  SQL-callable functions of walmptcp 1.0.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <string.h>

#include "access/htup_details.h"
#include "conninfo_mptcp.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mptcp_socket.h"
#include "utils/builtins.h"
#include "walmptcp.h"


PG_FUNCTION_INFO_V1(walmptcp_parse_conninfo_sql);
PG_FUNCTION_INFO_V1(walmptcp_status);
PG_FUNCTION_INFO_V1(walmptcp_preloaded_sql);

/* walmptcp_preloaded(): usable without preload, unlike everything else. */
Datum
walmptcp_preloaded_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(walmptcp_preloaded);
}

static TupleDesc
result_tupdesc(FunctionCallInfo fcinfo)
{
	TupleDesc	tupdesc;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	return BlessTupleDesc(tupdesc);
}

/*
 * walmptcp_parse_conninfo(conninfo text)
 *	  -> (mode text, explicit bool, libpq_conninfo text)
 *
 * What walmptcp would do with a connection string: lets a DBA check a
 * primary_conninfo or subscription string before using it.
 */
Datum
walmptcp_parse_conninfo_sql(PG_FUNCTION_ARGS)
{
	WalmptcpConninfo ci;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	TupleDesc	tupdesc;

	walmptcp_require_preload();
	tupdesc = result_tupdesc(fcinfo);
	walmptcp_parse_conninfo(text_to_cstring(PG_GETARG_TEXT_PP(0)), &ci);
	if (ci.error)
		walmptcp_report_conninfo_error(&ci);

	values[0] = CStringGetTextDatum(walmptcp_mode_name(ci.mode));
	values[1] = BoolGetDatum(ci.specified);
	values[2] = CStringGetTextDatum(ci.conninfo);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * walmptcp_status()
 *	  -> (kernel_mptcp bool, kernel_detail text, listen_mptcp_sockets int,
 *		  listen_tcp_sockets int, listen_detail text, default_mode text)
 *
 * The listen counters were set by the postmaster before it forked this
 * backend, so every backend carries a copy of them.
 */
Datum
walmptcp_status(PG_FUNCTION_ARGS)
{
	Datum		values[6];
	bool		nulls[6] = {false, false, false, false, false, false};
	TupleDesc	tupdesc;
	int			err;
	int			mptcp_sockets,
				tcp_sockets,
				listen_errno;
	bool		available;

	walmptcp_require_preload();
	tupdesc = result_tupdesc(fcinfo);

	available = walmptcp_probe_kernel(&err);
	walmptcp_listen_summary(&mptcp_sockets, &tcp_sockets, &listen_errno);

	values[0] = BoolGetDatum(available);
	if (available)
		nulls[1] = true;
	else
		values[1] = CStringGetTextDatum(psprintf("socket(IPPROTO_MPTCP) failed: %s",
												 strerror(err)));
	values[2] = Int32GetDatum(mptcp_sockets);
	values[3] = Int32GetDatum(tcp_sockets);
	if (!walmptcp_listen)
		values[4] = CStringGetTextDatum("walmptcp.listen is off");
	else if (listen_errno != 0)
		values[4] = CStringGetTextDatum(psprintf("the kernel refused MPTCP at server start: %s",
												 strerror(listen_errno)));
	else
		nulls[4] = true;
	values[5] = CStringGetTextDatum(walmptcp_mode_name((WalmptcpMode) walmptcp_default_mode));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
