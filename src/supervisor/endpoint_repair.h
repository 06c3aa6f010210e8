/*-------------------------------------------------------------------------
 *
 * endpoint_repair.h
 *	  In-place repair: which endpoint owns a lost subflow, and re-adding it
 *	  within limits (path answers, spacing, circuit breaker).
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_ENDPOINT_REPAIR_H
#define WALMPTCP_ENDPOINT_REPAIR_H

#include "endpoint_pm.h"
#include "subflow_path.h"

/* re-adds of one endpoint that did not bring its subflow back, per hour */
#define WALMPTCP_BREAKER_FAILURES 3
#define WALMPTCP_BREAKER_WINDOW_MS (3600 * 1000)

typedef enum ReaddResult
{
	READD_DONE,					/* removed and added again */
	READD_SHARED,				/* another connection's re-add just did it */
	READD_PATH_DOWN,			/* address not up, or the path does not answer */
	READD_BREAKER_OPEN,			/* too many useless re-adds lately */
	READD_FAILED,				/* the helper could not; detail says why */
	READD_LOST					/* removed, and could not be added back */
} ReaddResult;

/*
 * The endpoint of this host whose removal and re-adding re-creates path:
 * client, a "subflow" endpoint on its local address towards the server's
 * initial address and port ("fullmesh": towards any); server, a "signal"
 * endpoint on its local address announcing its port.
 */
extern bool endpoint_owning(const WalmptcpEndpoint *eps, int neps,
							const PathOwnerContext *ctx, const SubflowPath *path,
							WalmptcpEndpoint *owner);

/* Is owner's address up, and does the path answer a plain TCP probe? */
extern bool endpoint_path_usable(const WalmptcpEndpoint *owner,
								 const PathOwnerContext *ctx,
								 const SubflowPath *path);

/* Re-add owner for path, if the path answers and the limits allow it. */
extern ReaddResult endpoint_readd_checked(const WalmptcpEndpoint *owner,
										  const PathOwnerContext *ctx,
										  const SubflowPath *path,
										  char *detail, size_t len);

/*
 * A re-add of owner did not bring its subflow back.  Returns true when
 * this opens the endpoint's circuit breaker.
 */
extern bool endpoint_readd_failed(const WalmptcpEndpoint *owner);

#endif							/* WALMPTCP_ENDPOINT_REPAIR_H */
