/*-------------------------------------------------------------------------
 *
 * got_patch.h
 *	  Rewriting a GOT slot of the executable or of libpq.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_GOT_PATCH_H
#define WALMPTCP_GOT_PATCH_H

extern int	walmptcp_patch_got(const char *object, const char *symbol,
							   void *replacement);

#endif							/* WALMPTCP_GOT_PATCH_H */
