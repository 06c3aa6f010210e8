/*-------------------------------------------------------------------------
 *
 * endpoint_pm.c
 *	  Read and re-add MPTCP endpoints through the "mptcp_pm" generic netlink
 *	  family, with libmnl.
 *
 * Re-adding an endpoint exactly as it was (id, flags, device, port) is the
 * way the kernel maintainers point to for re-creating subflows the in-kernel
 * path manager will not re-create by itself: a "subflow" endpoint makes the
 * client open its subflow again, a "signal" endpoint makes the server
 * announce its address again so the client re-joins it.  An endpoint is
 * shared by every MPTCP connection of the network namespace: removing it
 * closes that path's subflows on all of them for a moment.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/mptcp.h>

#include "endpoint_pm.h"
#include "inet_addr.h"
#include "kernel_uapi.h"
#include "netlink_frames.h"

typedef struct Listing
{
	WalmptcpEndpoint *out;
	int			max;
	int			count;
	uint16_t	family_id;
} Listing;

static int
family_attr_cb(const struct nlattr *attr, void *data)
{
	Listing    *l = data;

	if (mnl_attr_get_type(attr) == CTRL_ATTR_FAMILY_ID &&
		mnl_attr_validate(attr, MNL_TYPE_U16) == 0)
		l->family_id = mnl_attr_get_u16(attr);
	return MNL_CB_OK;
}

static int
family_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), family_attr_cb, data);
}

/* Send one request and run the callback over the answer; 0 or -errno. */
static int
request(struct mnl_socket *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char		buf[16384];
	unsigned int portid = mnl_socket_get_portid(nl);
	unsigned int seq = nlh->nlmsg_seq;
	ssize_t		ret;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	while ((ret = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0)
	{
		if (!walmptcp_netlink_frames_ok(buf, ret))
			return -EPROTO;
		ret = mnl_cb_run(buf, ret, seq, portid, cb, data);
		if (ret <= MNL_CB_STOP)
			break;
	}
	return ret < 0 ? -errno : 0;
}

static struct nlmsghdr *
genl_header(char *buf, uint16_t type, uint8_t cmd, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *genl;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = (unsigned int) time(NULL);
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = cmd;
	genl->version = type == GENL_ID_CTRL ? 1 : MPTCP_PM_VER;
	return nlh;
}

/* Open a generic netlink socket and resolve "mptcp_pm". */
static struct mnl_socket *
open_pm(uint16_t *family_id, int *err)
{
	char		buf[1024];
	struct mnl_socket *nl = mnl_socket_open(NETLINK_GENERIC);
	struct nlmsghdr *nlh;
	Listing		l = {0};

	if (nl == NULL || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
	{
		*err = -errno;
		if (nl)
			mnl_socket_close(nl);
		return NULL;
	}
	nlh = genl_header(buf, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, NLM_F_ACK);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, MPTCP_PM_NAME);
	*err = request(nl, nlh, family_cb, &l);
	if (*err == 0 && l.family_id == 0)
		*err = -ENOENT;
	if (*err != 0)
	{
		mnl_socket_close(nl);
		return NULL;
	}
	*family_id = l.family_id;
	return nl;
}

/*
 * One endpoint from its nested attributes.  Each attribute is checked for
 * the size its type needs before it is read; one that is too short (a
 * corrupt or unexpected message) is skipped.
 */
static void
parse_endpoint(const struct nlattr *nested, WalmptcpEndpoint *ep)
{
	const struct nlattr *attr;

	memset(ep, 0, sizeof(*ep));
	mnl_attr_for_each_nested(attr, nested)
	{
		switch (mnl_attr_get_type(attr))
		{
			case MPTCP_PM_ADDR_ATTR_FAMILY:
				if (mnl_attr_validate(attr, MNL_TYPE_U16) == 0)
					ep->family = mnl_attr_get_u16(attr);
				break;
			case MPTCP_PM_ADDR_ATTR_ID:
				if (mnl_attr_validate(attr, MNL_TYPE_U8) == 0)
					ep->id = mnl_attr_get_u8(attr);
				break;
			case MPTCP_PM_ADDR_ATTR_ADDR4:
				if (mnl_attr_validate2(attr, MNL_TYPE_BINARY, 4) == 0)
					memcpy(ep->addr, mnl_attr_get_payload(attr), 4);
				break;
			case MPTCP_PM_ADDR_ATTR_ADDR6:
				if (mnl_attr_validate2(attr, MNL_TYPE_BINARY, INET_ADDR_MAX_LEN) == 0)
					memcpy(ep->addr, mnl_attr_get_payload(attr), INET_ADDR_MAX_LEN);
				break;
			case MPTCP_PM_ADDR_ATTR_PORT:
				if (mnl_attr_validate(attr, MNL_TYPE_U16) == 0)
					ep->port = mnl_attr_get_u16(attr);
				break;
			case MPTCP_PM_ADDR_ATTR_FLAGS:
				if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
					ep->flags = mnl_attr_get_u32(attr);
				break;
			case MPTCP_PM_ADDR_ATTR_IF_IDX:
				if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
					ep->ifindex = (int32_t) mnl_attr_get_u32(attr);
				break;
		}
	}
}

static int
endpoint_cb(const struct nlmsghdr *nlh, void *data)
{
	Listing    *l = data;
	const struct nlattr *attr;

	mnl_attr_for_each(attr, nlh, sizeof(struct genlmsghdr))
	{
		if (mnl_attr_get_type(attr) == MPTCP_PM_ATTR_ADDR && l->count < l->max)
			parse_endpoint(attr, &l->out[l->count++]);
	}
	return MNL_CB_OK;
}

int
walmptcp_endpoints_parse(const void *buf, size_t len, WalmptcpEndpoint *out, int max)
{
	Listing		l = {out, max, 0, 0};

	if (walmptcp_netlink_frames_ok(buf, len))
		(void) mnl_cb_run(buf, len, 0, 0, endpoint_cb, &l);
	return l.count;
}

int
walmptcp_endpoints_list(WalmptcpEndpoint *out, int max)
{
	char		buf[1024];
	uint16_t	family_id;
	int			err;
	struct mnl_socket *nl = open_pm(&family_id, &err);
	Listing		l = {out, max, 0, 0};

	if (nl == NULL)
		return err;
	err = request(nl, genl_header(buf, family_id, MPTCP_PM_CMD_GET_ADDR, NLM_F_DUMP),
				  endpoint_cb, &l);
	mnl_socket_close(nl);
	return err < 0 ? err : l.count;
}

typedef struct Limits
{
	uint32_t	subflows;
	uint32_t	add_addr_accepted;
} Limits;

static int
limits_cb(const struct nlmsghdr *nlh, void *data)
{
	Limits	   *l = data;
	const struct nlattr *attr;

	mnl_attr_for_each(attr, nlh, sizeof(struct genlmsghdr))
	{
		if (mnl_attr_validate(attr, MNL_TYPE_U32) != 0)
			continue;
		if (mnl_attr_get_type(attr) == MPTCP_PM_ATTR_SUBFLOWS)
			l->subflows = mnl_attr_get_u32(attr);
		else if (mnl_attr_get_type(attr) == MPTCP_PM_ATTR_RCV_ADD_ADDRS)
			l->add_addr_accepted = mnl_attr_get_u32(attr);
	}
	return MNL_CB_OK;
}

void
walmptcp_limits_parse(const void *buf, size_t len, uint32_t *subflows,
					  uint32_t *add_addr_accepted)
{
	Limits		l = {0, 0};

	if (walmptcp_netlink_frames_ok(buf, len))
		(void) mnl_cb_run(buf, len, 0, 0, limits_cb, &l);
	*subflows = l.subflows;
	*add_addr_accepted = l.add_addr_accepted;
}

int
walmptcp_limits_get(uint32_t *subflows, uint32_t *add_addr_accepted)
{
	char		buf[1024];
	uint16_t	family_id;
	int			err;
	struct mnl_socket *nl = open_pm(&family_id, &err);
	Limits		l = {0, 0};

	if (nl == NULL)
		return err;
	err = request(nl, genl_header(buf, family_id, MPTCP_PM_CMD_GET_LIMITS, NLM_F_ACK),
				  limits_cb, &l);
	mnl_socket_close(nl);
	*subflows = l.subflows;
	*add_addr_accepted = l.add_addr_accepted;
	return err;
}

/* The endpoint's attributes: its id only (to delete it), all of them, or
 * all but the id (the kernel picks one). */
typedef enum EndpointAttrs
{
	ENDPOINT_ID_ONLY,
	ENDPOINT_ALL,
	ENDPOINT_ALL_BUT_ID
} EndpointAttrs;

static void
put_endpoint(struct nlmsghdr *nlh, const WalmptcpEndpoint *ep, EndpointAttrs attrs)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, MPTCP_PM_ATTR_ADDR);

	if (attrs != ENDPOINT_ALL_BUT_ID)
		mnl_attr_put_u8(nlh, MPTCP_PM_ADDR_ATTR_ID, ep->id);
	if (attrs != ENDPOINT_ID_ONLY)
	{
		mnl_attr_put_u16(nlh, MPTCP_PM_ADDR_ATTR_FAMILY, ep->family);
		if (ep->family == AF_INET)
			mnl_attr_put(nlh, MPTCP_PM_ADDR_ATTR_ADDR4, 4, ep->addr);
		else
			mnl_attr_put(nlh, MPTCP_PM_ADDR_ATTR_ADDR6, 16, ep->addr);
		if (ep->port)
			mnl_attr_put_u16(nlh, MPTCP_PM_ADDR_ATTR_PORT, ep->port);
		mnl_attr_put_u32(nlh, MPTCP_PM_ADDR_ATTR_FLAGS, ep->flags);
		if (ep->ifindex)
			mnl_attr_put_u32(nlh, MPTCP_PM_ADDR_ATTR_IF_IDX, (uint32_t) ep->ifindex);
	}
	mnl_attr_nest_end(nlh, nest);
}

