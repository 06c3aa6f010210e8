/*-------------------------------------------------------------------------
 *
 * service_file.h
 *	  Does a libpq connection service set a given keyword? (PostgreSQL-free)
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_SERVICE_FILE_H
#define WALMPTCP_SERVICE_FILE_H

#include <stddef.h>

/*
 * The line where the service file libpq would read for service sets
 * keyword (that file's name in file), or 0 when it does not.  servicefile
 * is the connection's servicefile option (libpq 19+), or NULL.
 */
extern int	walmptcp_service_sets(const char *service, const char *servicefile,
								  const char *keyword, const char *sysconfdir,
								  char *file, size_t file_len);

#endif							/* WALMPTCP_SERVICE_FILE_H */
