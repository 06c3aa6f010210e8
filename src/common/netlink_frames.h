/*-------------------------------------------------------------------------
 *
 * netlink_frames.h
 *	  Is a received netlink buffer a sequence of well-framed messages?
 *	  (PostgreSQL-free.)
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_NETLINK_FRAMES_H
#define WALMPTCP_NETLINK_FRAMES_H

#include <stdbool.h>
#include <stddef.h>

extern bool walmptcp_netlink_frames_ok(const void *buf, size_t len);

#endif							/* WALMPTCP_NETLINK_FRAMES_H */
