/*-------------------------------------------------------------------------
 *
 * repair_actions.h
 *	  Carrying out the supervisor's repair policy on one connection.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_REPAIR_ACTIONS_H
#define WALMPTCP_REPAIR_ACTIONS_H

#include "datatype/timestamp.h"

#include "connection_tracker.h"
#include "subflow_path.h"

/*
 * A degraded connection whose repair attempt is due (repair_judge): judge
 * earlier re-adds, then re-add endpoints in place and/or, after a probe
 * connection (*probe_budget of them left this tick), ask the client to
 * reconnect, as repair_policy.c allows.
 */
extern void repair_try(Tracker *t, const PathSet *missing, int *probe_budget,
					   TimestampTz now);

#endif							/* WALMPTCP_REPAIR_ACTIONS_H */
