# Topology 1, cascading: primary -> standby1 -> standby2, mptcp=1 on both
# links.  standby2 runs in the primary's namespace, so the standby1 ->
# standby2 link crosses the paths too; both hosts announce and open subflows
# (--endpoint-flags both).  Every node holds CAP_NET_ADMIN at start, so the
# endpoint helper exists and a needless endpoint re-add would show.
#
# Copyright (c) 2026, the walmptcp authors
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use WalmptcpLab;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Topology;

my $t = Topology->new('cascade', paths => 2, rate => 50, endpoint_flags => 'both');
my $lab = $t->lab;
my %caps = (keep_net_admin => 1);

my $primary = $t->server('primary', host => 'primary', %caps);
Topology::create_table($primary, 't');
my $standby1 = $t->standby($primary, 'standby1', host => 'standby', %caps,
	conninfo => 'host=' . $lab->addr('primary', 1) . ' port=' . $primary->port . ' mptcp=1');
$primary->wait_for_catchup($standby1);
my $standby2 = $t->standby($standby1, 'standby2', host => 'primary', %caps,
	conninfo => 'host=' . $lab->addr('standby', 1) . ' port=' . $standby1->port . ' mptcp=1');

# standby1 is a walreceiver (to the primary) and a walsender (to standby2)
$t->expect($primary, walsender => 1);
$t->expect($standby1, walreceiver => 1, walsender => 1);
$t->expect($standby2, walreceiver => 1);
$t->writer($primary, table => 't');
$t->same_rows('t', $primary, $standby1, $standby2);

$t->wait_ready;
$t->soak;
$t->finish;

done_testing();
