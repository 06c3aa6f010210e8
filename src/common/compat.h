/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Differences between PostgreSQL majors, in one place.
 *
 * walrcv_connect:        15: (conninfo, logical, appname, err)
 *                        16: (conninfo, logical, must_use_password, appname, err)
 *                        17+: (conninfo, replication, logical, must_use_password,
 *                             appname, err)
 * walrcv_check_conninfo: 15: (conninfo); 16+: (conninfo, must_use_password)
 * walrcv_get_dbname_from_conninfo, slot sync worker: 17+ only.
 * utils/tuplestore.h:    included through funcapi.h up to 18 only.
 * pg_fallthrough:        19 (its PGXS adds -Wimplicit-fallthrough=5, which
 *                        takes the attribute only, not a comment).
 * logical replication workers' bgw_type (launcher.c, all with bgw_library_name
 * "postgres"):           15, 16: "logical replication worker" for apply and
 *                        tablesync (bgw_name ends "sync <relid>");
 *                        17+: "... apply worker", "... tablesync worker";
 *                        19: "... sequencesync worker" too.  (Parallel apply
 *                        workers, 16+, never connect.)
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_COMPAT_H
#define WALMPTCP_COMPAT_H

#if PG_VERSION_NUM < 150000
#error "walmptcp requires PostgreSQL 15 or later"
#endif

#if PG_VERSION_NUM >= 170000
#define WALRCV_CONNECT_PARAMS \
	const char *conninfo, bool replication, bool logical, \
	bool must_use_password, const char *appname, char **err
#define WALRCV_CONNECT_ARGS(ci) \
	(ci), replication, logical, must_use_password, appname, err
#define WALMPTCP_HAVE_GET_DBNAME_FROM_CONNINFO 1
#define WALMPTCP_HAVE_SLOTSYNC 1
#elif PG_VERSION_NUM >= 160000
#define WALRCV_CONNECT_PARAMS \
	const char *conninfo, bool logical, bool must_use_password, \
	const char *appname, char **err
#define WALRCV_CONNECT_ARGS(ci) \
	(ci), logical, must_use_password, appname, err
#else
#define WALRCV_CONNECT_PARAMS \
	const char *conninfo, bool logical, const char *appname, char **err
#define WALRCV_CONNECT_ARGS(ci) \
	(ci), logical, appname, err
#endif

#if PG_VERSION_NUM >= 160000
#define WALRCV_CHECK_CONNINFO_PARAMS const char *conninfo, bool must_use_password
#define WALRCV_CHECK_CONNINFO_ARGS(ci) (ci), must_use_password
#else
#define WALRCV_CHECK_CONNINFO_PARAMS const char *conninfo
#define WALRCV_CHECK_CONNINFO_ARGS(ci) (ci)
#endif

/*
 * bgw_type of the logical replication workers that connect to a publisher.
 * Matched exactly, and only for bgw_library_name "postgres" (which only
 * core's own workers can use): a third-party worker's type containing
 * "logical replication" is not one of them.
 */
#if PG_VERSION_NUM >= 170000
#define WALMPTCP_BGW_TYPE_APPLY "logical replication apply worker"
#define WALMPTCP_BGW_TYPE_TABLESYNC "logical replication tablesync worker"
#define WALMPTCP_BGW_SYNC_BY_NAME 0
#else
#define WALMPTCP_BGW_TYPE_APPLY "logical replication worker"
#define WALMPTCP_BGW_TYPE_TABLESYNC WALMPTCP_BGW_TYPE_APPLY
#define WALMPTCP_BGW_SYNC_BY_NAME 1	/* same type: bgw_name says "sync" */
#endif
#if PG_VERSION_NUM >= 190000
#define WALMPTCP_BGW_TYPE_SEQUENCESYNC "logical replication sequencesync worker"
#endif

/* Materialized set-returning functions: renamed in 16. */
#if PG_VERSION_NUM < 160000
#define InitMaterializedSRF(fcinfo, flags) SetSingleFuncCall(fcinfo, flags)
#endif

/* An annotated switch fall-through; c.h defines it from 19 on. */
#ifndef pg_fallthrough
#if defined(__has_attribute) && __has_attribute(fallthrough)
#define pg_fallthrough __attribute__((fallthrough))
#else
#define pg_fallthrough ((void) 0)
#endif
#endif

#endif							/* WALMPTCP_COMPAT_H */
