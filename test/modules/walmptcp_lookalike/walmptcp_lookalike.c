/*
 * walmptcp_lookalike: registers a dynamic background worker with the
 * supervisor's library and function names ("walmptcp",
 * "walmptcp_supervisor_main"), as any C extension, or plpython3u with
 * ctypes, could.  It must not get the endpoint helper's socket (t/023).
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(walmptcp_lookalike_start);

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
