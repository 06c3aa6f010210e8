/*-------------------------------------------------------------------------
 *
 * endpoint_pm.h
 *	  The in-kernel MPTCP path manager's endpoints (ip mptcp endpoint).
 *
 * Plain C without palloc or ereport: also used by the endpoint helper
 * process, which must never jump into PostgreSQL's error handling.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_ENDPOINT_PM_H
#define WALMPTCP_ENDPOINT_PM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inet_addr.h"

#define WALMPTCP_MAX_ENDPOINTS 64

typedef struct WalmptcpEndpoint
{
	uint8_t		id;
	int			family;			/* AF_INET or AF_INET6 */
	uint8_t		addr[INET_ADDR_MAX_LEN];
	uint16_t	port;			/* 0: none */
	uint32_t	flags;			/* MPTCP_PM_ADDR_FLAG_* */
	int32_t		ifindex;		/* 0: none */
} WalmptcpEndpoint;

/* List this namespace's endpoints (no privilege needed): count or -errno. */
extern int	walmptcp_endpoints_list(WalmptcpEndpoint *out, int max);

/* This namespace's limits (ip mptcp limits; no privilege needed): 0 or -errno. */
extern int	walmptcp_limits_get(uint32_t *subflows, uint32_t *add_addr_accepted);

/* What a re-add left behind. */
typedef enum WalmptcpReaddFate
{
	WALMPTCP_READD_UNTOUCHED,	/* not removed (the removal failed) */
	WALMPTCP_READD_READDED,		/* removed and added again */
	WALMPTCP_READD_RESTORED,	/* removed, adding it failed, put back as it was */
	WALMPTCP_READD_LOST			/* removed, and neither add worked: it is gone */
} WalmptcpReaddFate;

/* Same id, address, port, flags and device? */
extern bool walmptcp_endpoint_equal(const WalmptcpEndpoint *a, const WalmptcpEndpoint *b);

/*
 * Remove the endpoint with expected's id and add it again exactly as it was
 * (CAP_NET_ADMIN), but only if it is still exactly expected (else -ESTALE,
 * nothing touched, *done is what the host has under that id): 0 or -errno;
 * *fate says what the host has now.
 */
extern int	walmptcp_endpoint_readd(const WalmptcpEndpoint *expected, WalmptcpEndpoint *done,
									WalmptcpReaddFate *fate);

#ifdef WALMPTCP_TEST_HOOKS
/*
 * Test builds only: make the next n endpoint additions fail with ENOMEM
 * (the helper reads WALMPTCP_TEST_HELPER_FAIL_ADDS at start).
 */
extern void walmptcp_endpoint_fail_next_adds(int n);
#endif

/*
 * The parsers of the kernel's answers, on a buffer of netlink messages as
 * received (exported for test/fuzz): endpoints found (at most max), limits.
 */
extern int	walmptcp_endpoints_parse(const void *buf, size_t len,
									 WalmptcpEndpoint *out, int max);
extern void walmptcp_limits_parse(const void *buf, size_t len, uint32_t *subflows,
								  uint32_t *add_addr_accepted);

/* "10.77.2.2 id 1 subflow dev 3" */
extern void walmptcp_endpoint_describe(const WalmptcpEndpoint *ep, char *buf, int len);

/* Is addr configured on an interface that is up with carrier? */
extern bool walmptcp_address_usable(int family, const uint8_t *addr);

/* Is addr on one of ifs's interfaces (up with carrier, if running)? */
struct ifaddrs;
extern bool walmptcp_address_in(const struct ifaddrs *ifs, int family,
								const uint8_t *addr, bool running);

#endif							/* WALMPTCP_ENDPOINT_PM_H */
