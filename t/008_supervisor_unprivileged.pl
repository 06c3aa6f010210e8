# Supervisor without privileges: lost subflows come back by making the
# walreceiver reconnect once a probe shows the lost path answers again.
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

SupervisorFaults::run(net_admin => 0);
done_testing();
