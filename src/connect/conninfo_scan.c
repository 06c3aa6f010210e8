/*-------------------------------------------------------------------------
 *
 * conninfo_scan.c
 *	  Find and remove the "mptcp" keyword of a libpq connection string,
 *	  tokenising it exactly as libpq does.
 *
 * libpq rejects keywords it does not know, so the keyword must be gone before
 * libpq sees the string.  Both forms libpq accepts are handled:
 *
 *	  host=a,b port=5432 mptcp=1 user=repl
 *	  postgresql://repl@a,b:5432/db?mptcp=1&sslmode=require
 *
 * The rules are libpq's (conninfo_parse, conninfo_uri_parse_options,
 * conninfo_uri_decode), so that walmptcp and libpq never disagree about
 * what a string says:
 *
 * - key=value: blanks around '=', values single-quoted or up to the next
 *	 blank, a backslash escapes the next character and a trailing one is
 *	 dropped; no blank is needed after a quoted value.
 * - URI: user information runs to the first '@' before any '/', so '?'
 *	 in a password does not start the query; bracketed IPv6 hosts; query
 *	 parameters percent-decoded, where %00 and broken escapes are errors.
 *
 * Everything except the keyword is copied byte for byte, so libpq reports
 * its own errors about the rest exactly as it would have.  On a syntax
 * error (unterminated quote, missing '=') the mptcp keywords before it are
 * removed and the rest is left as it is: libpq then reports the real error,
 * not an unknown "mptcp".  An mptcp query parameter whose value does not
 * decode is left in place for the same reason, with everything after it
 * (libpq stops at the first parameter it cannot read), and its raw value
 * is returned, which is not a valid mode.
 *
 * Plain C without PostgreSQL (malloc, no ereport): test/unit compares it
 * with libpq's own parser and test/fuzz fuzzes it.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "conninfo_scan.h"

#define MPTCP_KEYWORD "mptcp"
#define APPNAME_KEYWORD "application_name"
#define SERVICE_KEYWORD "service"
#define SERVICEFILE_KEYWORD "servicefile"

/* A growable string; on allocation failure it stays broken (data NULL). */
typedef struct Buf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	bool		failed;
} Buf;

