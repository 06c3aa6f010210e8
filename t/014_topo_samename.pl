# Topology 5: two subscriptions with the same name ("s") in two databases of
# one subscriber, both to the same publisher (slots named apart, since slot
# names are per server).  The publisher then has two walsenders with the
# same application_name, the subscriber two apply workers of the same name.
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

my $t = Topology->new('samename', paths => 2, rate => 50);
my $lab = $t->lab;

my $pub = $t->server('publisher', host => 'primary', logical => 1);
Topology::create_table($pub, 't');
Topology::sql($pub, 'CREATE PUBLICATION p FOR TABLE t');
my $sub = $t->server('subscriber', host => 'standby', logical => 1);
my $conninfo = 'host=' . $lab->addr('primary', 1) . ' port=' . $pub->port . ' dbname=postgres mptcp=1';
for my $db ('db1', 'db2')
{
	Topology::sql($sub, "CREATE DATABASE $db");
	Topology::create_table($sub, 't', $db);
	$t->subscribe($sub, 's', $conninfo, 'p', db => $db, with => "slot_name = 's_$db'");
}
is(Topology::sql($sub, q{SELECT count(*), count(DISTINCT subname), count(DISTINCT subdbid) FROM pg_subscription}),
	'2|1|2', 'samename: two subscriptions named s in two databases');

$t->expect($pub, walsender => 2);
$t->expect($sub, apply => 2);
$t->writer($pub, table => 't');
$t->same_rows('t', $pub, [ $sub, 'db1' ], [ $sub, 'db2' ]);

$t->wait_ready;
$t->soak;
$t->finish;

done_testing();