static int
ack_cb(const struct nlmsghdr *nlh, void *data)
{
	return MNL_CB_OK;
}

#ifdef WALMPTCP_TEST_HOOKS
static int	adds_to_fail = 0;

void
walmptcp_endpoint_fail_next_adds(int n)
{
	adds_to_fail = n;
}
#endif

static int
pm_command(struct mnl_socket *nl, uint16_t family_id, uint8_t cmd,
		   const WalmptcpEndpoint *ep, EndpointAttrs attrs)
{
	char		buf[1024];
	struct nlmsghdr *nlh = genl_header(buf, family_id, cmd, NLM_F_ACK);

#ifdef WALMPTCP_TEST_HOOKS
	if (cmd == MPTCP_PM_CMD_ADD_ADDR && adds_to_fail > 0)
	{
		adds_to_fail--;
		return -ENOMEM;
	}
#endif

	put_endpoint(nlh, ep, attrs);
	return request(nl, nlh, ack_cb, NULL);
}

/*
 * Add a just-deleted endpoint back.  Between the delete and the add, a
 * subflow on the endpoint's address (one the peer's announcement opened,
 * say) can make the kernel create an implicit endpoint for that address,
 * taking the freed id or the address: EBUSY or EEXIST.  Remove that
 * implicit entry and try again; failing that, add the endpoint under an id
 * the kernel picks (which replaces an implicit entry), so that the host
 * never loses an endpoint to a repair.
 */
