/*
 * tap.h: the Test Anything Protocol output of the unit tests, written once.
 * Include it in one file per test program.
 *
 * Copyright (c) 2026, the walmptcp authors
 */
#ifndef WALMPTCP_UNIT_TAP_H
#define WALMPTCP_UNIT_TAP_H

#include <stdio.h>

static int	tests = 0;
static int	failed = 0;

static void
ok(int cond, const char *what)
{
	tests++;
	if (!cond)
		failed++;
	printf("%sok %d - %s\n", cond ? "" : "not ", tests, what);
}

#endif
