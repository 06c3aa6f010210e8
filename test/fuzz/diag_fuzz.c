/*
 * libFuzzer target: the sock_diag message parser (src/diag/diag_message.c) on
 * raw netlink messages, as a dump answer arrives (seeds: real answers of
 * this kernel, test/fuzz/capture-seeds).  Each message is parsed as from a
 * dump of MPTCP sockets and as from one of TCP sockets.
 *
 * Copyright (c) 2026, the walmptcp authors
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <libmnl/libmnl.h>

#include "../../src/diag/diag_socket.h"
#include "../../src/common/netlink_frames.h"

static int
on_message(const struct nlmsghdr *nlh, void *data)
{
	DiagSocket	s;

	(void) data;
	(void) walmptcp_diag_parse_message(nlh, true, &s);
	(void) walmptcp_diag_parse_message(nlh, false, &s);
	return MNL_CB_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an aligned copy, as recv() into a buffer gives */
	void	   *buf = malloc(size ? size : 1);

	memcpy(buf, data, size);
	/* as src/diag/sock_diag.c does with what it receives */
	if (walmptcp_netlink_frames_ok(buf, size))
		(void) mnl_cb_run(buf, size, 0, 0, on_message, NULL);
	free(buf);
	return 0;
}