static int
add_back(struct mnl_socket *nl, uint16_t family_id, WalmptcpEndpoint *ep)
{
	int			err = pm_command(nl, family_id, MPTCP_PM_CMD_ADD_ADDR, ep, ENDPOINT_ALL);
	WalmptcpEndpoint eps[WALMPTCP_MAX_ENDPOINTS];
	int			n;

	if (err != -EBUSY && err != -EEXIST)
		return err;

	n = walmptcp_endpoints_list(eps, WALMPTCP_MAX_ENDPOINTS);
	for (int i = 0; i < n; i++)
	{
		bool		same_addr = eps[i].family == ep->family &&
			memcmp(eps[i].addr, ep->addr, inet_addr_len(ep->family)) == 0;

		if ((eps[i].flags & MPTCP_PM_ADDR_FLAG_IMPLICIT) &&
			(same_addr || eps[i].id == ep->id))
			(void) pm_command(nl, family_id, MPTCP_PM_CMD_DEL_ADDR, &eps[i], ENDPOINT_ID_ONLY);
	}
	err = pm_command(nl, family_id, MPTCP_PM_CMD_ADD_ADDR, ep, ENDPOINT_ALL);
	if (err != -EBUSY && err != -EEXIST)
		return err;

	err = pm_command(nl, family_id, MPTCP_PM_CMD_ADD_ADDR, ep, ENDPOINT_ALL_BUT_ID);
	if (err != 0)
		return err;
	n = walmptcp_endpoints_list(eps, WALMPTCP_MAX_ENDPOINTS);
	for (int i = 0; i < n; i++)
	{
		if (eps[i].family == ep->family &&
			memcmp(eps[i].addr, ep->addr, inet_addr_len(ep->family)) == 0)
			ep->id = eps[i].id;
	}
	return 0;
}

