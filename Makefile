# walmptcp: streaming and logical replication over Multipath TCP
#
# Copyright (c) 2026, the walmptcp authors

MODULE_big = walmptcp
OBJS = \
	src/module.o \
	src/walmptcp.o \
	src/inet_addr.o \
	src/page_write.o \
	src/got_patch.o \
	src/mptcp_socket.o \
	src/tcp_option_deferral.o \
	src/conninfo_scan.o \
	src/service_file.o \
	src/conninfo_mptcp.o \
	src/walrcv_wrapper.o \
	src/registry.o \
	src/walsender_registration.o \
	src/netlink_frames.o \
	src/diag_message.o \
	src/sock_diag.o \
	src/conn_state.o \
	src/stat_functions.o \
	src/events.o \
	src/endpoint_pm.o \
	src/postmaster_child.o \
	src/helper_protocol.o \
	src/endpoint_helper.o \
	src/net_admin.o \
	src/owner_subflows.o \
	src/owner_view.o \
	src/subflow_path.o \
	src/path_probe.o \
	src/endpoint_repair.o \
	src/connection_tracker.o \
	src/repair_policy.o \
	src/repair_actions.o \
	src/observation.o \
	src/supervisor.o \
	src/sql_functions.o

EXTENSION = walmptcp
DATA = walmptcp--1.0.sql walmptcp--1.0--1.1.sql
PGFILEDESC = "walmptcp - replication over Multipath TCP"

REGRESS = walmptcp
REGRESS_OPTS = --temp-instance=./tmp_check_regress --temp-config=$(srcdir)/test/walmptcp.conf
TAP_TESTS = 1

PG_CPPFLAGS = -I$(srcdir)/src -DWALMPTCP_SYSCONFDIR='"$(shell $(PG_CONFIG) --sysconfdir)"'
SHLIB_LINK = -lmnl -lcap
# -Wimplicit-fallthrough=5 is PostgreSQL 19's own: every major builds with it
PG_CFLAGS = -Wall -Wextra -Wimplicit-fallthrough=5 -Wno-unused-parameter -Wno-missing-field-initializers

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Unit tests of PostgreSQL-free parts (test/run-tests runs them)
UNIT_TESTS = test/unit/page_write_test test/unit/conninfo_diff_test test/unit/owner_view_stride_test \
	test/unit/service_file_test test/unit/helper_protocol_test
# UNIT_CPPFLAGS=-IDIR: a directory with newer linux/tcp.h and linux/mptcp.h
# (and what they include) than the system's, for the owner-view stride test
UNIT_CPPFLAGS ?=
test/unit/page_write_test: test/unit/page_write_test.c test/unit/tap.h src/page_write.c src/page_write.h
	$(CC) -Wall -Wextra -Werror -O1 -o $@ test/unit/page_write_test.c src/page_write.c
test/unit/conninfo_diff_test: test/unit/conninfo_diff_test.c test/unit/conninfo_oracle.h src/conninfo_scan.c src/conninfo_scan.h
	$(CC) -Wall -Wextra -Werror -O1 -I$(shell $(PG_CONFIG) --includedir) -o $@ test/unit/conninfo_diff_test.c src/conninfo_scan.c -L$(shell $(PG_CONFIG) --libdir) -lpq
test/unit/owner_view_stride_test: test/unit/owner_view_stride_test.c test/unit/tap.h src/owner_subflows.c src/owner_subflows.h src/inet_addr.c src/inet_addr.h src/kernel_uapi.h
	$(CC) -Wall -Wextra -Werror -O1 $(UNIT_CPPFLAGS) -o $@ test/unit/owner_view_stride_test.c src/owner_subflows.c src/inet_addr.c -Wl,--wrap=getsockopt
test/unit/service_file_test: test/unit/service_file_test.c src/service_file.c src/service_file.h
	$(CC) -Wall -Wextra -Werror -O1 -o $@ test/unit/service_file_test.c src/service_file.c
test/unit/helper_protocol_test: test/unit/helper_protocol_test.c src/helper_protocol.c src/helper_protocol.h src/endpoint_pm.h
	$(CC) -Wall -Wextra -Werror -O1 -Isrc -o $@ test/unit/helper_protocol_test.c src/helper_protocol.c
.PHONY: check-unit
check-unit: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do ./$$t || exit 1; done
EXTRA_CLEAN += $(UNIT_TESTS)
