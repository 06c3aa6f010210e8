/*-------------------------------------------------------------------------
 *
 * registry.c
 *	  Shared-memory table of this node's replication connections.
 *
 * Each process that owns a replication connection records it here: pid,
 * role, socket inode (to find it in sock_diag), what was asked and what was
 * obtained.  Walsenders register from ClientAuthentication_hook
 * (walsender_registration.c); the walreceiver, logical replication workers
 * and backends running CREATE/ALTER SUBSCRIPTION register from the
 * walrcv_connect wrapper.
 * Entries disappear at disconnect and, whatever the way out (ERROR, FATAL),
 * at process exit; a crash reinitialises shared memory.
 *
 * Size: max_wal_senders + max_worker_processes + 16 (walreceiver and
 * backends that connect for subscription DDL).  When full, the connection
 * works as usual but is not shown; the process logs that once.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "replication/walsender.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "registry.h"
#include "walmptcp.h"

#define REGISTRY_HEADROOM 16

typedef struct WalmptcpRegistry
{
	LWLock	   *lock;
	int			size;
	WalmptcpConnEntry entries[FLEXIBLE_ARRAY_MEMBER];
} WalmptcpRegistry;

static WalmptcpRegistry *registry = NULL;
static bool exit_callback_registered = false;
static bool full_logged = false;

static int
registry_capacity(void)
{
	return max_wal_senders + max_worker_processes + REGISTRY_HEADROOM;
}

static Size
registry_size(void)
{
	return add_size(offsetof(WalmptcpRegistry, entries),
					mul_size(registry_capacity(), sizeof(WalmptcpConnEntry)));
}

Size
walmptcp_registry_shmem_size(void)
{
	return registry_size();
}

/* At shared memory creation (AddinShmemInitLock held). */
void
walmptcp_registry_shmem_init(LWLock *lock)
{
	bool		found;

	registry = ShmemInitStruct("walmptcp registry", registry_size(), &found);
	if (!found)
	{
		registry->lock = lock;
		registry->size = registry_capacity();
		memset(registry->entries, 0, registry->size * sizeof(WalmptcpConnEntry));
	}
}

/* Remove every entry of this process (on_shmem_exit callback). */
static void
registry_remove_own(int code, Datum arg)
{
	if (registry == NULL)
		return;
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	for (int i = 0; i < registry->size; i++)
		if (registry->entries[i].pid == MyProcPid)
			registry->entries[i].pid = 0;
	LWLockRelease(registry->lock);
}

/*
 * A name from a connection string may be UTF-8 and longer than the entry:
 * cut it on a character boundary, and anything that is not valid UTF-8
 * becomes '?', so that the SQL functions never return invalid text.
 */
static void
copy_appname(char *dst, const char *src)
{
	int			len = strlen(src);

	if (pg_verify_mbstr(PG_UTF8, src, len, true))
		len = pg_encoding_mbcliplen(PG_UTF8, src, len, WALMPTCP_APPNAME_LEN - 1);
	else
		len = Min(len, WALMPTCP_APPNAME_LEN - 1);
	memcpy(dst, src, len);
	dst[len] = '\0';
	if (!pg_verify_mbstr(PG_UTF8, dst, len, true))
	{
		for (int i = 0; i < len; i++)
			if (IS_HIGHBIT_SET(dst[i]))
				dst[i] = '?';
	}
}

void
walmptcp_registry_add(WalmptcpRole role, int fd, bool mode_known,
					  WalmptcpMode mode, WalmptcpOutcome outcome,
					  const char *reason, const char *appname)
{
	struct stat st;
	WalmptcpConnEntry *slot = NULL;
	socklen_t	len;

	if (registry == NULL || fd < 0 || fstat(fd, &st) != 0)
		return;

	if (!exit_callback_registered)
	{
		on_shmem_exit(registry_remove_own, (Datum) 0);
		exit_callback_registered = true;
	}

	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	for (int i = 0; i < registry->size; i++)
	{
		if (registry->entries[i].pid == 0)
		{
			slot = &registry->entries[i];
			break;
		}
	}
	if (slot)
	{
		memset(slot, 0, sizeof(*slot));
		slot->role = role;
		slot->inode = (uint64) st.st_ino;
		slot->fd = fd;
		slot->mode_known = mode_known;
		slot->mode = mode;
		slot->outcome = outcome;
		if (reason)
			strlcpy(slot->reason, reason, sizeof(slot->reason));
		if (appname)
			copy_appname(slot->appname, appname);
		slot->dbid = MyDatabaseId;
		slot->connected_at = GetCurrentTimestamp();
		len = sizeof(slot->local);
		(void) getsockname(fd, (struct sockaddr *) &slot->local, &len);
		len = sizeof(slot->remote);
		(void) getpeername(fd, (struct sockaddr *) &slot->remote, &len);
		/* publish last: readers skip pid 0 */
		slot->pid = MyProcPid;
	}
	LWLockRelease(registry->lock);

	if (slot == NULL && !full_logged)
	{
		full_logged = true;
		ereport(LOG,
				(errmsg("walmptcp: the connection registry is full (%d entries)", registry->size),
				 errdetail("This replication connection works as usual but is not shown by walmptcp_connections() and walmptcp_subflows()."),
				 errhint("The registry holds max_wal_senders + max_worker_processes + %d entries.",
						 REGISTRY_HEADROOM)));
	}
}

