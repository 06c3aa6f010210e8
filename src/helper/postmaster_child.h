/*-------------------------------------------------------------------------
 *
 * postmaster_child.h
 *	  Which child the postmaster is forking (only the supervisor keeps the
 *	  endpoint helper's socket).
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_POSTMASTER_CHILD_H
#define WALMPTCP_POSTMASTER_CHILD_H

#include <stdbool.h>

struct BackgroundWorker;

extern void walmptcp_register_supervisor_worker(struct BackgroundWorker *worker);
extern bool walmptcp_forked_as_supervisor(void);

#endif							/* WALMPTCP_POSTMASTER_CHILD_H */