bool
walmptcp_endpoint_equal(const WalmptcpEndpoint *a, const WalmptcpEndpoint *b)
{
	return a->id == b->id && a->family == b->family && a->port == b->port &&
		a->flags == b->flags && a->ifindex == b->ifindex &&
		inet_addr_equal(a->family, a->addr, b->addr);
}

int
walmptcp_endpoint_readd(const WalmptcpEndpoint *expected, WalmptcpEndpoint *done,
						WalmptcpReaddFate *fate)
{
	WalmptcpEndpoint eps[WALMPTCP_MAX_ENDPOINTS];
	WalmptcpEndpoint *ep = NULL;
	uint16_t	family_id;
	int			n,
				err;
	struct mnl_socket *nl;

	n = walmptcp_endpoints_list(eps, WALMPTCP_MAX_ENDPOINTS);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++)
		if (eps[i].id == expected->id)
			ep = &eps[i];
	*fate = WALMPTCP_READD_UNTOUCHED;
	if (ep == NULL)
		return -ENOENT;			/* only endpoints that exist are touched */
	*done = *ep;
	/* renumbered or replaced since the caller looked: not the one it judged */
	if (!walmptcp_endpoint_equal(ep, expected))
		return -ESTALE;

	nl = open_pm(&family_id, &err);
	if (nl == NULL)
		return err;
	err = pm_command(nl, family_id, MPTCP_PM_CMD_DEL_ADDR, ep, ENDPOINT_ID_ONLY);
	if (err == 0)
	{
		err = add_back(nl, family_id, done);
		if (err == 0)
			*fate = WALMPTCP_READD_READDED;
		else
		{
			/* never leave the host without it: once more, exactly as it was */
			*done = *ep;
			*fate = pm_command(nl, family_id, MPTCP_PM_CMD_ADD_ADDR, ep, ENDPOINT_ALL) == 0 ?
				WALMPTCP_READD_RESTORED : WALMPTCP_READD_LOST;
		}
	}
	mnl_socket_close(nl);
	return err;
}

void
walmptcp_endpoint_describe(const WalmptcpEndpoint *ep, char *buf, int len)
{
	char		addr[INET6_ADDRSTRLEN] = "?";
	char		dev[IF_NAMESIZE] = "";
	char		port[16] = "";

	inet_ntop(ep->family, ep->addr, addr, sizeof(addr));
	if (ep->ifindex)
		if_indextoname(ep->ifindex, dev);
	if (ep->port)
		snprintf(port, sizeof(port), " port %u", ep->port);
	snprintf(buf, len, "%s%s id %u%s%s%s%s%s%s", addr, port, ep->id,
			 (ep->flags & MPTCP_PM_ADDR_FLAG_SIGNAL) ? " signal" : "",
			 (ep->flags & MPTCP_PM_ADDR_FLAG_SUBFLOW) ? " subflow" : "",
			 (ep->flags & MPTCP_PM_ADDR_FLAG_BACKUP) ? " backup" : "",
			 (ep->flags & MPTCP_PM_ADDR_FLAG_FULLMESH) ? " fullmesh" : "",
			 dev[0] ? " dev " : "", dev);
}

/* Is addr on one of ifs's interfaces (that is up with carrier, if running)? */
bool
walmptcp_address_in(const struct ifaddrs *ifs, int family, const uint8_t *addr,
					bool running)
{
	for (const struct ifaddrs *i = ifs; i; i = i->ifa_next)
	{
		const void *a;

		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != family)
			continue;
		if (running && (i->ifa_flags & (IFF_UP | IFF_RUNNING)) != (IFF_UP | IFF_RUNNING))
			continue;
		a = family == AF_INET ? (const void *) &((struct sockaddr_in *) i->ifa_addr)->sin_addr
			: (const void *) &((struct sockaddr_in6 *) i->ifa_addr)->sin6_addr;
		if (inet_addr_equal(family, a, addr))
			return true;
	}
	return false;
}

bool
walmptcp_address_usable(int family, const uint8_t *addr)
{
	struct ifaddrs *ifs;
	bool		usable;

	if (getifaddrs(&ifs) != 0)
		return false;
	usable = walmptcp_address_in(ifs, family, addr, true);
	freeifaddrs(ifs);
	return usable;
}

