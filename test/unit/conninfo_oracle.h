/*
 * The differential oracle for src/connect/conninfo_scan.c, shared by the unit test
 * (test/unit/conninfo_diff_test.c, a generated corpus) and the fuzz target
 * (test/fuzz/conninfo_fuzz.c).
 *
 * libpq cannot parse a string that contains "mptcp" (an unknown keyword),
 * so the oracle uses a stand-in libpq does know: a test string S' is written
 * with the keyword "requirepeer", and S is S' with every occurrence of
 * "requirepeer" replaced by "mptcp" (tokenisation does not change: both are
 * plain letters).  Then libpq's reading of S', with that replacement
 * applied to its values, is what libpq would read from S if it knew mptcp:
 *
 * - libpq accepts S': scanning S must find mptcp exactly when S' sets
 *   requirepeer, with the same value and application_name; the string
 *   walmptcp hands to libpq must parse to every other option of S'.
 * - libpq rejects S': the string walmptcp hands to libpq must be rejected
 *   with the same error (compared up to its first quote, since some errors
 *   quote the whole string, which is shorter without the keyword).
 *
 * Copyright (c) 2026, the walmptcp authors
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "../../src/connect/conninfo_scan.h"

#define STAND_IN "requirepeer"
#define KEYWORD "mptcp"

/* s with every STAND_IN replaced by KEYWORD (malloc'd); NULL stays NULL. */
static char *
oracle_subst(const char *s)
{
	size_t		n = 0;
	char	   *out,
			   *o;

	if (s == NULL)
		return NULL;
	out = o = malloc(strlen(s) + 1);
	while (s[n])
	{
		if (strncmp(s + n, STAND_IN, strlen(STAND_IN)) == 0)
		{
			memcpy(o, KEYWORD, strlen(KEYWORD));
			o += strlen(KEYWORD);
			n += strlen(STAND_IN);
		}
		else
			*o++ = s[n++];
	}
	*o = '\0';
	return out;
}

static const char *
option_value(PQconninfoOption *opts, const char *keyword)
{
	for (PQconninfoOption *o = opts; o && o->keyword; o++)
		if (strcmp(o->keyword, keyword) == 0)
			return o->val;
	return NULL;
}

static int
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* An error message up to its first quote (or newline). */
static size_t
error_kind_len(const char *msg)
{
	return strcspn(msg, "\"\n");
}

static int
occurrences(const char *s)
{
	int			n = 0;

	for (const char *p = s; (p = strstr(p, STAND_IN)) != NULL; p++)
		n++;
	return n;
}

/*
 * Can escapes (a backslash, a %XX) make or break a stand-in?  Then the
 * textual replacement and libpq's reading of S' part ways and the string
 * is no test of the scanner.
 */
static int
escapes_touch_stand_in(const char *s)
{
	char	   *plain = malloc(strlen(s) + 1);
	char	   *o = plain;
	int			touched;

	for (const char *p = s; *p; p++)
	{
		if (*p == '\\')
			continue;
		if (*p == '%' && p[1] && p[2])
		{
			char		hex[3] = {p[1], p[2], 0};
			char	   *end;
			long		c = strtol(hex, &end, 16);

			if (*end == '\0' && c > 0)
			{
				*o++ = (char) c;
				p += 2;
				continue;
			}
		}
		*o++ = *p;
	}
	*o = '\0';
	touched = occurrences(plain) != occurrences(s);
	free(plain);
	return touched;
}

/*
 * Check one S'.  Returns NULL when walmptcp and libpq agree, else a
 * malloc'd description of the disagreement.
 */