static void
buf_append(Buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap)
	{
		size_t		cap = b->cap ? b->cap : 64;
		char	   *grown;

		while (b->len + n + 1 > cap)
			cap *= 2;
		grown = realloc(b->data, cap);
		if (grown == NULL)
		{
			free(b->data);
			b->data = NULL;
			b->failed = true;
			return;
		}
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void
buf_char(Buf *b, char c)
{
	buf_append(b, &c, 1);
}

/* Take the buffer's string (an empty one if nothing was appended). */
static char *
buf_take(Buf *b, bool *failed)
{
	if (!b->failed && b->data == NULL)
		buf_append(b, "", 0);
	if (b->failed)
		*failed = true;
	return b->data;
}

static char *
copy_of(const char *s, size_t n, bool *failed)
{
	Buf			b = {0};

	buf_append(&b, s, n);
	return buf_take(&b, failed);
}

static void
replace(char **slot, char *value)
{
	free(*slot);
	*slot = value;
}

static bool
keyword_is(const char *key, size_t len, const char *keyword)
{
	return len == strlen(keyword) && strncmp(key, keyword, len) == 0;
}

static size_t uri_prefix_length(const char *conninfo);

/*
 * key=value form.  The loop follows libpq's conninfo_parse() token by
 * token; "copied" is where the text not yet copied to out starts.
 */
static void
scan_keyword_value(const char *conninfo, WalmptcpConninfoScan *scan, bool *failed)
{
	const char *p = conninfo;
	const char *copied = conninfo;
	Buf			out = {0};

	for (;;)
	{
		const char *token_start;
		const char *key;
		size_t		key_len;
		Buf			value = {0};

		while (isspace((unsigned char) *p))
			p++;
		if (*p == '\0')
			break;
		token_start = key = p;
		while (*p && *p != '=' && !isspace((unsigned char) *p))
			p++;
		key_len = p - key;
		while (isspace((unsigned char) *p))
			p++;
		if (*p != '=')
			break;				/* missing "=": libpq reports it */
		p++;
		while (isspace((unsigned char) *p))
			p++;

		if (*p != '\'')
		{
			while (*p && !isspace((unsigned char) *p))
			{
				if (*p == '\\')
				{
					p++;
					if (*p)
						buf_char(&value, *p++);
				}
				else
					buf_char(&value, *p++);
			}
		}
		else
		{
			bool		terminated = false;

			p++;
			while (*p)
			{
				if (*p == '\\')
				{
					p++;
					if (*p)
						buf_char(&value, *p++);
					continue;
				}
				if (*p == '\'')
				{
					p++;
					terminated = true;
					break;
				}
				buf_char(&value, *p++);
			}
			if (!terminated)
			{
				free(value.data);
				break;			/* unterminated quote: libpq reports it */
			}
		}

		if (keyword_is(key, key_len, APPNAME_KEYWORD))
			replace(&scan->application_name, buf_take(&value, failed));
		else if (keyword_is(key, key_len, SERVICE_KEYWORD))
			replace(&scan->service, buf_take(&value, failed));
		else if (keyword_is(key, key_len, SERVICEFILE_KEYWORD))
			replace(&scan->servicefile, buf_take(&value, failed));
		else if (keyword_is(key, key_len, MPTCP_KEYWORD))
		{
			buf_append(&out, copied, token_start - copied);
			while (isspace((unsigned char) *p))
				p++;
			copied = p;
			scan->found = true;
			replace(&scan->mode_value, buf_take(&value, failed));
		}
		else
			free(value.data);
	}
	if (scan->found)
	{
		buf_append(&out, copied, strlen(copied));
		/* "mptcp=1 postgres://..." must not turn into a URI: lead with a blank */
		if (!out.failed && uri_prefix_length(out.data) > 0)
		{
			Buf			blank = {0};

			buf_char(&blank, ' ');
			buf_append(&blank, out.data, out.len);
			free(out.data);
			out = blank;
		}
		replace(&scan->conninfo, buf_take(&out, failed));
	}
	else
		free(out.data);
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decode [s, s+len) as libpq's conninfo_uri_decode() does: NULL
 * for a broken escape or %00 (libpq's errors).  libpq 18 also drops blanks
 * around the text and refuses one inside it ("unexpected spaces found");
 * trim_spaces says to do the same.
 */
static char *
percent_decode(const char *s, size_t len, bool trim_spaces, bool *failed)
{
	Buf			b = {0};

	if (trim_spaces)
	{
		while (len > 0 && *s == ' ')
			s++, len--;
		while (len > 0 && s[len - 1] == ' ')
			len--;
		if (memchr(s, ' ', len) != NULL)
			return NULL;
	}
	for (size_t i = 0; i < len; i++)
	{
		if (s[i] == '%')
		{
			int			hi,
						lo;

			if (i + 2 >= len)
				goto broken;
			hi = hex_value(s[i + 1]);
			lo = hex_value(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				goto broken;
			buf_char(&b, (char) (hi * 16 + lo));
			i += 2;
		}
		else
			buf_char(&b, s[i]);
	}
	return buf_take(&b, failed);

broken:
	free(b.data);
	return NULL;
}

/*
 * Where libpq's URI parser takes the query to start (NULL: no query), walking
 * the URI as conninfo_uri_parse_options() does: user information up to the
 * first '@' before any '/'; hosts, each bracketed or up to ':', '/', '?' or
 * ','; ports up to '/', '?' or ','; a database name up to the first '?'.
 */
static const char *
uri_query(const char *conninfo, size_t prefix_len)
{
	const char *p = conninfo + prefix_len;
	const char *start = p;

	while (*p && *p != '@' && *p != '/')
		p++;
	p = (*p == '@') ? p + 1 : start;

	for (;;)
	{
		if (*p == '[')
		{
			while (*p && *p != ']')
				p++;
			if (*p == '\0')
				return NULL;	/* libpq: no matching "]" */
			p++;
		}
		else
			while (*p && *p != ':' && *p != '/' && *p != '?' && *p != ',')
				p++;
		if (*p == ':')
		{
			p++;
			while (*p && *p != '/' && *p != '?' && *p != ',')
				p++;
		}
		if (*p != ',')
			break;
		p++;
	}
	if (*p == '?')
		return p;
	if (*p == '/')
		return strchr(p, '?');
	return NULL;
}

/*
 * Append a piece of the query.  libpq looks for user information up to the
 * first '@' before any '/' in the whole URI, query included: once a '/' in
 * a removed parameter is gone, an '@' after it could turn the hosts into
 * user information.  So when the URI has none, '@' is written as "%40",
 * which decodes to the same value.
 */
static void
append_query_text(Buf *out, const char *s, size_t len, bool encode_at)
{
	for (size_t i = 0; i < len; i++)
	{
		if (encode_at && s[i] == '@')
			buf_append(out, "%40", 3);
		else
			buf_char(out, s[i]);
	}
}

/* URI form: drop every parameter whose name decodes to "mptcp". */
static void
scan_uri(const char *conninfo, size_t prefix_len, WalmptcpConninfoScan *scan, bool *failed)
{
	const char *query = uri_query(conninfo, prefix_len);
	const char *p;
	Buf			out = {0};
	bool		first = true;

	bool		has_userinfo;

	if (query == NULL)
		return;
	has_userinfo = conninfo[prefix_len + strcspn(conninfo + prefix_len, "@/")] == '@';

	buf_append(&out, conninfo, query - conninfo);
	p = query + 1;
	while (*p)
	{
		const char *end = strchr(p, '&');
		size_t		len = end ? (size_t) (end - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		char	   *key = NULL;
		char	   *value = NULL;
		bool		drop = false;

		if (eq != NULL && memchr(eq + 1, '=', len - (eq + 1 - p)) == NULL)
		{
			key = percent_decode(p, eq - p, scan->libpq_version >= 180000, failed);
			if (key != NULL)
				value = percent_decode(eq + 1, len - (eq + 1 - p),
									   scan->libpq_version >= 180000, failed);
		}
		if (value == NULL)
		{
			/*
			 * No '=', a second one, or an escape that does not decode:
			 * libpq stops at this parameter with its error.  Leave it and
			 * the rest as they are.  An mptcp value that does not decode is
			 * still an mptcp value (raw, so that it is reported invalid).
			 */
			buf_char(&out, first ? '?' : '&');
			append_query_text(&out, p, strlen(p), scan->found && !has_userinfo);
			if (key != NULL && strcmp(key, MPTCP_KEYWORD) == 0)
			{
				scan->found = true;
				replace(&scan->mode_value,
						copy_of(eq + 1, len - (eq + 1 - p), failed));
			}
			free(key);
			break;
		}
		if (strcmp(key, APPNAME_KEYWORD) == 0)
		{
			replace(&scan->application_name, value);
			value = NULL;
		}
		else if (strcmp(key, SERVICE_KEYWORD) == 0)
		{
			replace(&scan->service, value);
			value = NULL;
		}
		else if (strcmp(key, SERVICEFILE_KEYWORD) == 0)
		{
			replace(&scan->servicefile, value);
			value = NULL;
		}
		else if (strcmp(key, MPTCP_KEYWORD) == 0)
		{
			scan->found = true;
			replace(&scan->mode_value, value);
			value = NULL;
			drop = true;
		}
		free(key);
		free(value);
		if (!drop)
		{
			buf_char(&out, first ? '?' : '&');
			append_query_text(&out, p, len, scan->found && !has_userinfo);
			first = false;
		}
		p += len;
		if (*p == '&')
			p++;
	}
	if (scan->found)
		replace(&scan->conninfo, buf_take(&out, failed));
	else
		free(out.data);
}

static size_t
uri_prefix_length(const char *conninfo)
{
	if (strncmp(conninfo, "postgresql://", 13) == 0)
		return 13;
	if (strncmp(conninfo, "postgres://", 11) == 0)
		return 11;
	return 0;
}

bool
walmptcp_conninfo_scan(const char *conninfo, int libpq_version, WalmptcpConninfoScan *scan)
{
	bool		failed = false;
	size_t		prefix;

	memset(scan, 0, sizeof(*scan));
	scan->libpq_version = libpq_version;
	if (conninfo == NULL)
		conninfo = "";
	scan->conninfo = copy_of(conninfo, strlen(conninfo), &failed);
	prefix = uri_prefix_length(conninfo);
	if (!failed)
	{
		if (prefix > 0)
			scan_uri(conninfo, prefix, scan, &failed);
		else
			scan_keyword_value(conninfo, scan, &failed);
	}
	if (failed)
	{
		walmptcp_conninfo_scan_free(scan);
		return false;
	}
	return true;
}

void
walmptcp_conninfo_scan_free(WalmptcpConninfoScan *scan)
{
	free(scan->conninfo);
	free(scan->mode_value);
	free(scan->application_name);
	free(scan->service);
	free(scan->servicefile);
	memset(scan, 0, sizeof(*scan));
}
