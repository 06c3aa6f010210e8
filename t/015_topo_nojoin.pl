# Topology 6: path 2 answers plain TCP, but MPTCP joins never complete there
# (nftables drops every TCP SYN carrying MP_JOIN that arrives on path 2, in
# both namespaces).  The connection streams over path 1 with its initial
# subflow; the joins on path 2 stay unanswered.  The supervisor must not
# flap: no reconnect, no endpoint re-add.  Once unprivileged, once with
# CAP_NET_ADMIN (the endpoint helper) on both nodes.
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

my $bindir = `pg_config --bindir`;
chomp $bindir;

for my $variant ('unprivileged', 'net_admin')
{
	my %caps = $variant eq 'net_admin' ? (keep_net_admin => 1) : ();
	my $title = "nojoin/$variant";
	my $t = Topology->new($title, paths => 2, rate => 50, min_subflows => 1);
	my $lab = $t->lab;
	my ($P1, $P2) = ($lab->addr('primary', 1), $lab->addr('primary', 2));
	my ($S1) = $lab->addr('standby', 1);

	$t->drop_mp_join(2);
	my $primary = $t->server("primary_$variant", host => 'primary', %caps);
	my $port = $primary->port;
	Topology::create_table($primary, 't');

	# plain TCP answers on path 2 (psql is no MPTCP client)
	is($lab->run('standby', "$bindir/psql", '-X', '-At', '-h', $P2, '-p', $port,
			'-d', 'postgres', '-c', 'SELECT 1'),
		'1', "$title: a plain TCP client reaches the primary over path 2");

	my $standby = $t->standby($primary, "standby_$variant", host => 'standby', %caps,
		conninfo => "host=$P1 port=$port mptcp=1");
	$t->streaming_pair($primary, $standby, 't');

	$t->wait_ready;
	$t->soak;

	# the walreceiver streamed over path 1: every established subflow of its
	# connection is the path-1 pair; the joins were tried and dropped
	my @est;
	WalmptcpLab::wait_for(sub {
		my $view = $t->kernel_view($standby);
		my ($wr) = grep { /walreceiver/ } keys %$view;
		@est = grep { $_->{state} eq 'ESTAB' } @{ $view->{ $wr // '' } // [] };
		return @est >= 1;
	}, 10);
	ok(@est >= 1 && !grep({ $_->{tuple} !~ /^\Q$S1\E:\d+ \Q$P1\E:$port$/ } @est),
		"$title: the walreceiver's established subflows are all on path 1: "
		  . join(', ', map { $_->{tuple} } @est));
	my $drops = $t->mp_join_drops;
	cmp_ok($drops->{primary}, '>', 0, "$title: MP_JOIN SYNs were sent on path 2 and dropped ($drops->{primary})");
	$t->add_summary("MP_JOIN SYNs dropped on path 2: $drops->{primary} (primary), $drops->{standby} (standby)");
	$t->finish;
}

done_testing();
