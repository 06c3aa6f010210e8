/*-------------------------------------------------------------------------
 *
 * conninfo_mptcp.c
 *	  Find, validate and remove the "mptcp" keyword of a connection string.
 *
 * libpq rejects keywords it does not know, so the keyword must be gone before
 * libpq sees the string.  Both forms libpq accepts are handled:
 *
 *	  host=a,b port=5432 mptcp=1 user=repl
 *	  postgresql://repl@a,b:5432/db?mptcp=1&sslmode=require
 *
 * Everything except the keyword is copied byte for byte, so libpq reports
 * its own errors about the rest exactly as it would have.  When the string
 * cannot be tokenised (unterminated quote, missing '='), it is passed on
 * unchanged and libpq reports the syntax error.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "lib/stringinfo.h"

#include "walmptcp.h"

#define MPTCP_KEYWORD "mptcp"

static bool
parse_mode(const char *value, WalmptcpMode *mode)
{
	static const struct
	{
		const char *name;
		WalmptcpMode mode;
	}			values[] = {
		{"0", WALMPTCP_MODE_OFF}, {"off", WALMPTCP_MODE_OFF},
		{"false", WALMPTCP_MODE_OFF}, {"no", WALMPTCP_MODE_OFF},
		{"1", WALMPTCP_MODE_PREFER}, {"on", WALMPTCP_MODE_PREFER},
		{"true", WALMPTCP_MODE_PREFER}, {"yes", WALMPTCP_MODE_PREFER},
		{"prefer", WALMPTCP_MODE_PREFER},
		{"require", WALMPTCP_MODE_REQUIRE},
	};

	for (size_t i = 0; i < lengthof(values); i++)
	{
		if (pg_strcasecmp(value, values[i].name) == 0)
		{
			*mode = values[i].mode;
			return true;
		}
	}
	return false;
}

static void
set_mode(WalmptcpConninfo *result, const char *value)
{
	result->specified = true;
	result->error = NULL;
	if (!parse_mode(value, &result->mode))
		result->error = psprintf("invalid value for connection option \"%s\": \"%s\"",
								 MPTCP_KEYWORD, value);
}

static bool
is_uri(const char *conninfo)
{
	return strncmp(conninfo, "postgresql://", 13) == 0 ||
		strncmp(conninfo, "postgres://", 11) == 0;
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = pg_tolower((unsigned char) c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Percent-decode [s, s+len) into a palloc'd string; NULL if malformed. */
static char *
percent_decode(const char *s, size_t len)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (size_t i = 0; i < len; i++)
	{
		if (s[i] == '%')
		{
			int			hi,
						lo;

			if (i + 2 >= len)
				return NULL;
			hi = hex_value(s[i + 1]);
			lo = hex_value(s[i + 2]);
			if (hi < 0 || lo < 0)
				return NULL;
			appendStringInfoChar(&buf, (char) (hi * 16 + lo));
			i += 2;
		}
		else
			appendStringInfoChar(&buf, s[i]);
	}
	return buf.data;
}

