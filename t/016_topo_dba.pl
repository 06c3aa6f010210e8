# Topology 7: the DBA removes MPTCP configuration on purpose while the
# standby streams: the standby's path-2 subflow endpoint and the primary's
# path-2 signal endpoint are deleted, then the limits are lowered (subflows
# 1, add_addr_accepted 1) on both hosts.  The supervisor must settle: after
# a settle window of 15 s, a whole soak with no reconnect or repair event and
# no endpoint changed by walmptcp.  Both nodes hold CAP_NET_ADMIN, so that
# walmptcp could (wrongly) put the DBA's endpoints back.
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

my $SETTLE = 15;
my $t = Topology->new('dba', paths => 2, rate => 50, min_subflows => 1);
my $lab = $t->lab;
my %caps = (keep_net_admin => 1);

my $primary = $t->server('primary', host => 'primary', %caps);
Topology::create_table($primary, 't');
my $standby = $t->standby($primary, 'standby', host => 'standby', %caps,
	conninfo => 'host=' . $lab->addr('primary', 1) . ' port=' . $primary->port . ' mptcp=1');
$t->streaming_pair($primary, $standby, 't');

# the full set first: initial + signal join + subflow join
$t->wait_ready(min => 3);

sub endpoint_id
{
	my ($host, $addr) = @_;
	my ($id) = $lab->run($host, 'ip', 'mptcp', 'endpoint', 'show') =~ /^\Q$addr\E id (\d+) /m;
	die "no endpoint $addr on $host" unless defined $id;
	return $id;
}
my ($S2, $P2) = ($lab->addr('standby', 2), $lab->addr('primary', 2));
$lab->run('standby', 'ip', 'mptcp', 'endpoint', 'delete', 'id', endpoint_id('standby', $S2));
$lab->run('primary', 'ip', 'mptcp', 'endpoint', 'delete', 'id', endpoint_id('primary', $P2));
$lab->run($_, 'ip', 'mptcp', 'limits', 'set', 'subflows', 1, 'add_addr_accepted', 1)
  for 'primary', 'standby';
$t->injected_fault("endpoints $S2 (standby, subflow) and $P2 (primary, signal) deleted, limits subflows 1 add_addr_accepted 1");
sleep($SETTLE);

$t->soak;
$t->finish;

done_testing();
