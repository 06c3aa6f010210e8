/*
 * walmptcp_lookalike: registers a dynamic background worker with the
 * supervisor's library and function names ("walmptcp",
 * "walmptcp_supervisor_main"), as any C extension, or plpython3u with
 * ctypes, could.  It must not get the endpoint helper's socket (t/023).
 *
 * And a third-party worker whose bgw_type contains "logical replication"
 * and which opens a logical replication connection through
 * libpqwalreceiver, as a CDC extension's worker does: walmptcp must see a
 * plain backend in it, never one of core's apply workers, which the
 * supervisor may signal to reconnect (t/023).
 *
 * Copyright (c) 2026, the walmptcp authors
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "replication/walreceiver.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/wait_event.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(walmptcp_lookalike_start);
PG_FUNCTION_INFO_V1(walmptcp_lookalike_replication_start);

PGDLLEXPORT void walmptcp_lookalike_replication_main(Datum arg);

/* pid of the started look-alike worker */
Datum
walmptcp_lookalike_start(PG_FUNCTION_ARGS)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	pid_t		pid;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	worker.bgw_start_time = BgWorkerStart_PostmasterStart;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker.bgw_library_name, "walmptcp", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "walmptcp_supervisor_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "walmptcp look-alike", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "walmptcp look-alike", BGW_MAXLEN);
	worker.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		ereport(ERROR, (errmsg("could not register the look-alike worker")));
	if (WaitForBackgroundWorkerStartup(handle, &pid) != BGWH_STARTED)
		ereport(ERROR, (errmsg("the look-alike worker did not start")));
	PG_RETURN_INT32(pid);
}

/*
 * The third-party replication worker: connects with the conninfo in
 * bgw_extra, then waits until told to stop.
 */
void
walmptcp_lookalike_replication_main(Datum arg)
{
	char		conninfo[BGW_EXTRALEN];
	char	   *err = NULL;
	WalReceiverConn *conn;

	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();
	memcpy(conninfo, MyBgworkerEntry->bgw_extra, BGW_EXTRALEN);
	conninfo[BGW_EXTRALEN - 1] = '\0';
	load_file("libpqwalreceiver", false);
#if PG_VERSION_NUM >= 170000
	conn = walrcv_connect(conninfo, true, true, false, "lookalike", &err);
#elif PG_VERSION_NUM >= 160000
	conn = walrcv_connect(conninfo, true, false, "lookalike", &err);
#else
	conn = walrcv_connect(conninfo, true, "lookalike", &err);
#endif
	if (conn == NULL)
		ereport(ERROR,
				(errmsg("look-alike replication worker could not connect: %s", err)));
	while (!ShutdownRequestPending)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 1000, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	walrcv_disconnect(conn);
	proc_exit(0);
}

/* pid of a started third-party replication worker (library: this module) */
Datum
walmptcp_lookalike_replication_start(PG_FUNCTION_ARGS)
{
	char	   *library = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *conninfo = text_to_cstring(PG_GETARG_TEXT_PP(1));
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	pid_t		pid;

	if (strlen(library) >= BGW_MAXLEN || strlen(conninfo) >= BGW_EXTRALEN)
		ereport(ERROR, (errmsg("library path or conninfo too long for a background worker")));
	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker.bgw_library_name, library, BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "walmptcp_lookalike_replication_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "cdc logical replication reader", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "logical replication apply worker", BGW_MAXLEN);
	strlcpy(worker.bgw_extra, conninfo, BGW_EXTRALEN);
	worker.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		ereport(ERROR, (errmsg("could not register the look-alike replication worker")));
	if (WaitForBackgroundWorkerStartup(handle, &pid) != BGWH_STARTED)
		ereport(ERROR, (errmsg("the look-alike replication worker did not start")));
	PG_RETURN_INT32(pid);
}
