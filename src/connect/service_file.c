/*-------------------------------------------------------------------------
 *
 * service_file.c
 *	  Does a libpq connection service set a given keyword?
 *
 * libpq rejects, with "syntax error in service file", any keyword it does
 * not know in pg_service.conf, mptcp included, and walmptcp cannot remove
 * the keyword from a file libpq reads itself.  So a connection whose
 * service sets mptcp is refused with a message that says where and what to
 * do instead; this file finds the place, reading the files libpq reads in
 * the order it reads them (fe-connect.c, parseServiceInfo):
 *
 * 1. the servicefile connection option (libpq 19 and later), else
 *	  PGSERVICEFILE, else .pg_service.conf in the home directory ($HOME, else
 *	  the password database's);
 * 2. pg_service.conf in PGSYSCONFDIR, else in the directory libpq was built
 *	  with (pg_config --sysconfdir; Debian: /etc/postgresql-common).
 *
 * The first file that has the service decides.  Plain C without PostgreSQL.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "service_file.h"

/*
 * In file: 0 when it has no section for service; 1 when it has one (then
 * *line is where that section sets keyword, 0 if it does not).
 */
static int
scan_file(const char *file, const char *service, const char *keyword, int *line)
{
	FILE	   *f = fopen(file, "r");
	char		buf[1024];
	int			linenr = 0;
	int			in_section = 0;

	*line = 0;
	if (f == NULL)
		return 0;
	while (fgets(buf, sizeof(buf), f) != NULL)
	{
		char	   *p = buf;
		size_t		len;

		linenr++;
		len = strlen(p);
		while (len > 0 && isspace((unsigned char) p[len - 1]))
			p[--len] = '\0';
		while (isspace((unsigned char) *p))
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		if (*p == '[')
		{
			if (in_section)
				break;			/* the service's section is over */
			in_section = strncmp(p + 1, service, strlen(service)) == 0 &&
				p[strlen(service) + 1] == ']';
			continue;
		}
		if (in_section)
		{
			char	   *eq = strchr(p, '=');
			size_t		key_len = eq ? (size_t) (eq - p) : 0;

			while (key_len > 0 && isspace((unsigned char) p[key_len - 1]))
				key_len--;
			if (eq && key_len == strlen(keyword) && strncmp(p, keyword, key_len) == 0)
			{
				*line = linenr;
				break;
			}
		}
	}
	fclose(f);
	return in_section;
}

int
walmptcp_service_sets(const char *service, const char *servicefile,
					  const char *keyword, const char *sysconfdir,
					  char *file, size_t file_len)
{
	const char *env;
	int			line;

	if (service == NULL || service[0] == '\0')
		return 0;

	if (servicefile != NULL)
		snprintf(file, file_len, "%s", servicefile);
	else if ((env = getenv("PGSERVICEFILE")) != NULL)
		snprintf(file, file_len, "%s", env);
	else
	{
		const char *home = getenv("HOME");
		struct passwd *pw;

		if ((home == NULL || home[0] == '\0') && (pw = getpwuid(geteuid())) != NULL)
			home = pw->pw_dir;
		snprintf(file, file_len, "%s/.pg_service.conf", home ? home : "");
	}
	if (scan_file(file, service, keyword, &line))
		return line;

	env = getenv("PGSYSCONFDIR");
	snprintf(file, file_len, "%s/pg_service.conf", env ? env : sysconfdir);
	(void) scan_file(file, service, keyword, &line);
	return line;
}
