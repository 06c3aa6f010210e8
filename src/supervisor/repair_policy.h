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

/*
 * What repair_actions.c found out for one repair attempt: the facts a plan
 * is made from.  owner[i] is valid where has_owner[i], for the i-th path of
 * the attempt's missing set.
 */
typedef struct RepairFacts
{
	bool		readds_young;	/* re-adds of this connection too young to
								 * judge */
	bool		helper;			/* the CAP_NET_ADMIN helper runs */
	bool		has_owner[WALMPTCP_MAX_PATHS];	/* an endpoint of this host
												 * owns the path */
	WalmptcpEndpoint owner[WALMPTCP_MAX_PATHS];
	bool		owned_path_answers; /* server: an owned missing path answers
									 * (looked at only where a re-add is
									 * wanted) */
} RepairFacts;

/* A re-add of the plan: the endpoint, for the missing path it owns. */
typedef struct PlannedReadd
{
	WalmptcpEndpoint ep;
	SubflowPath path;
} PlannedReadd;

/*
 * What to do about a degraded connection in one attempt, in this order:
 * re-add readds in place; if none of them acted and reconnect is set, probe
 * a fresh connection and ask the client to reconnect if the probe proves
 * that helps (repair_reconnect_justified).  Neither: wait for the next
 * attempt.
 */
typedef struct RepairPlan
{
	int			nreadds;
	PlannedReadd readds[WALMPTCP_MAX_PATHS];
	bool		reconnect;
} RepairPlan;

/* The plan for this attempt on the missing paths, from facts. */
extern void repair_plan(Tracker *t, const PathSet *missing,
						const RepairFacts *facts, TimestampTz now,
						RepairPlan *plan);

/*
 * The plan was carried out: acted (re-added, signalled or failed trying),
 * probed, or neither (look again next tick).
 */
extern void repair_plan_done(Tracker *t, bool acted, bool probed,
							 TimestampTz now);

/*
 * Should endpoints be re-added in place (helper present, mode, live)?  Also
 * asked before a fact is looked for that only an in-place re-add needs.
 */
extern bool repair_in_place_wanted(const Tracker *t, bool helper);

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

/* Remember an endpoint re-add for path, to be judged later. */
extern void repair_readd_pending(Tracker *t, const WalmptcpEndpoint *ep,
								 const SubflowPath *path, bool own,
								 TimestampTz now);

/* An endpoint re-add was attempted now. */
extern void repair_endpoint_acted(Tracker *t, TimestampTz now);

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

#endif							/* WALMPTCP_REPAIR_POLICY_H */
