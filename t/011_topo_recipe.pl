# Topology 2, the pgsql-hackers recipe: ONE path, every TCP flow capped at
# 10 Mbit/s, the primary announcing 4 extra ports of its single address
# (port-based `signal` endpoints 5202..5205), the standby with a `subflow
# fullmesh` endpoint on its address.  One connection gets 1 + 4 subflows, all
# on the same address pair but different ports: the kernel shows them, and
# walmptcp_subflows() must show the same rows (it used to show 1 of 5).
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

my $t = Topology->new('recipe', paths => 1, rate => 100, flow_cap => 10,
	signal_ports => [ 5202 .. 5205 ], min_subflows => 4);
my $lab = $t->lab;

my $primary = $t->server('primary', host => 'primary');
Topology::create_table($primary, 't');
my $standby = $t->standby($primary, 'standby', host => 'standby',
	conninfo => 'host=' . $lab->addr('primary', 1) . ' port=' . $primary->port . ' mptcp=1');

# >= 4 established subflows in the kernel on both ends of the one connection
$t->streaming_pair($primary, $standby, 't');

$t->wait_ready;
my $view = $t->kernel_view($standby);
my ($wr) = grep { /walreceiver/ } keys %$view;
my @ports = sort map { $_->{tuple} =~ / \S+:(\d+)$/ ? $1 : () } @{ $view->{ $wr // '' } // [] };
note "recipe: the walreceiver's subflows go to ports @ports";
cmp_ok(scalar(grep { $_ >= 5202 && $_ <= 5205 } @ports), '>=', 3,
	'recipe: the walreceiver has subflows to the announced ports');
$t->soak;
$t->finish;

done_testing();
