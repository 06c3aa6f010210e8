/*
 * refuse-sockopt: run a command under a seccomp filter that makes
 * setsockopt(fd, IPPROTO_TCP, OPTION, ...) fail with an errno, the way
 * kernels that do not implement an option on MPTCP sockets answer.
 *
 *   refuse-sockopt TCP_NODELAY=EOPNOTSUPP,TCP_KEEPIDLE=ENOPROTOOPT -- CMD [ARG...]
 *
 * get:OPTION=ERRNO refuses getsockopt() of the option the same way, and
 * mptcp6=ERRNO refuses socket(AF_INET6, SOCK_STREAM, IPPROTO_MPTCP), as a
 * kernel built with CONFIG_MPTCP_IPV6=n does (IPv4 MPTCP still works).
 * sockdiag=ERRNO refuses socket(AF_NETLINK, *, NETLINK_SOCK_DIAG), as a
 * seccomp or LSM policy of a sandboxed service does.
 *
 * The filter cannot tell MPTCP from TCP sockets: every IPPROTO_TCP call of
 * that option fails, in CMD and everything it starts.  Used by
 * t/019_tcp_option_refusals.pl and t/002_fallback.pl (the lab's
 * WALMPTCP_LAB_WRAP).
 *
 * Copyright (c) 2026, the walmptcp authors
 */
#include <errno.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct
{
	const char *name;
	int			value;
}			options[] = {
	{"TCP_NODELAY", TCP_NODELAY},
	{"TCP_KEEPIDLE", TCP_KEEPIDLE},
	{"TCP_KEEPINTVL", TCP_KEEPINTVL},
	{"TCP_KEEPCNT", TCP_KEEPCNT},
	{"TCP_USER_TIMEOUT", TCP_USER_TIMEOUT},
}, errnos[] = {
	{"EOPNOTSUPP", EOPNOTSUPP},
	{"ENOPROTOOPT", ENOPROTOOPT},
	{"EACCES", EACCES},
	{"EPROTONOSUPPORT", EPROTONOSUPPORT},
	{"EINVAL", EINVAL},
};

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

static int
lookup(const char *name, size_t len, int table)
{
	size_t		n = table ? sizeof(errnos) / sizeof(errnos[0]) : sizeof(options) / sizeof(options[0]);

	for (size_t i = 0; i < n; i++)
	{
		const char *candidate = table ? errnos[i].name : options[i].name;

		if (strlen(candidate) == len && strncmp(candidate, name, len) == 0)
			return table ? errnos[i].value : options[i].value;
	}
	fprintf(stderr, "refuse-sockopt: unknown %s \"%.*s\"\n", table ? "errno" : "option", (int) len, name);
	exit(2);
}

int
main(int argc, char **argv)
{
	scmp_filter_ctx ctx;
	const char *spec;

	if (argc < 4 || strcmp(argv[2], "--") != 0)
	{
		fprintf(stderr, "usage: refuse-sockopt OPTION=ERRNO[,...] -- CMD [ARG...]\n");
		return 2;
	}
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (ctx == NULL)
		return 1;
	for (spec = argv[1]; *spec;)
	{
		const char *eq = strchr(spec, '=');
		const char *end = strchr(spec, ',');
		int			opt,
					err,
					rc;
		int			syscall_nr = SCMP_SYS(setsockopt);

		if (end == NULL)
			end = spec + strlen(spec);
		if (eq == NULL || eq > end)
		{
			fprintf(stderr, "refuse-sockopt: \"%s\": expected OPTION=ERRNO\n", spec);
			return 2;
		}
		err = lookup(eq + 1, end - eq - 1, 1);
		if (strncmp(spec, "mptcp6=", 7) == 0)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(err), SCMP_SYS(socket), 3,
								  SCMP_A0(SCMP_CMP_EQ, AF_INET6),
								  SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_STREAM),
								  SCMP_A2(SCMP_CMP_EQ, IPPROTO_MPTCP));
		else if (strncmp(spec, "sockdiag=", 9) == 0)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(err), SCMP_SYS(socket), 2,
								  SCMP_A0(SCMP_CMP_EQ, AF_NETLINK),
								  SCMP_A2(SCMP_CMP_EQ, NETLINK_SOCK_DIAG));
		else
		{
			if (strncmp(spec, "get:", 4) == 0)
			{
				syscall_nr = SCMP_SYS(getsockopt);
				spec += 4;
			}
			opt = lookup(spec, eq - spec, 0);
			rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(err), syscall_nr, 2,
								  SCMP_A1(SCMP_CMP_EQ, IPPROTO_TCP),
								  SCMP_A2(SCMP_CMP_EQ, opt));
		}
		if (rc != 0)
		{
			fprintf(stderr, "refuse-sockopt: seccomp_rule_add failed\n");
			return 1;
		}
		spec = *end ? end + 1 : end;
	}
	if (seccomp_load(ctx) != 0)
	{
		fprintf(stderr, "refuse-sockopt: seccomp_load failed\n");
		return 1;
	}
	seccomp_release(ctx);
	execvp(argv[3], argv + 3);
	perror("refuse-sockopt: exec");
	return 127;
}