/* URI form: drop every "mptcp=..." query parameter. */
static void
parse_uri(const char *conninfo, WalmptcpConninfo *result)
{
	const char *query = strchr(conninfo, '?');
	const char *p;
	StringInfoData out;
	bool		first = true;

	if (query == NULL)
		return;

	initStringInfo(&out);
	appendBinaryStringInfo(&out, conninfo, query - conninfo);
	p = query + 1;
	while (*p)
	{
		const char *end = strchr(p, '&');
		size_t		len = end ? (size_t) (end - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		char	   *key = eq ? percent_decode(p, eq - p) : NULL;

		if (key != NULL && strcmp(key, "application_name") == 0)
			result->application_name = percent_decode(eq + 1, len - (eq + 1 - p));
		if (key != NULL && strcmp(key, MPTCP_KEYWORD) == 0)
		{
			size_t		value_len = len - (eq + 1 - p);
			char	   *value = percent_decode(eq + 1, value_len);

			set_mode(result, value ? value : pnstrdup(eq + 1, value_len));
		}
		else if (len > 0)
		{
			appendStringInfoChar(&out, first ? '?' : '&');
			appendBinaryStringInfo(&out, p, len);
			first = false;
		}
		p += len;
		if (*p == '&')
			p++;
	}
	result->conninfo = out.data;
}

/*
 * key=value form, tokenised the way libpq's conninfo_parse() does: keyword,
 * optional blanks, '=', optional blanks, then a value that is either
 * single-quoted or runs to the next blank, with backslash escapes.
 */
static void
parse_keyword_value(const char *conninfo, WalmptcpConninfo *result)
{
	const char *p = conninfo;
	StringInfoData out;
	const char *copied = conninfo;	/* start of text not yet copied */
	bool		found = false;

	initStringInfo(&out);
	for (;;)
	{
		const char *token_start;
		const char *key_start;
		size_t		key_len;
		StringInfoData value;

		while (isspace((unsigned char) *p))
			p++;
		if (*p == '\0')
			break;
		token_start = p;
		key_start = p;
		while (*p && *p != '=' && !isspace((unsigned char) *p))
			p++;
		key_len = p - key_start;
		while (isspace((unsigned char) *p))
			p++;
		if (*p != '=')
			return;				/* syntax error: leave it to libpq */
		p++;
		while (isspace((unsigned char) *p))
			p++;

		initStringInfo(&value);
		if (*p == '\'')
		{
			p++;
			while (*p && *p != '\'')
			{
				if (*p == '\\' && p[1])
					p++;
				appendStringInfoChar(&value, *p++);
			}
			if (*p != '\'')
				return;			/* unterminated quote: leave it to libpq */
			p++;
		}
		else
		{
			while (*p && !isspace((unsigned char) *p))
			{
				if (*p == '\\' && p[1])
					p++;
				appendStringInfoChar(&value, *p++);
			}
		}

		if (key_len == strlen("application_name") &&
			strncmp(key_start, "application_name", key_len) == 0)
			result->application_name = pstrdup(value.data);
		if (key_len == strlen(MPTCP_KEYWORD) &&
			strncmp(key_start, MPTCP_KEYWORD, key_len) == 0)
		{
			appendBinaryStringInfo(&out, copied, token_start - copied);
			while (isspace((unsigned char) *p))
				p++;
			copied = p;
			set_mode(result, value.data);
			found = true;
		}
		pfree(value.data);
	}
	if (found)
	{
		appendStringInfoString(&out, copied);
		result->conninfo = out.data;
	}
}

/*
 * Split "conninfo" into the mode walmptcp should use and the string libpq
 * should get.  When the keyword appears more than once the last one wins,
 * as in libpq.  Without the keyword, walmptcp.default_mode applies.
 */
void
walmptcp_parse_conninfo(const char *conninfo, WalmptcpConninfo *result)
{
	result->conninfo = pstrdup(conninfo ? conninfo : "");
	result->specified = false;
	result->mode = (WalmptcpMode) walmptcp_default_mode;
	result->error = NULL;
	result->application_name = NULL;

	if (conninfo == NULL)
		return;
	if (is_uri(conninfo))
		parse_uri(conninfo, result);
	else
		parse_keyword_value(conninfo, result);
}

#define ACCEPTED_VALUES "0, off, false, no, 1, on, true, yes, prefer, require"

/* An invalid mptcp value as an ERROR (CREATE SUBSCRIPTION, SQL functions). */
void
walmptcp_report_invalid_mode(const WalmptcpConninfo *ci)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s", ci->error),
			 errdetail("Accepted values are: %s.", ACCEPTED_VALUES)));
}

/* The same in one line, for walrcv_connect's error string. */
char *
walmptcp_invalid_mode_message(const WalmptcpConninfo *ci)
{
	return psprintf("%s (accepted values: %s)", ci->error, ACCEPTED_VALUES);
}
