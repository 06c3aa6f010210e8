# Streaming replication over MPTCP in a two-path lab, checked against what
# the kernel itself shows (ss), not against walmptcp's own word.
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
my $P1v6 = $lab->addr('primary', 1, 6);
my $S1 = $lab->addr('standby', 1);
my $S2 = $lab->addr('standby', 2);

my $primary = $lab->make_primary;
my $port = $primary->port;
$primary->safe_psql('postgres', 'CREATE TABLE t (id int, pad text)');

# The postmaster's TCP listeners are MPTCP (IPv4 and IPv6).
my $listen = $lab->run('primary', 'ss', '-HMltn');
like($listen, qr/0\.0\.0\.0:$port\b/, 'primary listens with MPTCP on IPv4');
like($listen, qr/\[::\]:$port\b/, 'primary listens with MPTCP on IPv6');

my $standby = $lab->make_standby($primary,
	conninfo => "host=$P1 port=$port mptcp=1");

# Wait until the kernel shows the MPTCP connection with all its subflows:
# the initial one on path 1 plus the ones the path manager adds on path 2.
sub mptcp_state
{
	my ($remote_re) = @_;
	my $k = $lab->kernel_connections('standby', $port);
	my @m = grep { $_->{remote} =~ $remote_re } @{ $k->{mptcp} };
	my @sub = grep { $_->{mptcp_subflow} } @{ $k->{tcp} };
	return (\@m, \@sub, $k);
}

# The supervisor's one-off probe of a new connection (1.5 s) is a second
# MPTCP connection while it lasts: wait for the state both kernels agree on.
my ($conns, $subflows, $pk);
WalmptcpLab::wait_for(sub {
	($conns, $subflows) = mptcp_state(qr/^\Q$P1\E:$port$/);
	$pk = $lab->kernel_connections('primary', $port);
	return @$conns == 1 && $conns->[0]{subflows_extra} >= 1
	  && (grep { $_->{local} =~ /^\Q$S2\E[:%]/ } @$subflows)
	  && @{ $pk->{mptcp} } == 1;
}) or diag explain [ $conns, $subflows, $pk ];
is(scalar @$conns, 1, 'kernel: exactly one MPTCP connection to the primary');
cmp_ok(scalar @$subflows, '>=', 2, 'kernel: at least 2 subflows');
ok((grep { $_->{local} =~ /^\Q$S1\E:/ } @$subflows), 'a subflow on path 1');
ok((grep { $_->{local} =~ /^\Q$S2\E[:%]/ } @$subflows), 'a subflow on path 2');
note 'subflows: ' . join(', ', map { "$_->{local} -> $_->{remote}" } @$subflows);

# The primary's kernel agrees.
is(scalar @{ $pk->{mptcp} }, 1, 'primary kernel: one MPTCP connection');

$primary->safe_psql('postgres',
	"INSERT INTO t SELECT g, repeat('x', 1000) FROM generate_series(1, 20000) g");
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT count(*) FROM t'), '20000',
	'rows written on the primary appear on the standby');

# Both paths carried WAL: per-subflow bytes from the kernel.
my %bytes = map { $_->{local} => $_->{bytes_received} } grep { defined $_->{bytes_received} }
  $lab->kernel_subflows('standby', state => 'established', remote_port => $port);
my ($path1) = grep { /^\Q$S1\E:/ } keys %bytes;
my @path2 = grep { /^\Q$S2\E[:%]/ } keys %bytes;
my $b1 = $bytes{$path1} // 0;
my $b2 = 0;
$b2 += $bytes{$_} for @path2;
note "bytes received: path 1 $b1, path 2 $b2";
cmp_ok($b1, '>', 1_000_000, 'path 1 carried WAL');
cmp_ok($b2, '>', 1_000_000, 'path 2 carried WAL');

# The primary knows walmptcp's listen state.
$primary->safe_psql('postgres', 'CREATE EXTENSION walmptcp');
is($primary->safe_psql('postgres',
		'SELECT listen_mptcp_sockets >= 2 AND listen_tcp_sockets = 0 FROM walmptcp_status()'),
	't', 'walmptcp_status() reports MPTCP listen sockets');

# mptcp=0: plain TCP.
$lab->set_conninfo($standby, "host=$P1 port=$port mptcp=0");
WalmptcpLab::wait_for(sub {
	my $k = $lab->kernel_connections('standby', $port);
	return @{ $k->{mptcp} } == 0 && @{ $k->{tcp} } == 1;
});
my $k = $lab->kernel_connections('standby', $port);
is(scalar @{ $k->{mptcp} }, 0, 'mptcp=0: no MPTCP connection');
is(scalar @{ $k->{tcp} }, 1, 'mptcp=0: one TCP connection');
ok(!$k->{tcp}[0]{mptcp_subflow}, 'mptcp=0: it is not an MPTCP subflow');
$primary->safe_psql('postgres', 'INSERT INTO t VALUES (-1, NULL)');
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT count(*) FROM t'), '20001',
	'mptcp=0 streams');

