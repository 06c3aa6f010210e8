# Supervisor with CAP_NET_ADMIN at server start (both nodes): lost subflows
# are re-created in place by re-adding endpoints; the walreceiver stays.
#
# Copyright (c) 2026, the walmptcp authors
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use WalmptcpLab;
use PostgreSQL::Test::Cluster;
use SupervisorFaults;
use Test::More;

SupervisorFaults::run(net_admin => 1);
done_testing();
