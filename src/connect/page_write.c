/*-------------------------------------------------------------------------
 *
 * page_write.c
 *	  Store one pointer into a page that may be read-only, and leave the
 *	  page as it was.
 *
 * A GOT slot lies in PT_GNU_RELRO, which the loader made read-only, or on
 * the page just after it: the loader rounds RELRO's end down to a page, so
 * with 16K or 64K pages the GOT's last page also holds .data and .bss and
 * stays writable.  Deciding from the program headers which case applies
 * gets that last page wrong (making it read-only crashes at the next write
 * to a library global); the kernel's own view, /proc/self/maps, does not.
 * So: read the page's protection there, lift it only if it lacks
 * PROT_WRITE, and put back exactly what was there.
 *
 * Plain C without PostgreSQL: test/unit builds it alone.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "page_write.h"

int
walmptcp_maps_protection(const char *maps, uintptr_t addr)
{
	const char *line = maps;

	while (line != NULL && *line != '\0')
	{
		uintptr_t	start,
					end;
		char		perms[5];

		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %4s", &start, &end, perms) == 3 &&
			addr >= start && addr < end)
			return (perms[0] == 'r' ? PROT_READ : 0) |
				(perms[1] == 'w' ? PROT_WRITE : 0) |
				(perms[2] == 'x' ? PROT_EXEC : 0);
		line = strchr(line, '\n');
		if (line != NULL)
			line++;
	}
	return -1;
}

/* The protection of the page holding addr, from /proc/self/maps; -1: unknown. */
static int
page_protection(uintptr_t addr)
{
	FILE	   *maps = fopen("/proc/self/maps", "r");
	char		line[512];
	int			prot = -1;

	if (maps == NULL)
		return -1;
	while (prot < 0 && fgets(line, sizeof(line), maps) != NULL)
	{
		/* a line longer than the buffer: its tail is not a mapping */
		if (strchr(line, '\n') == NULL)
		{
			int			c;

			while ((c = fgetc(maps)) != EOF && c != '\n')
				;
		}
		prot = walmptcp_maps_protection(line, addr);
	}
	fclose(maps);
	return prot;
}

bool
walmptcp_write_pointer(void **slot, void *value)
{
	long		pagesize = sysconf(_SC_PAGESIZE);
	uintptr_t	page = (uintptr_t) slot & ~((uintptr_t) pagesize - 1);
	int			prot = page_protection((uintptr_t) slot);

	if (prot < 0)
		return false;			/* not mapped, or maps unreadable: no guessing */
	if (prot & PROT_WRITE)
	{
		*slot = value;
		return true;
	}
	if (mprotect((void *) page, pagesize, prot | PROT_WRITE) != 0)
		return false;
	*slot = value;
	(void) mprotect((void *) page, pagesize, prot);
	return true;
}
