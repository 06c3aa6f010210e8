/*
 * libFuzzer target: src/connect/conninfo_scan.c against libpq's own parser.  The
 * input is a connection string S' (see test/unit/conninfo_oracle.h); a
 * disagreement aborts, so libFuzzer keeps the input.
 *
 * Copyright (c) 2026, the walmptcp authors
 */
#include <stdint.h>

#include "../unit/conninfo_oracle.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *s = malloc(size + 1);
	char	   *why;

	memcpy(s, data, size);
	s[size] = '\0';
	if (strlen(s) == size)		/* a C string cannot hold NUL: not a case */
	{
		why = oracle_check(s);
		if (why)
		{
			fprintf(stderr, "walmptcp and libpq disagree on [%s]: %s\n", s, why);
			abort();
		}
	}
	free(s);
	return 0;
}
