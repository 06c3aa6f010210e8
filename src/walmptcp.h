/*-------------------------------------------------------------------------
 *
 * walmptcp.h
 *	  Declarations shared by the walmptcp source files.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_H
#define WALMPTCP_H

#include <stdbool.h>
#include <sys/socket.h>

#include "endpoint_pm.h"
#include "owner_subflows.h"

struct LWLock;					/* storage/lwlock.h */

/* How a connection should use MPTCP (conninfo keyword "mptcp"). */
typedef enum WalmptcpMode
{
	WALMPTCP_MODE_OFF,
	WALMPTCP_MODE_PREFER,
	WALMPTCP_MODE_REQUIRE
} WalmptcpMode;

/* GUCs (walmptcp.c) */
extern bool walmptcp_listen;
extern int	walmptcp_default_mode;
extern bool walmptcp_preloaded;

extern void walmptcp_require_preload(void);
extern const char *walmptcp_mode_name(WalmptcpMode mode);

/* got_patch.c */
extern int	walmptcp_patch_got(const char *object, const char *symbol,
							   void *replacement);

/* conninfo_mptcp.c */
typedef struct WalmptcpConninfo
{
	char	   *conninfo;		/* conninfo without the mptcp keyword */
	bool		specified;		/* was the keyword present? */
	WalmptcpMode mode;			/* keyword value, or the default */
	char	   *error;			/* palloc'd message when unusable, else NULL */
	char	   *error_detail;
	char	   *error_hint;		/* or NULL */
	char	   *error_brief;	/* detail for a one-line message */
	char	   *application_name;	/* as given, or NULL */
} WalmptcpConninfo;

extern void walmptcp_parse_conninfo(const char *conninfo,
									WalmptcpConninfo *result);
extern void walmptcp_report_conninfo_error(const WalmptcpConninfo *ci);
extern char *walmptcp_conninfo_error_message(const WalmptcpConninfo *ci);

/* mptcp_socket.c */
typedef enum WalmptcpOutcome
{
	WALMPTCP_OUTCOME_TCP,		/* plain TCP was asked for */
	WALMPTCP_OUTCOME_MPTCP,		/* MPTCP end to end */
	WALMPTCP_OUTCOME_KERNEL_REFUSED,	/* local kernel refused MPTCP */
	WALMPTCP_OUTCOME_PEER_FALLBACK,	/* peer answered without MPTCP */
	WALMPTCP_OUTCOME_UNIX_SOCKET	/* Unix-domain socket: no TCP at all */
} WalmptcpOutcome;

extern void walmptcp_install_listen_interposer(void);
extern void walmptcp_install_libpq_interposer(void);
extern void walmptcp_begin_client_connect(bool want_mptcp);
extern int	walmptcp_end_client_connect(void);
extern WalmptcpOutcome walmptcp_socket_outcome(int fd, char **reason);
extern int	walmptcp_kernel_refusal(int domain);
extern bool walmptcp_probe_kernel(int *err);
extern void walmptcp_listen_summary(int *mptcp_sockets, int *tcp_sockets,
									int *refusal_errno);

/* tcp_option_deferral.c: TCP options a kernel refuses on MPTCP sockets */
extern void walmptcp_install_tcp_option_interposer(void);
extern void walmptcp_forget_deferred_options(void);
extern void walmptcp_apply_deferred_options(int fd, WalmptcpOutcome outcome);

/* walrcv_wrapper.c */
extern void walmptcp_wrap_walreceiver(void);


/* registry.c: this node's replication connections, in shared memory */
typedef enum WalmptcpRole
{
	WALMPTCP_ROLE_WALSENDER,
	WALMPTCP_ROLE_WALRECEIVER,
	WALMPTCP_ROLE_APPLY,
	WALMPTCP_ROLE_TABLESYNC,
	WALMPTCP_ROLE_SLOTSYNC,
	WALMPTCP_ROLE_BACKEND
} WalmptcpRole;

#define WALMPTCP_REASON_LEN 256
#define WALMPTCP_APPNAME_LEN 64

