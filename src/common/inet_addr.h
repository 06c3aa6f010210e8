/*-------------------------------------------------------------------------
 *
 * inet_addr.h
 *	  One address vocabulary (PostgreSQL-free): an IPv4 or IPv6 address as
 *	  its family and INET_ADDR_MAX_LEN bytes (IPv4 in the first 4), as the
 *	  kernel's sock_diag, path manager and subflow lists give it.
 *
 * Every subflow, path, endpoint and peer in walmptcp holds its address
 * this way; socket addresses (struct sockaddr_in/in6) are made and read
 * only here.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_INET_ADDR_H
#define WALMPTCP_INET_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define INET_ADDR_MAX_LEN 16	/* an IPv6 address */
/* "[IPv6]:port", with room to spare */
#define INET_ADDR_ENDPOINT_STRLEN 64

/* The address's length in bytes for its family (4 or 16). */
static inline size_t
inet_addr_len(int family)
{
	return family == AF_INET ? 4 : INET_ADDR_MAX_LEN;
}

static inline bool
inet_addr_equal(int family, const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, inet_addr_len(family)) == 0;
}

extern socklen_t inet_addr_to_sockaddr(int family, const uint8_t *addr, uint16_t port,
									   struct sockaddr_storage *ss);
extern bool inet_addr_from_sockaddr(const struct sockaddr *sa, uint8_t *addr,
									uint16_t *port);
extern uint16_t inet_addr_sockaddr_port(const struct sockaddr_storage *ss);
extern void inet_addr_format_endpoint(int family, const uint8_t *addr, uint16_t port,
									  char *buf, size_t len);

#endif							/* WALMPTCP_INET_ADDR_H */
