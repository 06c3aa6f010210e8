/*-------------------------------------------------------------------------
 *
 * subflow.c
 *	  One TCP subflow, whichever source read it (see subflow.h;
 *	  PostgreSQL-free).
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include <linux/tcp.h>

#include "subflow.h"

void
walmptcp_subflow_take_tcp_info(WalmptcpSubflow *s, const struct tcp_info *t, int len)
{
	s->tcpi_len = len;
	s->rtt = t->tcpi_rtt;
	s->snd_cwnd = t->tcpi_snd_cwnd;
	s->total_retrans = t->tcpi_total_retrans;
	s->bytes_sent = t->tcpi_bytes_sent;
	s->bytes_received = t->tcpi_bytes_received;
	s->bytes_acked = t->tcpi_bytes_acked;
	s->bytes_retrans = t->tcpi_bytes_retrans;
	s->delivery_rate = t->tcpi_delivery_rate;
}