typedef struct WalmptcpConnEntry
{
	int			pid;			/* 0: free slot */
	WalmptcpRole role;
	uint64		inode;			/* socket inode, joins sock_diag */
	int			fd;
	bool		mode_known;		/* false for walsenders: the client chose */
	WalmptcpMode mode;
	WalmptcpOutcome outcome;	/* at connect time */
	char		reason[WALMPTCP_REASON_LEN];
	char		appname[WALMPTCP_APPNAME_LEN];
	unsigned int dbid;			/* Oid: a subscription's database, else 0 */
	int64		connected_at;	/* TimestampTz */
	struct sockaddr_storage local;	/* at connect time */
	struct sockaddr_storage remote;
	WalmptcpOwnerView owner;	/* published by the owning process */
} WalmptcpConnEntry;

extern Size walmptcp_registry_shmem_size(void);
extern void walmptcp_registry_shmem_init(struct LWLock *lock);

/* walsender_registration.c */
extern void walmptcp_install_walsender_registration(void);
extern void walmptcp_registry_add(WalmptcpRole role, int fd, bool mode_known,
								  WalmptcpMode mode, WalmptcpOutcome outcome,
								  const char *reason, const char *appname);
extern void walmptcp_registry_remove_fd(int fd);
extern WalmptcpConnEntry *walmptcp_registry_snapshot(int *count);
extern void walmptcp_registry_publish_owner_view(int fd, const WalmptcpOwnerView *view);

/* owner_view.c */
typedef enum WalmptcpSubflowSource
{
	WALMPTCP_SUBFLOW_SOURCE_AUTO,
	WALMPTCP_SUBFLOW_SOURCE_SOCK_DIAG,
	WALMPTCP_SUBFLOW_SOURCE_OWNER
} WalmptcpSubflowSource;

extern int	walmptcp_subflow_source;
extern void walmptcp_install_owner_view_interposers(bool executable);
extern void walmptcp_owner_view_start(int fd);
extern void walmptcp_owner_view_stop(int fd);
extern const char *walmptcp_role_name(WalmptcpRole role);
extern WalmptcpRole walmptcp_current_role(void);
extern WalmptcpRole walmptcp_bgworker_role(const char *library, const char *type,
										   const char *name);

/* postmaster_child.c: which child the postmaster is forking */
struct BackgroundWorker;
extern void walmptcp_register_supervisor_worker(struct BackgroundWorker *worker);
extern bool walmptcp_forked_as_supervisor(void);

/* net_admin.c: CAP_NET_ADMIN and the endpoint helper */
extern void walmptcp_net_admin_setup(bool start_helper);
extern void walmptcp_helper_close(void);
extern bool walmptcp_helper_available(void);
extern int	walmptcp_helper_readd(const WalmptcpEndpoint *ep, WalmptcpEndpoint *done,
								  WalmptcpReaddFate *fate);

/* events.c: supervisor events, in shared memory */
typedef struct WalmptcpEvent
{
	int64		time;			/* TimestampTz */
	int			pid;
	WalmptcpRole role;
	char		local[64];
	char		remote[64];
	char		event[24];
	char		detail[256];
} WalmptcpEvent;

extern Size walmptcp_events_shmem_size(void);
extern void walmptcp_events_shmem_init(struct LWLock *lock);
extern WalmptcpEvent *walmptcp_events_copy(int *count);
extern void walmptcp_event(int pid, WalmptcpRole role, const char *local,
						   const char *remote, const char *event,
						   const char *detail);

/* supervisor.c (repair_policy.c reads the GUCs too) */
/* the background worker's entry point, as registered (net_admin.c knows it too) */
#define WALMPTCP_SUPERVISOR_FUNCTION "walmptcp_supervisor_main"
extern bool walmptcp_supervisor_enabled;
extern int	walmptcp_check_interval;
extern int	walmptcp_repair;
extern void walmptcp_supervisor_register(void);

typedef enum WalmptcpRepair
{
	WALMPTCP_REPAIR_AUTO,
	WALMPTCP_REPAIR_ENDPOINT,
	WALMPTCP_REPAIR_RECONNECT,
	WALMPTCP_REPAIR_OFF
} WalmptcpRepair;

#endif							/* WALMPTCP_H */
