/*
 * Unit test of src/connect/page_write.c on a synthetic layout: real pages of this
 * process with the protections the loader leaves around a GOT.
 *
 *   page 0: read-only (PT_GNU_RELRO, GOT slots)
 *   page 1: read-write (the GOT's last page shared with .data/.bss when
 *           RELRO's end is rounded down to a 16K/64K page)
 *   page 2: not mapped
 *
 * Prints TAP; exit status 1 when a check fails.
 *
 * Copyright (c) 2026, the walmptcp authors
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/connect/page_write.h"

#include "tap.h"

/* Does a store to addr succeed?  Tried in a child: a fault kills only it. */
static int
writable(void **addr)
{
	pid_t		pid = fork();
	int			status;

	if (pid == 0)
	{
		*(volatile uintptr_t *) addr = 42;
		_exit(0);
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int
main(void)
{
	long		pagesize = sysconf(_SC_PAGESIZE);
	char	   *base = mmap(NULL, 3 * pagesize, PROT_READ | PROT_WRITE,
							MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void	  **relro_slot = (void **) (base + 64);
	void	  **shared_slot = (void **) (base + pagesize + 8);
	void	  **unmapped_slot = (void **) (base + 2 * pagesize + 8);
	int			marker;
	char		maps[512];

	if (base == MAP_FAILED)
		return 2;
	if (mprotect(base, pagesize, PROT_READ) != 0 ||
		munmap(base + 2 * pagesize, pagesize) != 0)
		return 2;

	/* the parser, on a text with several lines */
	snprintf(maps, sizeof(maps),
			 "%lx-%lx r--p 00000000 00:00 0\n"
			 "%lx-%lx rw-p 00000000 00:00 0 [heap]\n"
			 "%lx-%lx r-xp 00000000 00:00 0   /usr/lib/x86_64-linux-gnu/libpq.so.5.15\n",
			 0x1000UL, 0x2000UL, 0x2000UL, 0x4000UL, 0x7000UL, 0x8000UL);
	ok(walmptcp_maps_protection(maps, 0x1fff) == PROT_READ, "maps: last byte of a read-only mapping");
	ok(walmptcp_maps_protection(maps, 0x2000) == (PROT_READ | PROT_WRITE), "maps: end is exclusive, next line read-write");
	ok(walmptcp_maps_protection(maps, 0x7abc) == (PROT_READ | PROT_EXEC), "maps: third line r-x");
	ok(walmptcp_maps_protection(maps, 0x5000) == -1, "maps: a hole is not mapped");
	ok(walmptcp_maps_protection("", 0x1000) == -1, "maps: empty text");

	/* a read-only page: written, and read-only again afterwards */
	ok(!writable(relro_slot), "read-only page refuses a plain store before");
	ok(walmptcp_write_pointer(relro_slot, &marker), "read-only page: pointer written");
	ok(*relro_slot == &marker, "read-only page: value stored");
	ok(!writable(relro_slot), "read-only page: read-only again afterwards");

	/* a writable page (GOT tail shared with .data): stays writable */
	ok(walmptcp_write_pointer(shared_slot, &marker), "shared page: pointer written");
	ok(*shared_slot == &marker, "shared page: value stored");
	ok(writable(shared_slot), "shared page: still writable afterwards (a .data store does not crash)");
	*shared_slot = NULL;		/* in this process too */
	ok(*shared_slot == NULL, "shared page: a later store in this process succeeds");

	/* an address with no mapping: refused, no guessing */
	ok(!walmptcp_write_pointer(unmapped_slot, &marker), "unmapped page: refused");

	printf("1..%d\n", tests);
	return failed ? 1 : 0;
}
