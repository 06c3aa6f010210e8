/*-------------------------------------------------------------------------
 *
 * walmptcp.c
 *	  Module entry point and configuration parameters.
 *
 * Everything walmptcp changes is installed here, in the postmaster, while
 * shared_preload_libraries is processed: before the listen sockets exist and
 * before any replication process is forked, so every child inherits it.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"

#include "walmptcp.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

bool		walmptcp_listen = true;
int			walmptcp_default_mode = WALMPTCP_MODE_OFF;
bool		walmptcp_preloaded = false;

static const struct config_enum_entry repair_options[] = {
	{"auto", WALMPTCP_REPAIR_AUTO, false},
	{"endpoint", WALMPTCP_REPAIR_ENDPOINT, false},
	{"reconnect", WALMPTCP_REPAIR_RECONNECT, false},
	{"off", WALMPTCP_REPAIR_OFF, false},
	{NULL, 0, false}
};

static const struct config_enum_entry subflow_source_options[] = {
	{"auto", WALMPTCP_SUBFLOW_SOURCE_AUTO, false},
	{"sock_diag", WALMPTCP_SUBFLOW_SOURCE_SOCK_DIAG, false},
	{"owner", WALMPTCP_SUBFLOW_SOURCE_OWNER, false},
	{NULL, 0, false}
};

static const struct config_enum_entry mode_options[] = {
	{"off", WALMPTCP_MODE_OFF, false},
	{"prefer", WALMPTCP_MODE_PREFER, false},
	{"require", WALMPTCP_MODE_REQUIRE, false},
	{NULL, 0, false}
};

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

/* Shared memory: the connection registry and the events ring, one LWLock each. */
static void
walmptcp_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(walmptcp_registry_shmem_size());
	RequestAddinShmemSpace(walmptcp_events_shmem_size());
	RequestNamedLWLockTranche("walmptcp", 2);
}

static void
walmptcp_shmem_startup(void)
{
	LWLockPadded *locks;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	locks = GetNamedLWLockTranche("walmptcp");
	walmptcp_registry_shmem_init(&locks[0].lock);
	walmptcp_events_shmem_init(&locks[1].lock);
	LWLockRelease(AddinShmemInitLock);
}

void
_PG_init(void)
{
	/*
	 * Loaded later (e.g. by CREATE EXTENSION in a backend), walmptcp would
	 * change sockets in one process only; do nothing and let the SQL
	 * functions explain.
	 */
	if (!process_shared_preload_libraries_in_progress)
		return;

	DefineCustomBoolVariable("walmptcp.listen",
							 "Makes the server's TCP listen sockets Multipath TCP.",
							 "Clients without MPTCP still connect with plain TCP.",
							 &walmptcp_listen,
							 true,
							 PGC_POSTMASTER,
							 0,
							 NULL, NULL, NULL);

	DefineCustomEnumVariable("walmptcp.default_mode",
							 "MPTCP mode of replication connections whose connection string has no mptcp option.",
							 "off: plain TCP; prefer: MPTCP, falling back to TCP; require: MPTCP or no connection.",
							 &walmptcp_default_mode,
							 WALMPTCP_MODE_OFF,
							 mode_options,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("walmptcp.supervisor",
							 "Starts the background worker that re-establishes lost subflows.",
							 NULL,
							 &walmptcp_supervisor_enabled,
							 true,
							 PGC_POSTMASTER,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("walmptcp.check_interval",
							"How often the supervisor looks at the replication connections' subflows.",
							NULL,
							&walmptcp_check_interval,
							1000, 100, 3600000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomEnumVariable("walmptcp.repair",
							 "How the supervisor re-establishes lost subflows.",
							 "auto: endpoint when the endpoint helper has CAP_NET_ADMIN, else reconnect; "
							 "endpoint: re-add the MPTCP endpoint in place; "
							 "reconnect: make the walreceiver or apply worker reconnect; off: only report.",
							 &walmptcp_repair,
							 WALMPTCP_REPAIR_AUTO,
							 repair_options,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomEnumVariable("walmptcp.subflow_source",
							 "Where walmptcp learns a connection's subflows.",
							 "auto: the kernel's sock_diag, or the owning process's own view where the kernel withholds subflow details; "
							 "sock_diag: only sock_diag; owner: only the owning process's view.",
							 &walmptcp_subflow_source,
							 WALMPTCP_SUBFLOW_SOURCE_AUTO,
							 subflow_source_options,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	MarkGUCPrefixReserved("walmptcp");

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = walmptcp_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = walmptcp_shmem_startup;
	walmptcp_install_walsender_registration();
	walmptcp_wrap_walreceiver();
	walmptcp_install_libpq_interposer();
	walmptcp_install_tcp_option_interposer();
	walmptcp_install_owner_view_interposers(!IsUnderPostmaster);
	if (!IsUnderPostmaster && walmptcp_listen)
		walmptcp_install_listen_interposer();
	if (!IsUnderPostmaster)
		walmptcp_net_admin_setup(walmptcp_supervisor_enabled);
	if (walmptcp_supervisor_enabled)
		walmptcp_supervisor_register();

	walmptcp_preloaded = true;
}
