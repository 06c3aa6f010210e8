/*-------------------------------------------------------------------------
 *
 * diag_message.c
 *	  Parse one sock_diag (inet_diag) message into a DiagSocket.
 *
 * Every attribute is checked against the size its type needs before it is
 * read (libmnl's validators): a kernel that sends a shorter attribute than
 * this code knows, or a corrupt message, costs that attribute, never a read
 * past the message.  Plain C without PostgreSQL: test/fuzz feeds it raw
 * bytes.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/mptcp.h>
#include <linux/tcp.h>

#include "diag_socket.h"
#include "inet_addr.h"

static void
parse_subflow_info(const struct nlattr *nested, WalmptcpSubflow *s)
{
	const struct nlattr *attr;

	mnl_attr_for_each_nested(attr, nested)
	{
		switch (mnl_attr_get_type(attr))
		{
			case MPTCP_SUBFLOW_ATTR_TOKEN_LOC:
				if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
					s->token_loc = mnl_attr_get_u32(attr);
				break;
			case MPTCP_SUBFLOW_ATTR_ID_LOC:
				if (mnl_attr_validate(attr, MNL_TYPE_U8) == 0)
					s->id_loc = mnl_attr_get_u8(attr);
				break;
			case MPTCP_SUBFLOW_ATTR_ID_REM:
				if (mnl_attr_validate(attr, MNL_TYPE_U8) == 0)
					s->id_rem = mnl_attr_get_u8(attr);
				break;
			case MPTCP_SUBFLOW_ATTR_FLAGS:
				if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
					s->subflow_flags = mnl_attr_get_u32(attr);
				break;
		}
	}
	s->has_subflow_info = true;
}

static void
parse_ulp_info(const struct nlattr *nested, WalmptcpSubflow *s)
{
	const struct nlattr *attr;

	mnl_attr_for_each_nested(attr, nested)
	{
		switch (mnl_attr_get_type(attr))
		{
			case INET_ULP_INFO_NAME:
				if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0 &&
					strcmp(mnl_attr_get_str(attr), "mptcp") == 0)
					s->is_subflow = true;
				break;
			case INET_ULP_INFO_MPTCP:
				s->is_subflow = true;
				parse_subflow_info(attr, s);
				break;
		}
	}
}

/* Copy a prefix of an attribute's payload into a struct of size max. */
static int
copy_prefix(const struct nlattr *attr, void *dst, size_t max)
{
	size_t		len = mnl_attr_get_payload_len(attr);

	if (len > max)
		len = max;
	memcpy(dst, mnl_attr_get_payload(attr), len);
	return (int) len;
}

bool
walmptcp_diag_parse_message(const struct nlmsghdr *nlh, bool mptcp, DiagSocket *s)
{
	const struct inet_diag_msg *msg = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	WalmptcpSubflow *sk = &s->sk;
	struct tcp_info tcpi;

	memset(s, 0, sizeof(*s));
	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*msg)))
		return false;

	sk->family = msg->idiag_family;
	sk->state = msg->idiag_state;
	memcpy(sk->local, msg->id.idiag_src, INET_ADDR_MAX_LEN);
	memcpy(sk->remote, msg->id.idiag_dst, INET_ADDR_MAX_LEN);
	sk->local_port = ntohs(msg->id.idiag_sport);
	sk->remote_port = ntohs(msg->id.idiag_dport);
	s->inode = msg->idiag_inode;

	mnl_attr_for_each(attr, nlh, sizeof(*msg))
	{
		switch (mnl_attr_get_type(attr))
		{
			case INET_DIAG_INFO:
				if (mptcp)
					s->mptcp_len = copy_prefix(attr, &s->mptcp, sizeof(s->mptcp));
				else
				{
					memset(&tcpi, 0, sizeof(tcpi));
					walmptcp_subflow_take_tcp_info(sk, &tcpi,
												   copy_prefix(attr, &tcpi, sizeof(tcpi)));
				}
				break;
			case INET_DIAG_ULP_INFO:
				parse_ulp_info(attr, sk);
				break;
		}
	}
	return true;
}
