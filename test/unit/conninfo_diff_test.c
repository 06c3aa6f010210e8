/*
 * Differential test of src/connect/conninfo_scan.c against libpq's own parser
 * (PQconninfoParse) on a generated corpus of connection strings, both
 * forms, valid and broken: quoting, backslashes (also trailing), blanks
 * around '=', URIs with user information containing '?', IPv6 hosts, host
 * lists, percent-encoding (also %00 and broken escapes), repeated keywords,
 * syntax errors before and after the keyword.  The oracle is in
 * conninfo_oracle.h.
 *
 *   conninfo_diff_test [COUNT [SEED]]     (default 200000 strings, seed 1)
 *
 * Prints a summary line; exit status 1 and the first disagreements when
 * walmptcp and libpq disagree on any string.
 *
 * Copyright (c) 2026, the walmptcp authors
 */
#include <stdint.h>

#include "conninfo_oracle.h"

static uint64_t rng_state;

static uint32_t
rnd(uint32_t n)
{
	/* xorshift64*: reproducible for a seed */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t) ((rng_state * 2685821657736338717ULL) >> 32) % n;
}

typedef struct Str
{
	char		data[1024];
	size_t		len;
} Str;

static void
put(Str *s, const char *t)
{
	size_t		n = strlen(t);

	if (s->len + n < sizeof(s->data))
	{
		memcpy(s->data + s->len, t, n + 1);
		s->len += n;
	}
}

static void
putc_(Str *s, char c)
{
	char		t[2] = {c, 0};

	put(s, t);
}

static const char *const keywords[] = {
	"host", "port", "dbname", "user", "password", "application_name",
	"options", "sslmode", "connect_timeout", "keepalives_idle", "service",
	"target_session_attrs", STAND_IN, STAND_IN, STAND_IN,
	"servicefile",				/* last: only libpq 19+ knows it */
};
/* a libpq that does not know servicefile would reject every string with it */
#define NKEYWORDS (sizeof(keywords) / sizeof(keywords[0]) - (PQlibVersion() < 190000))

/* characters values are made of: the special ones often */
static const char value_chars[] = "ab1 '\\=?&%@/:,[]\t-_.";
static const char *const value_words[] = {
	"1", "0", "on", "off", "prefer", "require", "yes", "PREFER", "", "x y",
	STAND_IN, "requirepeer=1", "h1,h2", "\xc3\xa9", "\x80",
};

static void
raw_value(Str *v)
{
	if (rnd(3) == 0)
	{
		put(v, value_words[rnd(sizeof(value_words) / sizeof(value_words[0]))]);
		return;
	}
	for (int n = rnd(7); n > 0; n--)
		putc_(v, value_chars[rnd(sizeof(value_chars) - 1)]);
}

/* key=value form: tokens, mostly well formed, sometimes broken */
static void
gen_keyword_value(Str *s)
{
	for (int t = rnd(6); t >= 0; t--)
	{
		Str			v = {{0}, 0};

		if (rnd(4) == 0)
			put(s, rnd(2) ? " " : "\t");
		put(s, rnd(40) == 0 ? "bogus" : keywords[rnd(NKEYWORDS)]);
		if (rnd(8) == 0)
			put(s, " ");
		if (rnd(60) != 0)		/* sometimes no '=' at all */
			put(s, "=");
		if (rnd(8) == 0)
			put(s, " ");
		raw_value(&v);
		switch (rnd(4))
		{
			case 0:				/* raw: whatever libpq makes of it */
				put(s, v.data);
				break;
			case 1:				/* quoted, escaped; sometimes unterminated */
				putc_(s, '\'');
				for (size_t i = 0; i < v.len; i++)
				{
					if (v.data[i] == '\'' || v.data[i] == '\\')
						putc_(s, '\\');
					putc_(s, v.data[i]);
				}
				if (rnd(20) != 0)
					putc_(s, '\'');
				break;
			default:			/* unquoted, blanks and quotes escaped */
				for (size_t i = 0; i < v.len; i++)
				{
					if (v.data[i] == ' ' || v.data[i] == '\t' || v.data[i] == '\'' || v.data[i] == '\\')
						putc_(s, '\\');
					putc_(s, v.data[i]);
				}
				if (rnd(15) == 0)
					putc_(s, '\\');	/* trailing backslash */
				break;
		}
		if (t > 0 || rnd(4) == 0)
			put(s, rnd(5) ? " " : "  ");
	}
}

static void
percent_encoded(Str *s, const char *t)
{
	for (; *t; t++)
	{
		if (rnd(5) == 0 && !(*t >= 'a' && *t <= 'z'))
		{
			char		hex[4];

			snprintf(hex, sizeof(hex), "%%%02X", (unsigned char) *t);
			put(s, hex);
		}
		else
			putc_(s, *t);
	}
	switch (rnd(40))
	{
		case 0:
			put(s, "%00");
			break;
		case 1:
			put(s, "%G1");
			break;
		case 2:
			put(s, "%");
			break;
	}
}

