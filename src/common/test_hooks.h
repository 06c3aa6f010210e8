/*-------------------------------------------------------------------------
 *
 * test_hooks.h
 *	  The counting the "first N fail" test hooks share (builds with
 *	  -DWALMPTCP_TEST_HOOKS only; PostgreSQL-free).
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_TEST_HOOKS_H
#define WALMPTCP_TEST_HOOKS_H

#include <stdbool.h>
#include <stdlib.h>

/*
 * True for the first N calls in this process, N from environment variable
 * env (absent: never); *fired counts them.
 */
static inline bool
test_hook_fires(const char *env, int *fired)
{
	const char *n = getenv(env);

	if (n == NULL || *fired >= atoi(n))
		return false;
	(*fired)++;
	return true;
}

#endif							/* WALMPTCP_TEST_HOOKS_H */
