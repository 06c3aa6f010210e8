/*-------------------------------------------------------------------------
 *
 * endpoint_repair.c
 *	  Which endpoint owns a lost subflow, and re-adding it within limits.
 *
 * An endpoint is shared by every MPTCP connection of the network
 * namespace: removing it closes that address's subflows on all of them for
 * a moment.  So a re-add happens only
 *	 - when the endpoint's address is up with carrier and a plain TCP probe
 *	   from it reaches the peer (never while the path is down);
 *	 - at most once per REREADD_SPACING_MS for all connections together (one
 *	   re-add serves every connection of the host);
 *	 - while its circuit breaker is closed: after WALMPTCP_BREAKER_FAILURES
 *	   re-adds that did not bring the subflow back within an hour, the
 *	   endpoint is left alone until the oldest of them is an hour old.
 * The helper process (net_admin.c) does the remove-and-add itself.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <string.h>
#include <linux/mptcp.h>

#include "utils/timestamp.h"

#include "endpoint_repair.h"
#include "inet_addr.h"
#include "net_admin.h"
#include "path_probe.h"

#define REREADD_SPACING_MS 3000
#define MAX_KNOWN_ENDPOINTS 64

/* What is remembered of one endpoint, by address, port and flags. */
typedef struct EndpointHistory
{
	bool		used;
	WalmptcpEndpoint ep;
	TimestampTz last_readd;
	TimestampTz failures[WALMPTCP_BREAKER_FAILURES];	/* ring */
	int			next_failure;
} EndpointHistory;

static EndpointHistory history[MAX_KNOWN_ENDPOINTS];

static bool
same_endpoint(const WalmptcpEndpoint *a, const WalmptcpEndpoint *b)
{
	return a->family == b->family && a->port == b->port && a->flags == b->flags &&
		inet_addr_equal(a->family, a->addr, b->addr);
}

static EndpointHistory *
history_of(const WalmptcpEndpoint *ep)
{
	EndpointHistory *oldest = &history[0];

	for (int i = 0; i < MAX_KNOWN_ENDPOINTS; i++)
	{
		if (history[i].used && same_endpoint(&history[i].ep, ep))
			return &history[i];
		if (!history[i].used || (oldest->used && history[i].last_readd < oldest->last_readd))
			oldest = &history[i];
	}
	memset(oldest, 0, sizeof(*oldest));
	oldest->used = true;
	oldest->ep = *ep;
	return oldest;
}

static bool
breaker_open(const EndpointHistory *h, TimestampTz now)
{
	for (int i = 0; i < WALMPTCP_BREAKER_FAILURES; i++)
	{
		if (h->failures[i] == 0 ||
			TimestampDifferenceExceeds(h->failures[i], now, WALMPTCP_BREAKER_WINDOW_MS))
			return false;
	}
	return true;
}

bool
endpoint_owning(const WalmptcpEndpoint *eps, int neps, const PathOwnerContext *ctx,
				const SubflowPath *path, WalmptcpEndpoint *owner)
{
	int			len = inet_addr_len(path->family);

	for (int i = 0; i < neps; i++)
	{
		const WalmptcpEndpoint *ep = &eps[i];

		if (ep->family != path->family || memcmp(ep->addr, path->local, len) != 0)
			continue;
		if (ctx->client)
		{
			bool		to_initial = memcmp(path->remote, ctx->peer_addr, len) == 0 &&
				path->server_port == ctx->server_port;

			if (!(ep->flags & MPTCP_PM_ADDR_FLAG_SUBFLOW))
				continue;
			if (!to_initial && !(ep->flags & MPTCP_PM_ADDR_FLAG_FULLMESH))
				continue;
		}
		else
		{
			if (!(ep->flags & MPTCP_PM_ADDR_FLAG_SIGNAL))
				continue;
			if (path->server_port != (ep->port ? ep->port : ctx->server_port))
				continue;
		}
		*owner = *ep;
		return true;
	}
	return false;
}

bool
endpoint_path_usable(const WalmptcpEndpoint *owner, const PathOwnerContext *ctx,
					 const SubflowPath *path)
{
	/*
	 * The client checks the server's port of the path; the server checks the
	 * client's port of the initial subflow, where nothing listens for this
	 * source: a RST is the answer.
	 */
	return walmptcp_address_usable(owner->family, owner->addr) &&
		path_answers(path->family, path->local, path->remote,
					 ctx->client ? path->server_port : ctx->peer_port);
}

ReaddResult
endpoint_readd_checked(const WalmptcpEndpoint *owner, const PathOwnerContext *ctx,
					   const SubflowPath *path, char *detail, size_t len)
{
	EndpointHistory *h = history_of(owner);
	TimestampTz now = GetCurrentTimestamp();
	WalmptcpEndpoint done;
	WalmptcpReaddFate fate;
	char		desc[128];
	int			rc;

	walmptcp_endpoint_describe(owner, desc, sizeof(desc));
	if (!endpoint_path_usable(owner, ctx, path))
		return READD_PATH_DOWN;
	if (h->last_readd != 0 &&
		!TimestampDifferenceExceeds(h->last_readd, now, REREADD_SPACING_MS))
		return READD_SHARED;
	if (breaker_open(h, now))
	{
		snprintf(detail, len, "endpoint %s", desc);
		return READD_BREAKER_OPEN;
	}

	h->last_readd = now;
	rc = walmptcp_helper_readd(owner, &done, &fate);
	if (rc == -ESTALE)
	{
		char		now_desc[128];

		/* looked at again next time, from a fresh list */
		walmptcp_endpoint_describe(&done, now_desc, sizeof(now_desc));
		snprintf(detail, len, "endpoint %s left alone: the host's endpoint with its id is now %s",
				 desc, now_desc);
		return READD_FAILED;
	}
	if (rc == -EPERM)
	{
		snprintf(detail, len, "could not re-add endpoint %s: the endpoint helper refused this process's request",
				 desc);
		return READD_FAILED;
	}
	if (fate == WALMPTCP_READD_LOST)
	{
		snprintf(detail, len, "endpoint %s was removed and could not be added back (%s); the host no longer has it",
				 desc, strerror(-rc));
		return READD_LOST;
	}
	if (rc != 0)
	{
		snprintf(detail, len, "could not re-add endpoint %s: %s%s", desc, strerror(-rc),
				 fate == WALMPTCP_READD_RESTORED ? "; put it back as it was" : "");
		return READD_FAILED;
	}
	/* the kernel may have had to give it another id */
	walmptcp_endpoint_describe(&done, desc, sizeof(desc));
	snprintf(detail, len, "re-added endpoint %s", desc);
	return READD_DONE;
}

bool
endpoint_readd_failed(const WalmptcpEndpoint *owner)
{
	EndpointHistory *h = history_of(owner);
	TimestampTz now = GetCurrentTimestamp();
	bool		was_open = breaker_open(h, now);

	h->failures[h->next_failure] = now;
	h->next_failure = (h->next_failure + 1) % WALMPTCP_BREAKER_FAILURES;
	return !was_open && breaker_open(h, now);
}
