/*-------------------------------------------------------------------------
 *
 * conninfo_mptcp.h
 *	  The "mptcp" connection option as a mode, and the errors about it.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_CONNINFO_MPTCP_H
#define WALMPTCP_CONNINFO_MPTCP_H

#include "walmptcp.h"

typedef struct WalmptcpConninfo
{
	char	   *conninfo;		/* conninfo without the mptcp keyword */
	bool		specified;		/* was the keyword present? */
	WalmptcpMode mode;			/* keyword value, or the default */
	char	   *error;			/* palloc'd message when unusable, else NULL */
	char	   *error_detail;
	char	   *error_hint;		/* or NULL */
	char	   *error_brief;	/* detail for a one-line message */
	char	   *application_name;	/* as given, or NULL */
} WalmptcpConninfo;

/* walmptcp.default_mode */
extern int	walmptcp_default_mode;
extern void walmptcp_conninfo_define_settings(void);

extern void walmptcp_parse_conninfo(const char *conninfo,
									WalmptcpConninfo *result);
extern void walmptcp_report_conninfo_error(const WalmptcpConninfo *ci);
extern char *walmptcp_conninfo_error_message(const WalmptcpConninfo *ci);

#endif							/* WALMPTCP_CONNINFO_MPTCP_H */
