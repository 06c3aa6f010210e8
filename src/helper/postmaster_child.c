/*-------------------------------------------------------------------------
 *
 * postmaster_child.c
 *	  Which child the postmaster is forking right now: the supervisor?
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
 * The supervisor is known by the postmaster's own record of it (the
 * RegisteredBgWorker that RegisterBackgroundWorker() made for it in
 * _PG_init), never by its library and function names: a dynamic background
 * worker registered at run time with the same names gets another record.
 * Static workers are never forgotten while they restart, so the record
 * stays valid for the postmaster's life.
 *
 * Version differences (the only postmaster internals walmptcp reads):
 *	15-17: BackgroundWorkerList is an slist, RegisterBackgroundWorker pushes
 *		   at its head; RegisteredBgWorker.rw_backend is set before fork,
 *		   rw_pid after;
 *	18+:   BackgroundWorkerList is a dlist (pushed at its head too); PMChild
 *		   (ActiveChildList) is assigned with pid 0 before fork, its rw
 *		   points at the worker, and pid is set after fork.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <dlfcn.h>

#include "lib/ilist.h"
#include "postmaster/bgworker_internals.h"
#include "postmaster/postmaster.h"
#include "postmaster_child.h"


/* the postmaster's record of the supervisor, NULL if it has none */
static RegisteredBgWorker *supervisor_worker = NULL;

static RegisteredBgWorker *
newest_registered(void)
{
#if PG_VERSION_NUM >= 180000
	if (dlist_is_empty(&BackgroundWorkerList))
		return NULL;
	return dlist_head_element(RegisteredBgWorker, rw_lnode, &BackgroundWorkerList);
#else
	if (slist_is_empty(&BackgroundWorkerList))
		return NULL;
	return slist_head_element(RegisteredBgWorker, rw_lnode, &BackgroundWorkerList);
#endif
}

/*
 * Register the supervisor (in _PG_init, postmaster) and remember the
 * postmaster's record of it.  The library is named by the absolute path of
 * the file the postmaster loaded, so that the supervisor, which keeps the
 * helper's socket, runs that file and no other one a changed
 * dynamic_library_path would find.
 */
void
walmptcp_register_supervisor_worker(BackgroundWorker *worker)
{
	RegisteredBgWorker *before = newest_registered();
	RegisteredBgWorker *after;
	Dl_info		self;

	if (dladdr((void *) walmptcp_register_supervisor_worker, &self) != 0 &&
		self.dli_fname != NULL && self.dli_fname[0] == '/' &&
		strlen(self.dli_fname) < BGW_MAXLEN)
		strlcpy(worker->bgw_library_name, self.dli_fname, BGW_MAXLEN);
	RegisterBackgroundWorker(worker);
	after = newest_registered();
	/* not registered (too many workers, not in the postmaster): none */
	if (after != NULL && after != before &&
		strcmp(after->rw_worker.bgw_library_name, worker->bgw_library_name) == 0 &&
		strcmp(after->rw_worker.bgw_function_name, worker->bgw_function_name) == 0)
		supervisor_worker = after;
}

/*
 * In a child the postmaster has just forked (before the child has run any
 * of its own code): is it the supervisor registered in _PG_init?
 */
bool
walmptcp_forked_as_supervisor(void)
{
#if PG_VERSION_NUM >= 180000
	dlist_iter	iter;

	if (supervisor_worker == NULL)
		return false;
	dlist_foreach(iter, &ActiveChildList)
	{
		PMChild    *child = dlist_container(PMChild, elem, iter.cur);

		if (child->pid == 0 && child->rw != NULL)
			return child->rw == supervisor_worker;
	}
#else
	slist_iter	iter;

	if (supervisor_worker == NULL)
		return false;
	slist_foreach(iter, &BackgroundWorkerList)
	{
		RegisteredBgWorker *rw = slist_container(RegisteredBgWorker, rw_lnode, iter.cur);

		if (rw->rw_pid == 0 && rw->rw_backend != NULL)
			return rw == supervisor_worker;
	}
#endif
	return false;
}
