/*
 * wan-delay: a WAN path between two interfaces, for the lab.
 *
 *   wan-delay IF_A IF_B DELAY_US LOSS_PPM
 *
 * Every Ethernet frame that arrives on one interface leaves through the
 * other DELAY_US microseconds later (one way; both directions), unless it
 * is lost (LOSS_PPM per million, drawn per frame).  This kernel has no
 * netem and no fq qdisc, so delay cannot come from tc; rates stay with the
 * lab's tbf on the hosts' interfaces.  Frames are bridged as they are (ARP
 * and neighbour discovery included), so the two hosts see one link.
 *
 * AF_PACKET sockets in promiscuous mode, own transmissions ignored
 * (PACKET_IGNORE_OUTGOING, Linux 4.20); a FIFO per direction, since a
 * constant delay keeps the order; ppoll() until the next frame is due.
 * The interfaces must not aggregate (GRO/TSO off): frames up to the MTU.
 * Prints counters on SIGTERM/SIGINT and exits.
 *
 * Copyright (c) 2026, the walmptcp authors
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

#define SLOTS 32768				/* frames in flight per direction */
#define FRAME_MAX 9216

typedef struct Slot
{
	uint64_t	due_ns;
	uint16_t	len;
	unsigned char data[FRAME_MAX];
} Slot;

typedef struct Direction
{
	int			in,
				out;			/* sockets */
	Slot	   *ring;
	unsigned	head,
				tail;			/* head: next to send; tail: next free */
	uint64_t	forwarded,
				lost,
				overflow;
} Direction;

static volatile sig_atomic_t stop = 0;
static uint64_t rng = 88172645463325252ULL;

static void
on_signal(int sig)
{
	(void) sig;
	stop = 1;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint32_t
random_ppm(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t) (rng % 1000000);
}

static int
open_interface(const char *name)
{
	int			fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	struct sockaddr_ll sll = {0};
	struct packet_mreq mr = {0};
	int			one = 1,
				buf = 8 << 20;

	if (fd < 0)
	{
		perror("wan-delay: socket");
		exit(1);
	}
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = if_nametoindex(name);
	if (sll.sll_ifindex == 0 || bind(fd, (struct sockaddr *) &sll, sizeof(sll)) != 0)
	{
		fprintf(stderr, "wan-delay: cannot bind to %s: %s\n", name, strerror(errno));
		exit(1);
	}
	mr.mr_ifindex = sll.sll_ifindex;
	mr.mr_type = PACKET_MR_PROMISC;
	if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) != 0 ||
		setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) != 0)
	{
		perror("wan-delay: setsockopt");
		exit(1);
	}
	(void) setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
	(void) setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf));
	return fd;
}

/* Take every frame waiting on d->in into the queue (or lose it). */
static void
receive(Direction *d, uint64_t delay_ns, uint32_t loss_ppm)
{
	for (;;)
	{
		Slot	   *s = &d->ring[d->tail % SLOTS];
		unsigned char scratch[FRAME_MAX];
		int			full = (d->tail - d->head) == SLOTS;
		ssize_t		n = recv(d->in, full ? scratch : s->data, FRAME_MAX, MSG_DONTWAIT);

		if (n <= 0)
			return;
		if (full)
		{
			d->overflow++;
			continue;
		}
		if (loss_ppm && random_ppm() < loss_ppm)
		{
			d->lost++;
			continue;
		}
		s->len = (uint16_t) n;
		s->due_ns = now_ns() + delay_ns;
		d->tail++;
	}
}

/* Send what is due; returns ns until the next frame is due (or -1: none). */
static int64_t
send_due(Direction *d)
{
	uint64_t	t = now_ns();

	while (d->head != d->tail)
	{
		Slot	   *s = &d->ring[d->head % SLOTS];

		if (s->due_ns > t)
			return (int64_t) (s->due_ns - t);
		if (send(d->out, s->data, s->len, 0) == s->len)
			d->forwarded++;
		d->head++;
	}
	return -1;
}

int
main(int argc, char **argv)
{
	Direction	dir[2];
	uint64_t	delay_ns;
	uint32_t	loss_ppm;
	int			a,
				b;

	if (argc != 5)
	{
		fprintf(stderr, "usage: wan-delay IF_A IF_B DELAY_US LOSS_PPM\n");
		return 2;
	}
	delay_ns = strtoull(argv[3], NULL, 10) * 1000ULL;
	loss_ppm = (uint32_t) strtoul(argv[4], NULL, 10);
	a = open_interface(argv[1]);
	b = open_interface(argv[2]);
	rng ^= (uint64_t) getpid() * 2654435761ULL ^ now_ns();
	memset(dir, 0, sizeof(dir));
	dir[0].in = a, dir[0].out = b;
	dir[1].in = b, dir[1].out = a;
	for (int i = 0; i < 2; i++)
		if ((dir[i].ring = malloc(sizeof(Slot) * SLOTS)) == NULL)
			return 1;
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGQUIT, on_signal);

	while (!stop)
	{
		struct pollfd pfd[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
		int64_t		wait = -1;
		struct timespec ts,
				   *tsp = NULL;

		for (int i = 0; i < 2; i++)
		{
			int64_t		w = send_due(&dir[i]);

			if (w >= 0 && (wait < 0 || w < wait))
				wait = w;
		}
		if (wait >= 0)
		{
			ts.tv_sec = wait / 1000000000;
			ts.tv_nsec = wait % 1000000000;
			tsp = &ts;
		}
		if (ppoll(pfd, 2, tsp, NULL) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN)
			receive(&dir[0], delay_ns, loss_ppm);
		if (pfd[1].revents & POLLIN)
			receive(&dir[1], delay_ns, loss_ppm);
	}
	printf("wan-delay %s<->%s: forwarded %llu/%llu, lost %llu/%llu, queue full %llu/%llu\n",
		   argv[1], argv[2],
		   (unsigned long long) dir[0].forwarded, (unsigned long long) dir[1].forwarded,
		   (unsigned long long) dir[0].lost, (unsigned long long) dir[1].lost,
		   (unsigned long long) dir[0].overflow, (unsigned long long) dir[1].overflow);
	return 0;
}
