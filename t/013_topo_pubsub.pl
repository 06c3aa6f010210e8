# Topology 4: nodes that both publish and subscribe.  A publishes ta, which B
# subscribes to; B publishes tb, which A subscribes to.  Each node has two
# ports in its registry: a walsender for its subscriber (its own port) and an
# apply worker to its publisher (the other's port).  mptcp=1 everywhere;
# both hosts announce and open subflows (--endpoint-flags both), since each
# is client and server.
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

my $t = Topology->new('pubsub', paths => 2, rate => 50, endpoint_flags => 'both');
my $lab = $t->lab;

my $na = $t->server('node_a', host => 'primary', logical => 1);
my $nb = $t->server('node_b', host => 'standby', logical => 1);
for my $n ($na, $nb)
{
	Topology::create_table($n, 'ta');
	Topology::create_table($n, 'tb');
}
Topology::sql($na, 'CREATE PUBLICATION pa FOR TABLE ta');
Topology::sql($nb, 'CREATE PUBLICATION pb FOR TABLE tb');
$t->subscribe($nb, 'sub_b', 'host=' . $lab->addr('primary', 1) . ' port=' . $na->port . ' dbname=postgres mptcp=1', 'pa');
$t->subscribe($na, 'sub_a', 'host=' . $lab->addr('standby', 1) . ' port=' . $nb->port . ' dbname=postgres mptcp=1', 'pb');

$t->expect($na, walsender => 1, apply => 1);
$t->expect($nb, walsender => 1, apply => 1);
$t->writer($na, table => 'ta');
$t->writer($nb, table => 'tb');
$t->same_rows('ta', $na, $nb);
$t->same_rows('tb', $nb, $na);

$t->wait_ready;
$t->soak;
$t->finish;

done_testing();
