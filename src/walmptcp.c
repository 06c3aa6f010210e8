/*-------------------------------------------------------------------------
 *
 * walmptcp.c
 *	  walmptcp's shared vocabulary: names of modes and roles, and the check
 *	  the SQL functions make first.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "walmptcp.h"

bool		walmptcp_preloaded = false;

const char *
walmptcp_mode_name(WalmptcpMode mode)
{
	switch (mode)
	{
		case WALMPTCP_MODE_OFF:
			return "off";
		case WALMPTCP_MODE_PREFER:
			return "prefer";
		case WALMPTCP_MODE_REQUIRE:
			return "require";
	}
	return "?";					/* keep compiler quiet */
}

static const char *const role_names[] = {
	[WALMPTCP_ROLE_WALSENDER] = "walsender",
	[WALMPTCP_ROLE_WALRECEIVER] = "walreceiver",
	[WALMPTCP_ROLE_APPLY] = "apply",
	[WALMPTCP_ROLE_TABLESYNC] = "tablesync",
	[WALMPTCP_ROLE_SLOTSYNC] = "slotsync",
	[WALMPTCP_ROLE_BACKEND] = "backend",
};

const char *
walmptcp_role_name(WalmptcpRole role)
{
	return role_names[role];
}

/* For SQL functions: fail clearly when the module was not preloaded. */
void
walmptcp_require_preload(void)
{
	if (!walmptcp_preloaded)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("walmptcp must be loaded via shared_preload_libraries"),
				 errhint("Add walmptcp to shared_preload_libraries in postgresql.conf and restart the server.")));
}
