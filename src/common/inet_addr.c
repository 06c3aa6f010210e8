/*-------------------------------------------------------------------------
 *
 * inet_addr.c
 *	  Socket addresses from and to walmptcp's address vocabulary
 *	  (PostgreSQL-free).
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <arpa/inet.h>

#include "inet_addr.h"

/* A socket address for family, address bytes and port; returns its length. */
socklen_t
inet_addr_to_sockaddr(int family, const uint8_t *addr, uint16_t port,
					  struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET)
	{
		struct sockaddr_in *in = (struct sockaddr_in *) ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		memcpy(&in->sin_addr, addr, 4);
		return sizeof(*in);
	}
	else
	{
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		memcpy(&in6->sin6_addr, addr, INET_ADDR_MAX_LEN);
		return sizeof(*in6);
	}
}

/* Address bytes and port of an AF_INET/AF_INET6 socket address; false else. */
bool
inet_addr_from_sockaddr(const struct sockaddr *sa, uint8_t *addr, uint16_t *port)
{
	if (sa->sa_family == AF_INET)
	{
		const struct sockaddr_in *in = (const struct sockaddr_in *) sa;

		memcpy(addr, &in->sin_addr, 4);
		*port = ntohs(in->sin_port);
		return true;
	}
	if (sa->sa_family == AF_INET6)
	{
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;

		memcpy(addr, &in6->sin6_addr, INET_ADDR_MAX_LEN);
		*port = ntohs(in6->sin6_port);
		return true;
	}
	return false;
}

/* The port of an AF_INET/AF_INET6 socket address, else 0. */
uint16_t
inet_addr_sockaddr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *) ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *) ss)->sin6_port);
	return 0;
}

/* "10.0.0.1:5432" or "[fd00::1]:5432", for events and log lines. */
void
inet_addr_format_endpoint(int family, const uint8_t *addr, uint16_t port,
						  char *buf, size_t len)
{
	char		a[INET6_ADDRSTRLEN] = "?";

	inet_ntop(family, addr, a, sizeof(a));
	snprintf(buf, len, family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, port);
}
