/*-------------------------------------------------------------------------
 *
 * endpoint_helper.h
 *	  The endpoint helper process and its guardian (PostgreSQL-free).
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_ENDPOINT_HELPER_H
#define WALMPTCP_ENDPOINT_HELPER_H

#include <sys/types.h>

/* Never return.  fd: the helper's end of the socketpair; postmaster: the
 * process whose children may send requests. */
extern void walmptcp_helper_main(int fd, pid_t postmaster) __attribute__((noreturn));
extern void walmptcp_guardian_main(int fd, pid_t postmaster) __attribute__((noreturn));

#endif							/* WALMPTCP_ENDPOINT_HELPER_H */
