# TLS over MPTCP: sslmode=require still gets every path.
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

# A throwaway CA and server certificate made with OpenSSL.
my $certs = PostgreSQL::Test::Utils::tempdir();
for my $cmd (
	[ 'openssl', 'req', '-x509', '-new', '-nodes', '-days', '2', '-subj', '/CN=walmptcp test CA',
	  '-newkey', 'rsa:2048', '-keyout', "$certs/ca.key", '-out', "$certs/ca.crt" ],
	[ 'openssl', 'req', '-new', '-nodes', '-subj', "/CN=$P1", '-newkey', 'rsa:2048',
	  '-keyout', "$certs/server.key", '-out', "$certs/server.csr" ],
	[ 'openssl', 'x509', '-req', '-days', '2', '-in', "$certs/server.csr", '-CA', "$certs/ca.crt",
	  '-CAkey', "$certs/ca.key", '-CAcreateserial', '-out', "$certs/server.crt" ])
{
	system_or_bail(@$cmd);
}
chmod 0600, "$certs/server.key";

my $primary = $lab->make_primary(
	hostssl => 1,
	conf => "ssl = on\nssl_cert_file = '$certs/server.crt'\nssl_key_file = '$certs/server.key'");
my $port = $primary->port;
$primary->safe_psql('postgres', 'CREATE TABLE t AS SELECT generate_series(1, 1000) AS id');

my $standby = $lab->make_standby($primary,
	conninfo => "host=$P1 port=$port sslmode=verify-ca sslrootcert=$certs/ca.crt mptcp=require");
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT count(*) FROM t'), '1000', 'streams over TLS');
is($primary->safe_psql('postgres',
		"SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_replication r USING (pid)"),
	't', 'the walsender connection is TLS');

my ($conns, $subflows);
ok(WalmptcpLab::wait_for(sub {
	my $k = $lab->kernel_connections('standby', $port);
	$conns = $k->{mptcp};
	$subflows = [ grep { $_->{mptcp_subflow} } @{ $k->{tcp} } ];
	return @$conns == 1 && @$subflows >= 2
	  && grep { $_->{local} =~ /^\Q$S2\E[:%]/ } @$subflows;
}), 'kernel: one MPTCP connection with 2+ subflows, one on path 2');
note 'subflows: ' . join(', ', map { "$_->{local} -> $_->{remote}" } @$subflows);

# No shared memory after ProcKill.  A walsender that exits without I/O
# (here: the postmaster dies while the walsender idles, its walreceiver
# stopped) still sends the TLS close_notify in socket_close(), an
# on_proc_exit callback that runs after ProcKill: that send must not read
# and publish the owner's view, which takes the registry's LWLock without a
# PGPROC (an assertion failure in assert builds, a PANIC when contended).
# strace, where installed, shows the owner view's getsockopt(SOL_MPTCP)
# calls during the exit in any build.
my $ws = $primary->safe_psql('postgres', 'SELECT pid FROM pg_stat_replication');
my $wr = $standby->safe_psql('postgres', 'SELECT pid FROM pg_stat_wal_receiver');
ok($ws && $wr, "walsender $ws, walreceiver $wr");
kill 'STOP', $wr;
my $trace = "$certs/walsender-exit.strace";
my $strace;
if (system('strace -V >/dev/null 2>&1') == 0)
{
	$strace = IPC::Run::start([ 'strace', '-qq', '-p', $ws, '-e', 'trace=getsockopt,close',
			'-o', $trace ]);
}
# idle for more than the owner view's 1 s between snapshots
select(undef, undef, undef, 2.0);
kill 'KILL', $primary->{_pid};
ok(WalmptcpLab::wait_for(sub { !kill(0, $ws) }), 'the walsender exits after the postmaster died');
$strace->finish if $strace;
kill 'CONT', $wr;
$primary->_update_pid(-1);
my $log = slurp_file($primary->logfile);
unlike($log, qr/TRAP:|PANIC:|cannot wait without a PGPROC/,
	'walsender exit after ProcKill: no assertion failure, no PANIC');
SKIP:
{
	skip 'strace is not installed', 1 unless $strace;
	skip 'strace could not attach', 1 unless -f $trace;
	my $calls = slurp_file($trace);
	note "walsender's exit: $calls";
	my @mptcp = ($calls =~ /getsockopt\([^,]+,\s*(?:SOL_MPTCP|0x11c|284)\b/g);
	is(scalar(@mptcp), 0, "no owner-view read during the walsender's exit");
}

done_testing();