/* URI form */
static void
gen_uri(Str *s)
{
	static const char *const userinfo[] = {
		"u", "u:p", "u:pa?ss", "u:p&q=r", "u:p/x", ":p", "u:p%3F", "u@v:w",
	};
	static const char *const hosts[] = {
		"h", "h:5432", "[::1]", "[::1]:5432", "10.0.0.1", "h?", "ho[st", "[::1", "",
	};
	static const char *const dbnames[] = {"db", "d?b", "d%20b", "", "db/x"};

	put(s, rnd(3) ? "postgresql://" : "postgres://");
	if (rnd(2))
	{
		put(s, userinfo[rnd(sizeof(userinfo) / sizeof(userinfo[0]))]);
		put(s, "@");
	}
	for (int h = rnd(3); h >= 0; h--)
	{
		put(s, hosts[rnd(sizeof(hosts) / sizeof(hosts[0]))]);
		if (h > 0)
			put(s, ",");
	}
	if (rnd(4))
	{
		put(s, "/");
		put(s, dbnames[rnd(sizeof(dbnames) / sizeof(dbnames[0]))]);
	}
	if (rnd(6) == 0)
		return;
	put(s, "?");
	for (int p = rnd(5); p >= 0; p--)
	{
		Str			v = {{0}, 0};

		percent_encoded(s, rnd(40) == 0 ? "bogus" : keywords[rnd(NKEYWORDS)]);
		if (rnd(40) != 0)
			put(s, "=");
		raw_value(&v);
		/* '&' and a second '=' end or break a parameter: mostly encode them */
		for (size_t i = 0; i < v.len; i++)
		{
			if ((v.data[i] == '&' || v.data[i] == '=') && rnd(6) != 0)
			{
				char		hex[4];

				snprintf(hex, sizeof(hex), "%%%02X", (unsigned char) v.data[i]);
				put(s, hex);
			}
			else
			{
				char		one[2] = {v.data[i], 0};

				percent_encoded(s, one);
			}
		}
		if (p > 0)
			put(s, rnd(30) ? "&" : "&&");
	}
}

/* Strings where walmptcp once disagreed with libpq (the first corpus finds them too). */
static const char *const known_cases[] = {
	"host=h requirepeer=1 password=ab\\",	/* trailing unquoted backslash */
	"host=h requirepeer='1\\",		/* ... inside an unterminated quote */
	"postgresql://u:pa?ss@h/db?requirepeer=1",	/* '?' in the password */
	"postgresql://h/db?requirepeer=1%00",	/* %00 */
	"postgresql://h/db?requirepeer=%G1",	/* broken escape */
	"requirepeer=1 host='h",			/* syntax error after the keyword */
	"requirepeer=1 host",				/* missing '=' after the keyword */
	"postgresql://h?requirepeer=/&user=a@b",	/* '/' removed, '@' exposed */
	"postgresql://h?a=1&&requirepeer=1",	/* empty parameter before it */
	"host='h'requirepeer=1 port=5",	/* no blank after a quoted value */
	"requirepeer=1 postgres://h/db",	/* what is left must not become a URI */
	"requirepeer=1\fpostgresql://a=1 requirepeer=2",	/* ... also when more goes */
	NULL
};

int
main(int argc, char **argv)
{
	long		count = argc > 1 ? atol(argv[1]) : 200000;
	long		accepted = 0,
				with_keyword = 0,
				failures = 0;

	for (int i = 0; known_cases[i]; i++)
	{
		char	   *why = oracle_check(known_cases[i]);

		if (why)
		{
			printf("DISAGREE on known case [%s]: %s\n", known_cases[i], why);
			failures++;
			free(why);
		}
	}
	rng_state = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
	if (rng_state == 0)
		rng_state = 1;
	for (long i = 0; i < count; i++)
	{
		Str			s = {{0}, 0};
		char	   *why;
		char	   *e = NULL;
		PQconninfoOption *o;

		if (rnd(2))
			gen_keyword_value(&s);
		else
			gen_uri(&s);
		o = PQconninfoParse(s.data, &e);
		if (o)
		{
			accepted++;
			if (option_value(o, STAND_IN))
				with_keyword++;
			PQconninfoFree(o);
		}
		PQfreemem(e);
		why = oracle_check(s.data);
		if (why)
		{
			if (failures++ < 10)
				printf("DISAGREE on [%s]: %s\n", s.data, why);
			free(why);
		}
	}
	printf("conninfo differential test: %ld strings, %ld accepted by libpq (%ld with the keyword), %ld rejected, %ld disagreements\n",
		   count, accepted, with_keyword, count - accepted, failures);
	return failures ? 1 : 0;
}