void
walmptcp_registry_remove_fd(int fd)
{
	if (registry == NULL)
		return;
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	for (int i = 0; i < registry->size; i++)
		if (registry->entries[i].pid == MyProcPid && registry->entries[i].fd == fd)
			registry->entries[i].pid = 0;
	LWLockRelease(registry->lock);
}

/*
 * The owning process publishes what it reads of its own socket.  Never once
 * proc_exit() has begun: after ProcKill() (MyProc = NULL) an LWLock cannot
 * be waited for (PANIC when contended), and a walsender's TLS close_notify
 * still passes through the send interposer then.
 */
void
walmptcp_registry_publish_owner_view(int fd, const WalmptcpOwnerView *view)
{
	if (registry == NULL || proc_exit_inprogress || MyProc == NULL)
		return;
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	for (int i = 0; i < registry->size; i++)
	{
		if (registry->entries[i].pid == MyProcPid && registry->entries[i].fd == fd)
			registry->entries[i].owner = *view;
	}
	LWLockRelease(registry->lock);
}

/* A palloc'd copy of the live entries. */
WalmptcpConnEntry *
walmptcp_registry_snapshot(int *count)
{
	WalmptcpConnEntry *copy;
	int			n = 0;

	*count = 0;
	if (registry == NULL)
		return NULL;
	copy = palloc(registry->size * sizeof(WalmptcpConnEntry));
	LWLockAcquire(registry->lock, LW_SHARED);
	for (int i = 0; i < registry->size; i++)
		if (registry->entries[i].pid != 0)
			copy[n++] = registry->entries[i];
	LWLockRelease(registry->lock);
	*count = n;
	return copy;
}

/*
 * A background worker's role, from what it was registered with: core's
 * logical replication workers by their exact bgw_type (compat.h), anything
 * else is a backend (never signalled).
 */
WalmptcpRole
walmptcp_bgworker_role(const char *library, const char *type, const char *name)
{
	if (strcmp(library, "postgres") != 0)
		return WALMPTCP_ROLE_BACKEND;
#ifdef WALMPTCP_BGW_TYPE_SEQUENCESYNC
	if (strcmp(type, WALMPTCP_BGW_TYPE_SEQUENCESYNC) == 0)
		return WALMPTCP_ROLE_TABLESYNC;	/* a short-lived sync worker too */
#endif
	if (strcmp(type, WALMPTCP_BGW_TYPE_TABLESYNC) == 0 &&
		(!WALMPTCP_BGW_SYNC_BY_NAME || strstr(name, " sync ") != NULL))
		return WALMPTCP_ROLE_TABLESYNC;
	if (strcmp(type, WALMPTCP_BGW_TYPE_APPLY) == 0)
		return WALMPTCP_ROLE_APPLY;
	return WALMPTCP_ROLE_BACKEND;
}

/* Which kind of process is asking for a replication connection? */
WalmptcpRole
walmptcp_current_role(void)
{
	if (am_walsender)
		return WALMPTCP_ROLE_WALSENDER;
	if (MyBackendType == B_WAL_RECEIVER)
		return WALMPTCP_ROLE_WALRECEIVER;
#ifdef WALMPTCP_HAVE_SLOTSYNC
	if (MyBackendType == B_SLOTSYNC_WORKER)
		return WALMPTCP_ROLE_SLOTSYNC;
#endif
	if (MyBackendType == B_BG_WORKER && MyBgworkerEntry != NULL)
		return walmptcp_bgworker_role(MyBgworkerEntry->bgw_library_name,
									  MyBgworkerEntry->bgw_type,
									  MyBgworkerEntry->bgw_name);
	return WALMPTCP_ROLE_BACKEND;
}
