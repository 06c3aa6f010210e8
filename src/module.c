/*-------------------------------------------------------------------------
 *
 * module.c
 *	  The loadable module: _PG_init installs every part of walmptcp.
 *
 * Everything walmptcp changes is installed here, in the postmaster, while
 * shared_preload_libraries is processed: before the listen sockets exist and
 * before any replication process is forked, so every child inherits it.
 * Each part defines its own settings (walmptcp.*), beside their variables.
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

#include "conninfo_mptcp.h"
#include "events.h"
#include "mptcp_socket.h"
#include "net_admin.h"
#include "owner_view.h"
#include "registry.h"
#include "supervisor.h"
#include "tcp_option_deferral.h"
#include "walmptcp.h"
#include "walrcv_wrapper.h"
#include "walsender_registration.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

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

	walmptcp_socket_define_settings();
	walmptcp_conninfo_define_settings();
	walmptcp_supervisor_define_settings();
	walmptcp_owner_view_define_settings();
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
