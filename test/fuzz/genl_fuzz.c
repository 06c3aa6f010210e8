/*
 * libFuzzer target: the MPTCP path manager's genetlink answers
 * (src/pm/endpoint_pm.c).  The first byte chooses the parser: even, the
 * endpoint dump (GET_ADDR); odd, the limits (GET_LIMITS); the rest is the
 * raw answer (seeds: real answers, test/fuzz/capture-seeds).
 *
 * Copyright (c) 2026, the walmptcp authors
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/pm/endpoint_pm.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void	   *buf;

	if (size < 1)
		return 0;
	buf = malloc(size);
	memcpy(buf, data + 1, size - 1);
	if (data[0] % 2 == 0)
	{
		WalmptcpEndpoint eps[WALMPTCP_MAX_ENDPOINTS];
		char		desc[128];
		int			n = walmptcp_endpoints_parse(buf, size - 1, eps, WALMPTCP_MAX_ENDPOINTS);

		for (int i = 0; i < n; i++)
			walmptcp_endpoint_describe(&eps[i], desc, sizeof(desc));
	}
	else
	{
		uint32_t	subflows,
					accepted;

		walmptcp_limits_parse(buf, size - 1, &subflows, &accepted);
	}
	free(buf);
	return 0;
}
