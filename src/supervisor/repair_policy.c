/*-------------------------------------------------------------------------
 *
 * repair_policy.c
 *	  When a connection is degraded, and what the supervisor may do about
 *	  it: re-add an endpoint, ask for a reconnect, back off, give up.
 *
 * The policy half of the supervisor, kept apart from its I/O as mptcpd keeps
 * path-manager policy in plugins that never touch a socket: every function
 * here works on tracker state, time and facts the caller found out
 * (repair_actions.c probes, re-adds and signals; observation.c looks).
 *
 * The supervisor's rule for repairs (see supervisor.c for the others), there
 * because breaking it harmed a healthy connection:
 *
 * - Repairs need proof and have limits: an endpoint is re-added only when
 *	 its path answers (endpoint_repair.c, with its circuit breaker); a
 *	 worker is asked to reconnect only when a probe connection just got a
 *	 missing path back, after the process and socket were checked again,
 *	 and at most MAX_RECONNECTS_PER_HOUR times per server.  Attempts back
 *	 off; after MAX_ATTEMPTS it gives up for GIVE_UP_MS, counted from the
 *	 give-up.  At most one probe connection per tick.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/timestamp.h"

#include "connection_tracker.h"
#include "inet_addr.h"
#include "repair_policy.h"
#include "subflow_path.h"
#include "supervisor.h"
#include "walmptcp.h"

#define MAX_ATTEMPTS 6
#define MAX_BACKOFF_MS 60000
#define GIVE_UP_MS 300000
#define ESCALATE_AFTER_MS 20000
#define SETTLE_MS 2000			/* a new connection's subflows are forming */
#define DEGRADED_AFTER_TICKS 2
#define HOUR_MS (3600 * 1000)
#define RECONNECT_FOLLOWUP_MS 60000
#define READD_VERIFY_MS 10000	/* a re-added endpoint's subflow is back by then */
#define SERVER_DEFER_MS 3000	/* the client's own re-add goes first */

static void
end_episode(Tracker *t)
{
	t->degraded = false;
	t->missing_ticks = 0;
	t->attempts = 0;
	t->gave_up = false;
	t->last_endpoint_repair = 0;
	t->path_back_since = 0;
	t->client_side_lost = false;
	t->last_method = NULL;
	t->npending = 0;
}

void
repair_adopt_reconnected(Tracker *t, TimestampTz now)
{
	Peer	   *p;

	if (!t->ctx.client)
		return;
	p = tracker_peer(t);
	if (p->reconnect_asked_at != 0 &&
		!TimestampDifferenceExceeds(p->reconnect_asked_at, now, RECONNECT_FOLLOWUP_MS))
	{
		/* the connection this supervisor asked for: finish the episode */
		tracker_record(t, EV_RECONNECTED, "new connection after the reconnect asked for");
		t->degraded = true;
		t->degraded_since = p->degraded_since;
		t->last_method = "reconnect";
		t->next_attempt = now + (TimestampTz) SETTLE_MS * 1000;
		/* a probe just measured what this server offers */
		t->expected = p->promised;
		t->probe_pending = false;
		p->reconnect_asked_at = 0;
	}
}

void
repair_relearn_full_set(Tracker *t, uint64 config, const PathSet *paths)
{
	/* the DBA changed endpoints or limits: learn the full set again */
	t->config = config;
	t->expected = *paths;
	t->probe_pending = t->ctx.client;
	if (t->degraded)
		tracker_record(t, EV_BASELINE, "the host's MPTCP endpoints or limits changed: %d subflows is the full set until a probe says otherwise",
					   paths->n);
	end_episode(t);
}

/* Has this connection a subflow from the client address of path p? */
static bool
client_address_present(const PathSet *now, const SubflowPath *p)
{
	for (int i = 0; i < now->n; i++)
		if (now->paths[i].family == p->family &&
			memcmp(now->paths[i].remote, p->remote, sizeof(p->remote)) == 0)
			return true;
	return false;
}

/*
 * Server side, every look (also before the episode counts as degraded, and
 * while repairs are off): has the client's address of a missing path been
 * without any subflow?  A client's re-add often follows within a tick, so
 * only a look taken at once sees the gap that repair_server_defers waits
 * for.
 */
static void
note_client_side_lost(Tracker *t, const PathSet *now, const PathSet *missing)
{
	if (t->ctx.client)
		return;
	for (int i = 0; i < missing->n; i++)
		if (!client_address_present(now, &missing->paths[i]))
			t->client_side_lost = true;
}

bool
repair_probe_due(const Tracker *t, TimestampTz now)
{
	return t->probe_pending &&
		TimestampDifferenceExceeds(t->first_seen, now, SETTLE_MS);
}