static char *
oracle_check(const char *s_prime)
{
	char	   *s = oracle_subst(s_prime);
	char	   *err_prime = NULL,
			   *err = NULL;
	PQconninfoOption *expected = PQconninfoParse(s_prime, &err_prime);
	PQconninfoOption *got = NULL;
	WalmptcpConninfoScan scan;
	char		why[600] = "";

	memset(&scan, 0, sizeof(scan));
	if (escapes_touch_stand_in(s_prime))
		goto done;
	if (!walmptcp_conninfo_scan(s, PQlibVersion(), &scan))
	{
		snprintf(why, sizeof(why), "scanner out of memory");
		goto done;
	}
	got = PQconninfoParse(scan.conninfo, &err);

	if (expected == NULL)
	{
		char	   *want = oracle_subst(err_prime ? err_prime : "");

		/* S' itself uses the real keyword (libpq: unknown): no stand-in to judge by */
		if (err_prime && strstr(err_prime, "\"" KEYWORD "\""))
		{
			free(want);
			goto done;
		}

		if (got != NULL)
			snprintf(why, sizeof(why), "libpq rejects the original (%s) but accepts walmptcp's string", want);
		else if (error_kind_len(want) != error_kind_len(err ? err : "") ||
				 strncmp(want, err ? err : "", error_kind_len(want)) != 0)
			snprintf(why, sizeof(why), "different errors: want \"%s\" got \"%s\"", want, err ? err : "");
		free(want);
		goto done;
	}
	if (got == NULL)
	{
		snprintf(why, sizeof(why), "walmptcp's string is rejected: %s", err ? err : "?");
		goto done;
	}
	/*
	 * The stand-in written so that the replacement does not see it
	 * ("requir%65peer", "r\\equirepeer") still reaches libpq as the stand-in:
	 * not a case this oracle can judge.
	 */
	if (option_value(got, STAND_IN) != NULL)
		goto done;
	for (PQconninfoOption *o = expected; o->keyword; o++)
	{
		char	   *want = strcmp(o->keyword, STAND_IN) == 0 ? NULL : oracle_subst(o->val);
		/* also on libpq's side: an escaped stand-in is not replaced in S */
		char	   *have = oracle_subst(option_value(got, o->keyword));

		if (!same(want, have))
			snprintf(why, sizeof(why), "option %s: want \"%s\" got \"%s\"", o->keyword,
					 want ? want : "(null)", have ? have : "(null)");
		free(want);
		free(have);
		if (why[0])
			goto done;
	}
	{
		char	   *mode = oracle_subst(option_value(expected, STAND_IN));
		char	   *app = oracle_subst(option_value(expected, "application_name"));
		char	   *service = oracle_subst(option_value(expected, "service"));
		char	   *scanned_service = oracle_subst(scan.service);
		char	   *servicefile = oracle_subst(option_value(expected, "servicefile"));
		char	   *scanned_servicefile = oracle_subst(scan.servicefile);
		char	   *scanned_app = oracle_subst(scan.application_name);
		char	   *scanned_mode = oracle_subst(scan.mode_value);

		if (scan.found != (mode != NULL) || !same(scanned_mode, mode))
			snprintf(why, sizeof(why), "mptcp: want %s \"%s\" got %s \"%s\"",
					 mode ? "found" : "absent", mode ? mode : "",
					 scan.found ? "found" : "absent", scan.mode_value ? scan.mode_value : "");
		else if (!same(scanned_app, app))
			snprintf(why, sizeof(why), "application_name: want \"%s\" got \"%s\"",
					 app ? app : "(null)", scan.application_name ? scan.application_name : "(null)");
		else if (!same(scanned_service, service))
			snprintf(why, sizeof(why), "service: want \"%s\" got \"%s\"",
					 service ? service : "(null)", scan.service ? scan.service : "(null)");
		else if (!same(scanned_servicefile, servicefile))
			snprintf(why, sizeof(why), "servicefile: want \"%s\" got \"%s\"",
					 servicefile ? servicefile : "(null)",
					 scan.servicefile ? scan.servicefile : "(null)");
		free(servicefile);
		free(scanned_servicefile);
		free(mode);
		free(app);
		free(scanned_app);
		free(scanned_mode);
		free(service);
		free(scanned_service);
	}

done:
	if (expected)
		PQconninfoFree(expected);
	if (got)
		PQconninfoFree(got);
	PQfreemem(err_prime);
	PQfreemem(err);
	walmptcp_conninfo_scan_free(&scan);
	free(s);
	return why[0] ? strdup(why) : NULL;
}
