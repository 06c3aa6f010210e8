/*-------------------------------------------------------------------------
 *
 * conninfo_mptcp.c
 *	  The "mptcp" connection option: its value, and the string libpq gets.
 *
 * conninfo_scan.c finds and removes the keyword the way libpq tokenises a
 * connection string; this file turns its value into a mode and reports
 * invalid values, in PostgreSQL's terms (palloc, ereport).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "conninfo_scan.h"
#include "walmptcp.h"

#define MPTCP_KEYWORD "mptcp"

static bool
parse_mode(const char *value, WalmptcpMode *mode)
{
	static const struct
	{
		const char *name;
		WalmptcpMode mode;
	}			values[] = {
		{"0", WALMPTCP_MODE_OFF}, {"off", WALMPTCP_MODE_OFF},
		{"false", WALMPTCP_MODE_OFF}, {"no", WALMPTCP_MODE_OFF},
		{"1", WALMPTCP_MODE_PREFER}, {"on", WALMPTCP_MODE_PREFER},
		{"true", WALMPTCP_MODE_PREFER}, {"yes", WALMPTCP_MODE_PREFER},
		{"prefer", WALMPTCP_MODE_PREFER},
		{"require", WALMPTCP_MODE_REQUIRE},
	};

	for (size_t i = 0; i < lengthof(values); i++)
	{
		if (pg_strcasecmp(value, values[i].name) == 0)
		{
			*mode = values[i].mode;
			return true;
		}
	}
	return false;
}

/*
 * Split "conninfo" into the mode walmptcp should use and the string libpq
 * should get.  When the keyword appears more than once the last one wins,
 * as in libpq.  Without the keyword, walmptcp.default_mode applies.
 */
void
walmptcp_parse_conninfo(const char *conninfo, WalmptcpConninfo *result)
{
	WalmptcpConninfoScan scan;

	result->specified = false;
	result->mode = (WalmptcpMode) walmptcp_default_mode;
	result->error = NULL;
	result->application_name = NULL;

	if (!walmptcp_conninfo_scan(conninfo, &scan))
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	result->conninfo = pstrdup(scan.conninfo);
	if (scan.application_name)
		result->application_name = pstrdup(scan.application_name);
	if (scan.found)
	{
		result->specified = true;
		if (!parse_mode(scan.mode_value, &result->mode))
			result->error = psprintf("invalid value for connection option \"%s\": \"%s\"",
									 MPTCP_KEYWORD, scan.mode_value);
	}
	walmptcp_conninfo_scan_free(&scan);
}

#define ACCEPTED_VALUES "0, off, false, no, 1, on, true, yes, prefer, require"

/* An invalid mptcp value as an ERROR (CREATE SUBSCRIPTION, SQL functions). */
void
walmptcp_report_invalid_mode(const WalmptcpConninfo *ci)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s", ci->error),
			 errdetail("Accepted values are: %s.", ACCEPTED_VALUES)));
}

/* The same in one line, for walrcv_connect's error string. */
char *
walmptcp_invalid_mode_message(const WalmptcpConninfo *ci)
{
	return psprintf("%s (accepted values: %s)", ci->error, ACCEPTED_VALUES);
}