bool
repair_judge(Tracker *t, const PathSet *paths, PathSet *missing, TimestampTz now)
{
	char		buf[512];

	pathset_union(&t->expected, paths);
	pathset_difference(&t->expected, paths, missing);
	note_client_side_lost(t, paths, missing);

	if (missing->n == 0)
	{
		if (t->degraded && !t->probe_pending)
		{
			long		secs;
			int			usecs;

			TimestampDifference(t->degraded_since, now, &secs, &usecs);
			tracker_record(t, EV_REPAIRED, "full subflow set (%d) again after %ld.%01d s%s%s",
						   paths->n, secs, usecs / 100000,
						   t->last_method ? ", by " : "", t->last_method ? t->last_method : "");
			end_episode(t);
		}
		else if (!t->degraded)
			end_episode(t);
		return false;
	}

	if (!t->degraded)
	{
		if (!TimestampDifferenceExceeds(t->first_seen, now, SETTLE_MS) ||
			++t->missing_ticks < DEGRADED_AFTER_TICKS)
			return false;
		t->degraded = true;
		t->degraded_since = now;
		t->next_attempt = now;
		t->attempts = 0;
		t->gave_up = false;
		pathset_format(missing, buf, sizeof(buf));
		tracker_record(t, EV_DEGRADED, "%d of %d subflows; missing %s", paths->n, t->expected.n, buf);
	}
	if (t->gave_up)
	{
		if (!TimestampDifferenceExceeds(t->gave_up_at, now, GIVE_UP_MS))
			return false;
		t->gave_up = false;		/* a fresh chance after a long while */
		t->attempts = 0;
	}
	return walmptcp_repair != WALMPTCP_REPAIR_OFF && now >= t->next_attempt;
}

/*
 * Did this connection's endpoint re-adds bring their subflows back?  Each
 * one is judged once, READD_VERIFY_MS after it was done; one that did not
 * counts against the endpoint's circuit breaker (the caller's part).
 */
bool
repair_readds_to_judge(Tracker *t, const PathSet *missing, TimestampTz now,
					   PendingReadd *failed, int *nfailed)
{
	int			kept = 0;

	*nfailed = 0;
	for (int i = 0; i < t->npending; i++)
	{
		PendingReadd *r = &t->pending[i];

		if (!TimestampDifferenceExceeds(r->at, now, READD_VERIFY_MS))
		{
			t->pending[kept++] = *r;
			continue;
		}
		if (!r->own || !pathset_contains(missing, &r->path))
			continue;
		failed[(*nfailed)++] = *r;
	}
	t->npending = kept;
	return kept > 0;
}

/* Nothing could be done or judged yet: look again next tick. */
static void
repair_retry_next_tick(Tracker *t, TimestampTz now)
{
	t->next_attempt = now + (TimestampTz) walmptcp_check_interval * 1000;
}

bool
repair_in_place_wanted(const Tracker *t, bool helper)
{
	/*
	 * In place only on a live connection: with no subflow left it is dead or
	 * dying, and a re-add can bring nothing back to it (only disturb others).
	 */
	return helper && t->now.n > 0 &&
		(walmptcp_repair == WALMPTCP_REPAIR_AUTO ||
		 walmptcp_repair == WALMPTCP_REPAIR_ENDPOINT);
}

/*
 * The server defers its re-adds.  A client re-adding its "subflow" endpoint
 * closes every subflow from that address for a moment, also the one that
 * joined the server's announced address: a server re-announcing at the same
 * time has its work undone (and would count that as a useless re-add).  So
 * the client goes first, and the server acts once it has seen that
 * happen: the client's address, without any subflow at some look of this
 * episode (note_client_side_lost), has one again (the client re-added its
 * endpoint, or its kernel re-created the subflow).  A client that re-adds
 * nothing (no supervisor, no CAP_NET_ADMIN) shows no such sign; then the
 * server acts once an owned missing path has answered for SERVER_DEFER_MS.
 * True while deferring.
 */
static bool
repair_server_defers(Tracker *t, const PathSet *missing, bool owned_path_answers,
					 TimestampTz now)
{
	bool		client_back = false;

	if (t->ctx.client)
		return false;
	for (int i = 0; i < missing->n; i++)
		if (t->client_side_lost && client_address_present(&t->now, &missing->paths[i]))
			client_back = true;
	if (!owned_path_answers)
	{
		t->path_back_since = 0;
		return true;			/* nothing to do yet anyway */
	}
	if (client_back)
		return false;
	if (t->path_back_since == 0)
		t->path_back_since = now;
	return !TimestampDifferenceExceeds(t->path_back_since, now, SERVER_DEFER_MS);
}

void
repair_readd_pending(Tracker *t, const WalmptcpEndpoint *ep,
					 const SubflowPath *path, bool own, TimestampTz now)
{
	if (t->npending < MAX_PENDING)
	{
		PendingReadd *r = &t->pending[t->npending++];

		r->ep = *ep;
		r->path = *path;
		r->at = now;
		r->own = own;
	}
}

void
repair_endpoint_acted(Tracker *t, TimestampTz now)
{
	t->last_endpoint_repair = now;
	t->last_method = "endpoint";
}

/* Has in-place repair had its chance? */
static bool
in_place_repair_exhausted(const Tracker *t, TimestampTz now)
{
	return TimestampDifferenceExceeds(t->degraded_since, now, ESCALATE_AFTER_MS) &&
		(t->last_endpoint_repair == 0 ||
		 TimestampDifferenceExceeds(t->last_endpoint_repair, now, ESCALATE_AFTER_MS));
}

