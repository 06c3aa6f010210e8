/*-------------------------------------------------------------------------
 *
 * walsender_registration.h
 *	  Walsenders registering their connection after authentication.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_WALSENDER_REGISTRATION_H
#define WALMPTCP_WALSENDER_REGISTRATION_H

extern void walmptcp_install_walsender_registration(void);

#endif							/* WALMPTCP_WALSENDER_REGISTRATION_H */
