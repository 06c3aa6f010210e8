# Topology 3: one primary with three physical standbys (all in the standby
# namespace, each on its own port) and one logical subscriber at once.
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

my $t = Topology->new('fanout', paths => 2, rate => 50);
my $lab = $t->lab;
my $P1 = $lab->addr('primary', 1);

my $primary = $t->server('primary', host => 'primary', logical => 1);
my $port = $primary->port;
Topology::create_table($primary, 't');
Topology::sql($primary, 'CREATE PUBLICATION p FOR TABLE t');

my @standbys;
for my $i (1 .. 3)
{
	my $s = $t->standby($primary, "standby$i", host => 'standby', backup => 'fanout',
		conninfo => "host=$P1 port=$port mptcp=1");
	$t->expect($s, walreceiver => 1);
	push @standbys, $s;
}
my $sub = $t->server('subscriber', host => 'standby', logical => 1);
Topology::create_table($sub, 't');
$t->subscribe($sub, 'sub', "host=$P1 port=$port dbname=postgres mptcp=1", 'p');
$t->expect($sub, apply => 1);
# three physical walsenders and the apply worker's
$t->expect($primary, walsender => 4);
$t->writer($primary, table => 't');
$t->same_rows('t', $primary, @standbys, $sub);

$t->wait_ready;
$t->soak;
$t->finish;

done_testing();
