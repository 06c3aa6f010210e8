/*-------------------------------------------------------------------------
 *
 * netlink_frames.c
 *	  Check the framing of a received netlink buffer before libmnl walks it.
 *
 * libmnl's mnl_nlmsg_ok() compares nlmsg_len with the bytes left after a
 * cast to int, so a length of 2^31 or more passes and mnl_cb_run() then
 * reads far outside the buffer; and it walks a message's attributes up to
 * its length rounded up to 4, past the end of an unpadded last message
 * (both found by test/fuzz).  The kernel pads every message.  The kernel never sends
 * such a message, and only it can send to these sockets without
 * CAP_NET_ADMIN; the check costs one pass over the headers and makes the
 * parsers safe on any input.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <string.h>
#include <linux/netlink.h>

#include "netlink_frames.h"

bool
walmptcp_netlink_frames_ok(const void *buf, size_t len)
{
	const char *p = buf;
	size_t		left = len;

	while (left >= sizeof(struct nlmsghdr))
	{
		struct nlmsghdr nlh;
		size_t		frame;

		memcpy(&nlh, p, sizeof(nlh));	/* the buffer may be unaligned */
		if (nlh.nlmsg_len < sizeof(struct nlmsghdr) || nlh.nlmsg_len > left)
			return false;
		/* libmnl walks a message's attributes up to its aligned end */
		frame = NLMSG_ALIGN((size_t) nlh.nlmsg_len);
		if (frame > left)
			return false;
		p += frame;
		left -= frame;
	}
	return left == 0;
}