/*
 * May the client be asked to reconnect?  initial_path_lost: a missing path
 * is one no endpoint can bring back (only a new connection makes it again).
 */
static bool
repair_reconnect_allowed(const Tracker *t, bool helper, bool initial_path_lost,
						 TimestampTz now)
{
	if (!t->ctx.client)
		return false;			/* a walsender cannot make its client reconnect */
	if (walmptcp_repair == WALMPTCP_REPAIR_RECONNECT)
		return true;
	if (walmptcp_repair != WALMPTCP_REPAIR_AUTO)
		return false;
	return !helper || initial_path_lost || in_place_repair_exhausted(t, now);
}

bool
repair_reconnect_justified(const Tracker *t, const PathSet *missing,
						   const PathSet *fresh, PathSet *restorable)
{
	PathSet		gained;

	pathset_difference(fresh, &t->now, &gained);
	pathset_difference(missing, &gained, restorable);	/* missing, not regained */
	return restorable->n < missing->n && fresh->n > t->now.n;
}

bool
repair_reconnect_budget(Tracker *t, Peer *p, TimestampTz now)
{
	TimestampTz oldest = p->reconnects[p->next_reconnect];

	if (oldest == 0 || TimestampDifferenceExceeds(oldest, now, HOUR_MS))
		return true;
	if (p->breaker_logged_at == 0 ||
		TimestampDifferenceExceeds(p->breaker_logged_at, now, HOUR_MS))
	{
		p->breaker_logged_at = now;
		tracker_record(t, EV_CIRCUIT_OPEN,
					   "asked the %s to reconnect %d times within an hour: no more reconnects to this server until an hour after the first of them",
					   walmptcp_role_name(t->role), MAX_RECONNECTS_PER_HOUR);
	}
	return false;
}

void
repair_reconnect_asked(Tracker *t, Peer *p, const PathSet *fresh, TimestampTz now)
{
	p->reconnects[p->next_reconnect] = now;
	p->next_reconnect = (p->next_reconnect + 1) % MAX_RECONNECTS_PER_HOUR;
	p->reconnect_asked_at = now;
	p->degraded_since = t->degraded_since;
	p->promised = *fresh;
	t->last_method = "reconnect";
}

/* After an attempt (acted or probed): back off, or give up for a while. */
static void
repair_after_attempt(Tracker *t, TimestampTz now)
{
	t->attempts++;
	t->next_attempt = now + (TimestampTz) Min((int64) MAX_BACKOFF_MS,
											  (int64) walmptcp_check_interval << t->attempts) * 1000;
	if (t->attempts >= MAX_ATTEMPTS)
	{
		t->gave_up = true;
		t->gave_up_at = now;
		tracker_record(t, EV_REPAIR_FAILED,
					   "giving up after %d attempts; %d of %d subflows; trying again in %d minutes",
					   t->attempts, t->now.n, t->expected.n, GIVE_UP_MS / 60000);
	}
}

/*
 * Client side: is a missing path one no endpoint can bring back?  A
 * subflow to the server's initial address and port that no "subflow"
 * endpoint owns is the initial subflow: only a new connection makes it
 * again.  (Subflows to other server addresses follow the server's
 * announcements, which the server's supervisor can repeat.)
 */
static bool
initial_path_lost(const Tracker *t, const PathSet *missing, const RepairFacts *f)
{
	int			len = inet_addr_len(t->ctx.family);

	if (!t->ctx.client)
		return false;
	for (int i = 0; i < missing->n; i++)
	{
		const SubflowPath *p = &missing->paths[i];

		if (!f->has_owner[i] && p->server_port == t->ctx.server_port &&
			memcmp(p->remote, t->ctx.peer_addr, len) == 0)
			return true;
	}
	return false;
}

void
repair_plan(Tracker *t, const PathSet *missing, const RepairFacts *f,
			TimestampTz now, RepairPlan *plan)
{
	plan->nreadds = 0;
	plan->reconnect = false;
	if (f->readds_young)
		return;					/* give the last re-adds their time first */
	if (repair_in_place_wanted(t, f->helper) &&
		!repair_server_defers(t, missing, f->owned_path_answers, now))
	{
		for (int i = 0; i < missing->n; i++)
		{
			if (!f->has_owner[i])
				continue;
			plan->readds[plan->nreadds].ep = f->owner[i];
			plan->readds[plan->nreadds].path = missing->paths[i];
			plan->nreadds++;
		}
	}
	/* asked now, used only if no re-add acts: acting would not change it */
	plan->reconnect = repair_reconnect_allowed(t, f->helper,
											   initial_path_lost(t, missing, f),
											   now);
}

void
repair_plan_done(Tracker *t, bool acted, bool probed, TimestampTz now)
{
	if (acted || probed)
		repair_after_attempt(t, now);
	else
		repair_retry_next_tick(t, now);	/* nothing usable yet (path still down) */
}
