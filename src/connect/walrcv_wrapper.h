/*-------------------------------------------------------------------------
 *
 * walrcv_wrapper.h
 *	  The walrcv_connect / walrcv_check_conninfo wrappers.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_WALRCV_WRAPPER_H
#define WALMPTCP_WALRCV_WRAPPER_H

extern void walmptcp_wrap_walreceiver(void);

#endif							/* WALMPTCP_WALRCV_WRAPPER_H */
