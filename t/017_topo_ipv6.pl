# Topology 8: IPv6 only (every conninfo host is an fd77:: address) and a
# primary on a port other than 5432.
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

my $t = Topology->new('ipv6', paths => 2, rate => 50);
my $lab = $t->lab;
my $P1v6 = $lab->addr('primary', 1, 6);

my $primary = $t->server('primary', host => 'primary');
my $port = $primary->port;
isnt($port, 5432, "ipv6: the primary listens on port $port, not the default 5432");
Topology::create_table($primary, 't');
my $standby = $t->standby($primary, 'standby', host => 'standby',
	conninfo => "host=$P1v6 port=$port mptcp=1");
$t->streaming_pair($primary, $standby, 't');

$t->wait_ready;
$t->soak;
my $fam = $t->families;
ok(%$fam && !grep({ $fam->{$_} != 6 } keys %$fam),
	'ipv6: every registered connection is IPv6: ' . join(', ', map { "$_ v$fam->{$_}" } sort keys %$fam));
$t->finish;

done_testing();
