/*-------------------------------------------------------------------------
 *
 * postmaster_child.c
 *	  Which child the postmaster is forking right now.
 *
 * The endpoint helper's socket must reach the supervisor and no other
 * PostgreSQL process (net_admin.c).  A pthread_atfork() child handler sees
 * every fork, also of the processes that never run extension code
 * (checkpointer, walwriter, autovacuum, syslogger, archiver, parallel
 * workers), but at that point the child does not know yet what it will
 * become.  The postmaster does: before it forks a background worker it
 * books the worker's child slot, and it records the new pid only after
 * fork() has returned in the parent.  So, in the child, right after
 * fork(), the worker that is booked but has no pid yet is the one this
 * process is about to become.
 *
 * Version differences (the only postmaster internals walmptcp reads):
 *	15-17: RegisteredBgWorker.rw_backend is set before fork, rw_pid after;
 *	18+:   PMChild (ActiveChildList) is assigned with pid 0 before fork,
 *		   its rw points at the worker, and pid is set after fork.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/ilist.h"
#include "postmaster/bgworker_internals.h"
#include "postmaster/postmaster.h"

#include "walmptcp.h"

static bool
is_worker(const BackgroundWorker *worker, const char *library, const char *function)
{
	return strcmp(worker->bgw_library_name, library) == 0 &&
		strcmp(worker->bgw_function_name, function) == 0;
}

/*
 * In a child the postmaster has just forked (before the child has run any
 * of its own code): is it the background worker library.function?
 */
bool
walmptcp_forked_as_bgworker(const char *library, const char *function)
{
#if PG_VERSION_NUM >= 180000
	dlist_iter	iter;

	dlist_foreach(iter, &ActiveChildList)
	{
		PMChild    *child = dlist_container(PMChild, elem, iter.cur);

		if (child->pid == 0 && child->rw != NULL &&
			is_worker(&child->rw->rw_worker, library, function))
			return true;
	}
#else
	slist_iter	iter;

	slist_foreach(iter, &BackgroundWorkerList)
	{
		RegisteredBgWorker *rw = slist_container(RegisteredBgWorker, rw_lnode, iter.cur);

		if (rw->rw_pid == 0 && rw->rw_backend != NULL &&
			is_worker(&rw->rw_worker, library, function))
			return true;
	}
#endif
	return false;
}
