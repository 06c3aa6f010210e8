/*-------------------------------------------------------------------------
 *
 * conninfo_scan.h
 *	  The "mptcp" keyword of a libpq connection string (PostgreSQL-free).
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_CONNINFO_SCAN_H
#define WALMPTCP_CONNINFO_SCAN_H

#include <stdbool.h>

typedef struct WalmptcpConninfoScan
{
	char	   *conninfo;		/* the string without the mptcp keyword(s) */
	bool		found;			/* an mptcp keyword was removed */
	char	   *mode_value;		/* the last one's value (decoded), or NULL */
	char	   *application_name;	/* as libpq will read it, or NULL */
	char	   *service;		/* the "service" option, or NULL */
	char	   *servicefile;	/* the "servicefile" option (libpq 19+), or NULL */
	int			libpq_version;	/* whose rules: PQlibVersion() (18: trims URI blanks) */
} WalmptcpConninfoScan;

/*
 * Scan conninfo (NULL counts as empty) by the rules of the libpq of
 * libpq_version (PQlibVersion(); they differ from 18 on).  All strings are
 * malloc'd; false only when memory ran out (nothing to free then).
 */
extern bool walmptcp_conninfo_scan(const char *conninfo, int libpq_version,
								   WalmptcpConninfoScan *scan);
extern void walmptcp_conninfo_scan_free(WalmptcpConninfoScan *scan);

#endif							/* WALMPTCP_CONNINFO_SCAN_H */
