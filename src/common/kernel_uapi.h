/*-------------------------------------------------------------------------
 *
 * kernel_uapi.h
 *	  Linux UAPI values walmptcp needs that older system headers lack.
 *
 * Plain C, no PostgreSQL: also used by the endpoint helper's code.  Each
 * value is the kernel's own; the comment says since when it exists.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALMPTCP_KERNEL_UAPI_H
#define WALMPTCP_KERNEL_UAPI_H

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262		/* Linux 5.6 */
#endif
#ifndef SOL_MPTCP
#define SOL_MPTCP 284			/* Linux 5.16 */
#endif
#ifndef TCP_IS_MPTCP
#define TCP_IS_MPTCP 43			/* Linux 6.10 */
#endif
#ifndef MPTCP_PM_ADDR_FLAG_IMPLICIT
#define MPTCP_PM_ADDR_FLAG_IMPLICIT (1 << 4)	/* Linux 5.17 */
#endif

#endif							/* WALMPTCP_KERNEL_UAPI_H */
