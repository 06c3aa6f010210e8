/*-------------------------------------------------------------------------
 *
 * page_write.h
 *	  Store one pointer into a page that may be read-only (PostgreSQL-free).
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_PAGE_WRITE_H
#define WALMPTCP_PAGE_WRITE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Store value at *slot.  A page without write permission is made writable
 * for the store and then given back its previous protection; a writable
 * page is left as it is.  False (nothing stored) when the page's protection
 * cannot be read from /proc/self/maps or changed.
 */
extern bool walmptcp_write_pointer(void **slot, void *value);

/*
 * The PROT_* bits of the mapping holding addr in a /proc/PID/maps text
 * (one or more lines), -1 when no line covers it.
 */
extern int	walmptcp_maps_protection(const char *maps, uintptr_t addr);

#endif							/* WALMPTCP_PAGE_WRITE_H */
