/*-------------------------------------------------------------------------
 *
 * conninfo_mptcp.c
 *	  The "mptcp" connection option: its value, and the string libpq gets.
 *
 * conninfo_scan.c finds and removes the keyword the way libpq tokenises a
 * connection string; this file turns its value into a mode and reports
 * invalid values, in PostgreSQL's terms (palloc, ereport).
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <dlfcn.h>

#include "utils/guc.h"

#include "conninfo_mptcp.h"
#include "conninfo_scan.h"
#include "service_file.h"
#include "walmptcp.h"

#define MPTCP_KEYWORD "mptcp"
#define ACCEPTED_VALUES "0, off, false, no, 1, on, true, yes, prefer, require"

/* walmptcp.default_mode */
int			walmptcp_default_mode = WALMPTCP_MODE_OFF;

static const struct config_enum_entry mode_options[] = {
	{"off", WALMPTCP_MODE_OFF, false},
	{"prefer", WALMPTCP_MODE_PREFER, false},
	{"require", WALMPTCP_MODE_REQUIRE, false},
	{NULL, 0, false}
};

void
walmptcp_conninfo_define_settings(void)
{
	DefineCustomEnumVariable("walmptcp.default_mode",
							 "MPTCP mode of replication connections whose connection string has no mptcp option.",
							 "off: plain TCP; prefer: MPTCP, falling back to TCP; require: MPTCP or no connection.",
							 &walmptcp_default_mode,
							 WALMPTCP_MODE_OFF,
							 mode_options,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);
}

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
 * The version of the libpq this process uses (libpqwalreceiver, loaded by
 * _PG_init, brings it in), so that the string is read by its rules; 0 if
 * it cannot be found.
 */
static int
libpq_version(void)
{
	static int	version = -1;

	if (version < 0)
	{
		int			(*fn) (void) = (int (*) (void)) dlsym(RTLD_DEFAULT, "PQlibVersion");

		version = fn ? fn() : 0;
	}
	return version;
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

	const char *service;
	char		service_file[1024];
	int			service_line;

	result->specified = false;
	result->mode = (WalmptcpMode) walmptcp_default_mode;
	result->error = NULL;
	result->error_detail = NULL;
	result->error_hint = NULL;
	result->error_brief = NULL;
	result->application_name = NULL;

	if (!walmptcp_conninfo_scan(conninfo, libpq_version(), &scan))
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
		{
			result->error = psprintf("invalid value for connection option \"%s\": \"%s\"",
									 MPTCP_KEYWORD, scan.mode_value);
			result->error_detail = psprintf("Accepted values are: %s.", ACCEPTED_VALUES);
			result->error_brief = psprintf("accepted values: %s", ACCEPTED_VALUES);
		}
	}

	/* libpq would stop at mptcp in the service file with a syntax error */
	service = scan.service ? scan.service : getenv("PGSERVICE");
	if (service &&
		(service_line = walmptcp_service_sets(service, scan.servicefile, MPTCP_KEYWORD,
											  WALMPTCP_SYSCONFDIR,
											  service_file, sizeof(service_file))) > 0)
	{
		result->error = psprintf("the connection option \"%s\" cannot be set in a connection service file",
								 MPTCP_KEYWORD);
		result->error_detail = psprintf("Service \"%s\" sets it in \"%s\", line %d; libpq rejects options it does not know there.",
										service, service_file, service_line);
		result->error_hint = psprintf("Remove it from the service file and put %s=... in the connection string, next to service=%s.",
									  MPTCP_KEYWORD, service);
		result->error_brief = psprintf("service \"%s\" sets it in \"%s\", line %d; put it in the connection string instead",
									   service, service_file, service_line);
	}
	walmptcp_conninfo_scan_free(&scan);
}

/* A connection string walmptcp cannot use, as an ERROR (CREATE SUBSCRIPTION, SQL functions). */
void
walmptcp_report_conninfo_error(const WalmptcpConninfo *ci)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s", ci->error),
			 ci->error_detail ? errdetail("%s", ci->error_detail) : 0,
			 ci->error_hint ? errhint("%s", ci->error_hint) : 0));
}

/* The same in one line, for walrcv_connect's error string. */
char *
walmptcp_conninfo_error_message(const WalmptcpConninfo *ci)
{
	return psprintf("%s (%s)", ci->error, ci->error_brief);
}
