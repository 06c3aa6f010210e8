/*
 * Unit test of src/connect/service_file.c: which file decides whether a service
 * sets a keyword, in libpq's order (fe-connect.c, parseServiceInfo, 19):
 * the servicefile connection option, else PGSERVICEFILE, else
 * ~/.pg_service.conf; then pg_service.conf in PGSYSCONFDIR.
 *
 * Copyright (c) 2026, the walmptcp authors
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/connect/service_file.h"

static int	failures = 0;
static int	n = 0;

static void
check(int ok, const char *what)
{
	printf("%s %d - %s\n", ok ? "ok" : "not ok", ++n, what);
	if (!ok)
		failures++;
}

static void
write_file(const char *path, const char *text)
{
	FILE	   *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
	{
		perror(path);
		exit(2);
	}
}

int
main(void)
{
	char		dir[] = "/tmp/walmptcp-service-XXXXXX";
	char		named[256],
				home_file[256],
				env_file[256],
				sys_file[256],
				file[256];
	int			line;

	if (mkdtemp(dir) == NULL)
	{
		perror("mkdtemp");
		return 2;
	}
	snprintf(named, sizeof(named), "%s/named.conf", dir);
	snprintf(home_file, sizeof(home_file), "%s/.pg_service.conf", dir);
	snprintf(env_file, sizeof(env_file), "%s/env.conf", dir);
	snprintf(sys_file, sizeof(sys_file), "%s/pg_service.conf", dir);
	write_file(named, "[x]\nhost=h\n\nmptcp=1\n");
	write_file(home_file, "[x]\nhost=h\n");
	write_file(env_file, "[x]\nmptcp=on\n");
	setenv("HOME", dir, 1);
	unsetenv("PGSERVICEFILE");
	setenv("PGSYSCONFDIR", "/nonexistent", 1);

	line = walmptcp_service_sets("x", named, "mptcp", "/nonexistent", file, sizeof(file));
	check(line == 4 && strcmp(file, named) == 0,
		  "servicefile sets mptcp, ~/.pg_service.conf does not: found in the named file");
	line = walmptcp_service_sets("x", NULL, "mptcp", "/nonexistent", file, sizeof(file));
	check(line == 0, "without servicefile: ~/.pg_service.conf decides (no mptcp)");

	/* the reverse */
	write_file(named, "[x]\nhost=h\n");
	write_file(home_file, "[x]\nmptcp=1\n");
	line = walmptcp_service_sets("x", named, "mptcp", "/nonexistent", file, sizeof(file));
	check(line == 0, "servicefile without mptcp, ~/.pg_service.conf with: not refused");
	line = walmptcp_service_sets("x", NULL, "mptcp", "/nonexistent", file, sizeof(file));
	check(line == 2 && strcmp(file, home_file) == 0, "without servicefile: ~/.pg_service.conf sets it");

	/* servicefile wins over PGSERVICEFILE too */
	setenv("PGSERVICEFILE", env_file, 1);
	line = walmptcp_service_sets("x", named, "mptcp", "/nonexistent", file, sizeof(file));
	check(line == 0, "servicefile before PGSERVICEFILE");
	line = walmptcp_service_sets("x", NULL, "mptcp", "/nonexistent", file, sizeof(file));
	check(line == 2 && strcmp(file, env_file) == 0, "PGSERVICEFILE before ~/.pg_service.conf");

	/* a named file without the service: the system file decides */
	unsetenv("PGSERVICEFILE");
	unsetenv("PGSYSCONFDIR");
	write_file(named, "[other]\nmptcp=1\n");
	write_file(sys_file, "# system\n[x]\nmptcp=1\n");
	line = walmptcp_service_sets("x", named, "mptcp", dir, file, sizeof(file));
	check(line == 3 && strcmp(file, sys_file) == 0,
		  "service not in the named file: pg_service.conf in the system directory");

	unlink(named);
	unlink(home_file);
	unlink(env_file);
	unlink(sys_file);
	rmdir(dir);
	printf("1..%d\n", n);
	return failures ? 1 : 0;
}
