# pg_basebackup through Debian's mptcpize gets an MPTCP connection to the
# walmptcp listener, with subflows on both paths: the recipe for building a
# standby over every path.
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

my $lab = WalmptcpLab->new(paths => 2, rate => 50);
my $P1 = $lab->addr('primary', 1);
my $S2 = $lab->addr('standby', 2);
my $primary = $lab->make_primary;
my $port = $primary->port;
# ~40 MB of data so that the copy lasts long enough to look at.
$primary->safe_psql('postgres',
	"CREATE TABLE big AS SELECT g, md5(g::text) || repeat('y', 300) AS pad FROM generate_series(1, 100000) g");

my $bindir = `pg_config --bindir`;
chomp $bindir;
my $dir = PostgreSQL::Test::Utils::tempdir();

# Without mptcpize: plain TCP (the kernel counts no MP_CAPABLE SYN-ACK).
my $before = $lab->counter('standby', 'MPTcpExtMPCapableSYNACKRX');
$lab->run('standby', "$bindir/pg_basebackup", '-h', $P1, '-p', $port,
	'-D', "$dir/plain", '-X', 'none', '--no-sync');
is($lab->counter('standby', 'MPTcpExtMPCapableSYNACKRX'), $before,
	'pg_basebackup alone: no MPTCP connection');

# With mptcpize: MPTCP, several subflows while it copies.
my $out = '';
my $h = $lab->start_bg('standby',
	[ 'mptcpize', 'run', "$bindir/pg_basebackup", '-h', $P1, '-p', $port,
	  '-D', "$dir/mptcp", '-X', 'stream', '--no-sync', '--max-rate=4M' ],
	\$out);
my $best = 0;
my $path2 = 0;
WalmptcpLab::wait_for(sub {
	my $k = $lab->kernel_connections('standby', $port);
	for my $c (@{ $k->{mptcp} })
	{
		$best = $c->{subflows_extra} + 1 if $c->{subflows_extra} + 1 > $best;
	}
	$path2 ||= grep { $_->{mptcp_subflow} && $_->{local} =~ /^\Q$S2\E[:%]/ } @{ $k->{tcp} };
	return $best >= 2 && $path2;
}, 60);
ok($h->finish, 'mptcpize pg_basebackup succeeded') or diag $out;
cmp_ok($lab->counter('standby', 'MPTcpExtMPCapableSYNACKRX'), '>', $before,
	'kernel: MP_CAPABLE SYN-ACK received (the connection is MPTCP)');
cmp_ok($best, '>=', 2, "kernel: the backup connection had $best subflows");
ok($path2, 'kernel: a backup subflow ran on path 2');
ok(-f "$dir/mptcp/PG_VERSION", 'the backup is complete');

done_testing();
