/*-------------------------------------------------------------------------
 *
 * path_probe.h
 *	  Probes the supervisor sends before it acts: what a fresh MPTCP
 *	  connection gets, and whether a path answers at all.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_PATH_PROBE_H
#define WALMPTCP_PATH_PROBE_H

#include "subflow_path.h"

/*
 * Open a short MPTCP connection to addr:port, let the path manager add its
 * subflows, and return them in *out, read exactly as a replication
 * connection's are (sock_diag, established subflows, paths).  It waits
 * until the probe has `enough` subflows (a repair needs no more than the
 * full set), at most a while; enough = 0 always waits that while (learning
 * what the host offers).  False when the answer is unknown: no connection,
 * a fallback to TCP, the kernel withholding subflow details, or a shutdown
 * request while waiting.
 */
extern bool probe_fresh_connection(int family, const uint8 *addr, uint16 port,
								   int enough, PathSet *out);

/*
 * Does a plain TCP connection attempt from local to remote:port get an
 * answer (accepted or refused both prove that packets flow both ways)?
 */
extern bool path_answers(int family, const uint8 *local, const uint8 *remote,
						 uint16 port);

#endif							/* WALMPTCP_PATH_PROBE_H */
