/*-------------------------------------------------------------------------
 *
 * observation.h
 *	  What the supervisor looks at each tick (observation.c).
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_OBSERVATION_H
#define WALMPTCP_OBSERVATION_H

#include "datatype/timestamp.h"

#include "conn_state.h"

/*
 * The host's path-manager configuration (endpoints and limits), hashed:
 * when it changes, every connection's full set is learnt again.
 */
extern uint64 observe_host_config(uint64 previous);

/* Say which "signal" endpoints have no listen socket (once per config). */
extern void observe_announced_listeners(void);

/*
 * One replication connection, one tick: its paths against its tracker,
 * then the policy's judgement and, when due, a repair attempt (at most
 * *probe_budget probe connections, decremented as they are spent).
 */
extern void observe_connection(const Matched *m, TimestampTz now, uint64 config,
							   int *probe_budget);

#endif							/* WALMPTCP_OBSERVATION_H */