# A client without MPTCP (plain psql) connects to the MPTCP listener.
my $bindir = `pg_config --bindir`;
chomp $bindir;
is($lab->run('standby', "$bindir/psql", '-X', '-At', '-h', $P1, '-p', $port,
		'-d', 'postgres', '-c', 'SELECT 42'),
	'42', 'plain TCP client connects to the MPTCP listener');

# Default mode from walmptcp.default_mode when the conninfo says nothing.
$standby->append_conf('postgresql.conf', "walmptcp.default_mode = prefer");
$lab->set_conninfo($standby, "host=$P1 port=$port");
ok(WalmptcpLab::wait_for(sub {
	my ($c, $s) = mptcp_state(qr/^\Q$P1\E:$port$/);
	return @$c == 1 && @$s >= 2;
}), 'walmptcp.default_mode = prefer gives MPTCP without the keyword');
$standby->append_conf('postgresql.conf', "walmptcp.default_mode = off");

# URI form.
$lab->set_conninfo($standby, "postgresql://$P1:$port/postgres?mptcp=on&connect_timeout=10");
ok(WalmptcpLab::wait_for(sub {
	my ($c, $s) = mptcp_state(qr/^\Q$P1\E:$port$/);
	return @$c == 1 && @$s >= 2;
}), 'URI form with mptcp=on gives MPTCP');

# tcp_user_timeout together with mptcp=1: connects, stays MPTCP, says why the
# option is not applied.
my $log_offset = -s $standby->logfile;
$lab->set_conninfo($standby, "host=$P1 port=$port mptcp=1 tcp_user_timeout=5000");
ok(WalmptcpLab::wait_for(sub {
	my ($c, $s) = mptcp_state(qr/^\Q$P1\E:$port$/);
	return @$c == 1 && @$s >= 2;
}), 'tcp_user_timeout with mptcp=1: MPTCP connection with 2+ subflows');
ok($standby->wait_for_log(qr/this MPTCP connection runs without tcp_user_timeout=5000 \(ENOPROTOOPT\)/, $log_offset),
	'tcp_user_timeout: LOG line explains it is not applied');
$primary->safe_psql('postgres', 'INSERT INTO t VALUES (-2, NULL)');
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT count(*) FROM t'), '20002',
	'tcp_user_timeout with mptcp=1 streams');

# IPv6 and a multi-host list: the first host refuses (nothing listens on the
# standby's own address), libpq moves on to the primary's IPv6 address.
$lab->set_conninfo($standby, "host=$S1,$P1v6 port=$port mptcp=1");
ok(WalmptcpLab::wait_for(sub {
	my ($c, $s) = mptcp_state(qr/^\[\Q$P1v6\E\]:$port$/);
	return @$c == 1 && @$s >= 2;
}), 'multi-host conninfo reaches the IPv6 address over MPTCP with 2+ subflows');
($conns, $subflows) = mptcp_state(qr/^\[\Q$P1v6\E\]:$port$/);
note 'IPv6 subflows: ' . join(', ', map { "$_->{local} -> $_->{remote}" } @$subflows);
$primary->safe_psql('postgres', 'INSERT INTO t VALUES (-3, NULL)');
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT count(*) FROM t'), '20003',
	'IPv6 multi-host streams');

# mptcp in pg_service.conf: libpq would fail with "syntax error in service
# file"; walmptcp refuses it, saying where it is and what to do instead.
# mptcp next to service= in the connection string works.
my $service_file = PostgreSQL::Test::Utils::tempdir() . '/pg_service.conf';
PostgreSQL::Test::Utils::append_to_file($service_file,
	"[withmptcp]\nhost=$P1\nport=$port\nmptcp=1\n\n[plain]\nhost=$P1\nport=$port\n");
chmod 0644, $service_file;
$standby->stop;
{
	local $ENV{PGSERVICEFILE} = $service_file;
	$standby->start;
}
my ($rc, $out, $err) = $standby->psql('postgres', q{SELECT * FROM walmptcp_parse_conninfo('service=withmptcp')});
like($err, qr/ERROR:  the connection option "mptcp" cannot be set in a connection service file/,
	'service file setting mptcp: ERROR');
like($err, qr/DETAIL:  Service "withmptcp" sets it in "\Q$service_file\E", line 4; libpq rejects options it does not know there\./,
	'... DETAIL names the file and line');
like($err, qr/HINT:  Remove it from the service file and put mptcp=\.\.\. in the connection string, next to service=withmptcp\./,
	'... HINT says what to do');
$log_offset = -s $standby->logfile;
$lab->set_conninfo($standby, 'service=withmptcp');
ok($standby->wait_for_log(qr/cannot be set in a connection service file \(service "withmptcp" sets it in/, $log_offset),
	'walreceiver with such a service: the same reason in the log, not a libpq syntax error');
unlike(slurp_file($standby->logfile, $log_offset), qr/syntax error in service file/, '... and libpq never read it');
$lab->set_conninfo($standby, 'service=plain mptcp=1');
ok(WalmptcpLab::wait_for(sub {
	my ($c, $s) = mptcp_state(qr/^\Q$P1\E:$port$/);
	return @$c == 1 && @$s >= 2;
}), 'service=plain mptcp=1: MPTCP with 2+ subflows');

done_testing();
