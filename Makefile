# walmptcp: streaming and logical replication over Multipath TCP
#
# Copyright (c) 2026, the walmptcp authors

MODULE_big = walmptcp
OBJS = \
	src/module.o \
	src/walmptcp.o \
	$(addprefix src/common/,inet_addr.o netlink_frames.o subflow.o) \
	$(addprefix src/connect/,page_write.o got_patch.o mptcp_socket.o tcp_option_deferral.o conninfo_scan.o service_file.o conninfo_mptcp.o walrcv_wrapper.o walsender_registration.o owner_view.o) \
	$(addprefix src/shmem/,registry.o events.o owner_subflows.o) \
	$(addprefix src/diag/,diag_message.o sock_diag.o conn_state.o) \
	$(addprefix src/sql/,stat_functions.o sql_functions.o) \
	$(addprefix src/pm/,endpoint_pm.o) \
	$(addprefix src/supervisor/,subflow_path.o path_probe.o endpoint_repair.o connection_tracker.o repair_policy.o repair_actions.o observation.o supervisor.o) \
	$(addprefix src/helper/,postmaster_child.o helper_protocol.o endpoint_helper.o net_admin.o)

EXTENSION = walmptcp
DATA = walmptcp--1.0.sql walmptcp--1.0--1.1.sql
PGFILEDESC = "walmptcp - replication over Multipath TCP"

REGRESS = walmptcp
REGRESS_OPTS = --temp-instance=./tmp_check_regress --temp-config=$(srcdir)/test/walmptcp.conf
TAP_TESTS = 1

SRC_DIRS = src src/common src/connect src/shmem src/diag src/sql src/pm src/supervisor src/helper
PG_CPPFLAGS = $(addprefix -I$(srcdir)/,$(SRC_DIRS)) -DWALMPTCP_SYSCONFDIR='"$(shell $(PG_CONFIG) --sysconfdir)"'
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
UNIT_INCLUDES = $(addprefix -I,$(SRC_DIRS))
test/unit/page_write_test: test/unit/page_write_test.c test/unit/tap.h src/connect/page_write.c src/connect/page_write.h
	$(CC) -Wall -Wextra -Werror -O1 $(UNIT_INCLUDES) -o $@ test/unit/page_write_test.c src/connect/page_write.c
test/unit/conninfo_diff_test: test/unit/conninfo_diff_test.c test/unit/conninfo_oracle.h src/connect/conninfo_scan.c src/connect/conninfo_scan.h
	$(CC) -Wall -Wextra -Werror -O1 $(UNIT_INCLUDES) -I$(shell $(PG_CONFIG) --includedir) -o $@ test/unit/conninfo_diff_test.c src/connect/conninfo_scan.c -L$(shell $(PG_CONFIG) --libdir) -lpq
test/unit/owner_view_stride_test: test/unit/owner_view_stride_test.c test/unit/tap.h src/shmem/owner_subflows.c src/shmem/owner_subflows.h src/common/inet_addr.c src/common/inet_addr.h src/common/subflow.c src/common/subflow.h src/common/kernel_uapi.h
	$(CC) -Wall -Wextra -Werror -O1 $(UNIT_CPPFLAGS) $(UNIT_INCLUDES) -o $@ test/unit/owner_view_stride_test.c src/shmem/owner_subflows.c src/common/inet_addr.c src/common/subflow.c -Wl,--wrap=getsockopt
test/unit/service_file_test: test/unit/service_file_test.c src/connect/service_file.c src/connect/service_file.h
	$(CC) -Wall -Wextra -Werror -O1 $(UNIT_INCLUDES) -o $@ test/unit/service_file_test.c src/connect/service_file.c
test/unit/helper_protocol_test: test/unit/helper_protocol_test.c src/helper/helper_protocol.c src/helper/helper_protocol.h src/pm/endpoint_pm.h
	$(CC) -Wall -Wextra -Werror -O1 $(UNIT_INCLUDES) -o $@ test/unit/helper_protocol_test.c src/helper/helper_protocol.c
.PHONY: check-unit
check-unit: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do ./$$t || exit 1; done
EXTRA_CLEAN += $(UNIT_TESTS)
