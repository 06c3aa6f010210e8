/*-------------------------------------------------------------------------
 *
 * repair_policy.h
 *	  The supervisor's decisions about a connection: degraded or whole,
 *	  whether and how to repair it, backoff, give-up, the reconnect budget.
 *
 * Functions of tracker state, time and the facts passed in: none of them
 * touches a socket, netlink or another process (repair_actions.h does).
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_REPAIR_POLICY_H
#define WALMPTCP_REPAIR_POLICY_H

#include "datatype/timestamp.h"

#include "connection_tracker.h"
#include "subflow_path.h"

/*
 * A new connection's tracker: if it is the client connection a reconnect
 * was asked for, finish that episode with what the probe promised.
 */
extern void repair_adopt_reconnected(Tracker *t, TimestampTz now);

/* The host's endpoints or limits changed: learn the full set again. */
extern void repair_relearn_full_set(Tracker *t, uint64 config, const PathSet *paths);

/* Client: is it time to ask a probe what a fresh connection gets? */
extern bool repair_probe_due(const Tracker *t, TimestampTz now);

/*
 * This tick's paths against the full set: *missing gets what is missing;
 * the episode starts, ends or waits.  True when a repair attempt is due.
 */
extern bool repair_judge(Tracker *t, const PathSet *paths, PathSet *missing,
						 TimestampTz now);

/*
 * This connection's endpoint re-adds old enough to judge whose subflow is
 * still missing go to failed (*nfailed, at most MAX_PENDING); the others
 * old enough are dropped, the young ones kept.  True while some are kept.
 */
extern bool repair_readds_to_judge(Tracker *t, const PathSet *missing,
								   TimestampTz now, PendingReadd *failed,
								   int *nfailed);

/* Nothing could be done or judged yet: look again next tick. */
extern void repair_retry_next_tick(Tracker *t, TimestampTz now);

/* Should endpoints be re-added in place (helper present, mode, live)? */
extern bool repair_in_place_wanted(const Tracker *t, bool helper);

/*
 * Server: defer re-adds of the endpoints owning the missing paths until
 * the client has re-added its own, or, for a client that does not, until
 * an owned missing path has answered for a while (owned_path_answers: one
 * does now).  True while deferring.
 */
extern bool repair_server_defers(Tracker *t, const PathSet *missing,
								 bool owned_path_answers, TimestampTz now);

/* Remember an endpoint re-add for path, to be judged later. */
extern void repair_readd_pending(Tracker *t, const WalmptcpEndpoint *ep,
								 const SubflowPath *path, bool own,
								 TimestampTz now);

/* An endpoint re-add was attempted now. */
extern void repair_endpoint_acted(Tracker *t, TimestampTz now);

/*
 * May the client be asked to reconnect?  initial_path_lost: a missing path
 * is one no endpoint can bring back (only a new connection makes it again).
 */
extern bool repair_reconnect_allowed(const Tracker *t, bool helper,
									 bool initial_path_lost, TimestampTz now);

/*
 * Does what a probe connection got (fresh) prove that a new connection
 * gets a missing path back?  *restorable: missing paths fresh did not get.
 */
extern bool repair_reconnect_justified(const Tracker *t, const PathSet *missing,
									   const PathSet *fresh, PathSet *restorable);

/* Is there a reconnect left in this server's hourly budget? */
extern bool repair_reconnect_budget(Tracker *t, Peer *p, TimestampTz now);

/* The client was asked to reconnect: spend the budget, remember why. */
extern void repair_reconnect_asked(Tracker *t, Peer *p, const PathSet *fresh,
								   TimestampTz now);

/* After an attempt (acted or probed): back off, or give up for a while. */
extern void repair_after_attempt(Tracker *t, TimestampTz now);

#endif							/* WALMPTCP_REPAIR_POLICY_H */
