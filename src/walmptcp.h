/*-------------------------------------------------------------------------
 *
 * walmptcp.h
 *	  Declarations shared by the walmptcp source files.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_H
#define WALMPTCP_H

#include <stdbool.h>

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
	char	   *error;			/* palloc'd message when the value is bad */
} WalmptcpConninfo;

extern void walmptcp_parse_conninfo(const char *conninfo,
									WalmptcpConninfo *result);

/* mptcp_socket.c */
typedef enum WalmptcpOutcome
{
	WALMPTCP_OUTCOME_TCP,		/* plain TCP was asked for */
	WALMPTCP_OUTCOME_MPTCP,		/* MPTCP end to end */
	WALMPTCP_OUTCOME_KERNEL_REFUSED,	/* local kernel refused MPTCP */
	WALMPTCP_OUTCOME_PEER_FALLBACK	/* peer answered without MPTCP */
} WalmptcpOutcome;

extern void walmptcp_install_listen_interposer(void);
extern void walmptcp_install_libpq_interposer(void);
extern void walmptcp_begin_client_connect(bool want_mptcp);
extern int	walmptcp_end_client_connect(void);
extern WalmptcpOutcome walmptcp_socket_outcome(int fd, char **reason);
extern void walmptcp_apply_deferred_options(int fd, WalmptcpOutcome outcome);
extern int	walmptcp_kernel_refusal(void);
extern bool walmptcp_probe_kernel(int *err);
extern void walmptcp_listen_summary(int *mptcp_sockets, int *tcp_sockets,
									int *refusal_errno);

/* walrcv_wrapper.c */
extern void walmptcp_wrap_walreceiver(void);

#endif							/* WALMPTCP_H */
