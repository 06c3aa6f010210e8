# TCP options a kernel refuses on MPTCP sockets.  libpq fails a connection
# when setsockopt() of TCP_NODELAY, TCP_KEEPIDLE/KEEPINTVL/KEEPCNT or
# TCP_USER_TIMEOUT fails, and the server closes one whose TCP_NODELAY fails;
# older kernels refuse these on MPTCP sockets with EOPNOTSUPP or ENOPROTOOPT.
# This machine's kernel accepts them (but TCP_USER_TIMEOUT), so the refusals
# are injected with a seccomp filter around the servers
# (test/tools/refuse-sockopt): the kernel answers with the errno, as the old
# kernels do, for every socket (MPTCP or not).
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

my $tool = PostgreSQL::Test::Utils::tempdir() . '/refuse-sockopt';
system('cc', '-O1', '-o', $tool, "$FindBin::Bin/../test/tools/refuse-sockopt.c", '-lseccomp') == 0
  or BAIL_OUT('cannot build test/tools/refuse-sockopt.c (libseccomp-dev)');

my $lab = WalmptcpLab->new(paths => 2, rate => 50);
my $P1 = $lab->addr('primary', 1);

# The primary's kernel "refuses" to set TCP_NODELAY and TCP_KEEPIDLE, and to
# read the keepalive options and TCP_USER_TIMEOUT (PostgreSQL reads the
# kernel's default before the first set, and for SHOW).
my $primary;
{
	local $ENV{WALMPTCP_LAB_WRAP} = "$tool TCP_NODELAY=EOPNOTSUPP,TCP_KEEPIDLE=ENOPROTOOPT,"
	  . 'get:TCP_KEEPIDLE=ENOPROTOOPT,get:TCP_KEEPINTVL=EOPNOTSUPP,get:TCP_KEEPCNT=ENOPROTOOPT,'
	  . 'get:TCP_USER_TIMEOUT=ENOPROTOOPT --';
	$primary = $lab->make_primary(conf => 'tcp_keepalives_idle = 30');
}
my $port = $primary->port;
$primary->safe_psql('postgres', 'CREATE EXTENSION walmptcp; CREATE TABLE t (id int)');

# The standby's kernel refuses all five options libpq may set, with both errnos.
my $refusals = 'TCP_NODELAY=EOPNOTSUPP,TCP_KEEPIDLE=EOPNOTSUPP,TCP_KEEPINTVL=ENOPROTOOPT,'
  . 'TCP_KEEPCNT=EOPNOTSUPP,TCP_USER_TIMEOUT=EOPNOTSUPP';
my $options = 'keepalives_idle=30 keepalives_interval=10 keepalives_count=3 tcp_user_timeout=5000';
my $standby;
{
	local $ENV{WALMPTCP_LAB_WRAP} = "$tool $refusals --";
	$standby = $lab->make_standby($primary, conninfo => "host=$P1 port=$port mptcp=1 $options");

	# The filter is in force: plain libpq (psql, no walmptcp) fails as it would
	# on such a kernel.
	my ($rc, $out, $err) = $standby->psql('postgres', 'SELECT 1',
		connstr => "host=$P1 port=$port dbname=postgres keepalives_idle=30");
	like($err, qr/could not set socket to TCP no delay mode: Operation not supported|setsockopt\(TCP_NODELAY\) failed: Operation not supported/,
		'control: without walmptcp, libpq fails on the refused option');
}

ok(WalmptcpLab::wait_for(sub {
	$standby->safe_psql('postgres',
		q{SELECT coalesce(max(subflows), 0) FROM walmptcp_connections() WHERE role = 'walreceiver' AND mptcp}) >= 2
}, 60), 'walreceiver connected over MPTCP with 2+ subflows despite the refusals');
$primary->safe_psql('postgres', 'INSERT INTO t SELECT generate_series(1, 5000)');
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT count(*) FROM t'), 5000, 'WAL streamed');

my ($line) = slurp_file($standby->logfile) =~ /(walmptcp: this MPTCP connection runs without [^\n]*)/;
ok(defined $line, 'standby: one LOG line names what the connection runs without');
$line //= '';
like($line, qr/\QTCP_NODELAY (set by libpq) (EOPNOTSUPP)\E/, 'names TCP_NODELAY (EOPNOTSUPP)');
like($line, qr/\Qkeepalives_idle=30 (EOPNOTSUPP)\E/, 'names keepalives_idle=30');
like($line, qr/\Qkeepalives_interval=10 (ENOPROTOOPT)\E/, 'names keepalives_interval=10 (ENOPROTOOPT)');
like($line, qr/\Qkeepalives_count=3 (EOPNOTSUPP)\E/, 'names keepalives_count=3');
like($line, qr/\Qtcp_user_timeout=5000 (EOPNOTSUPP)\E/, 'names tcp_user_timeout=5000');
unlike(slurp_file($standby->logfile), qr/setsockopt\(|FATAL:  could not connect/,
	'standby: no failed connection');

my $plog = slurp_file($primary->logfile);
like($plog, qr/walmptcp: MPTCP connections of this server process run without TCP_NODELAY \(EOPNOTSUPP\)/,
	'primary: accepted MPTCP connections run without TCP_NODELAY, said once');
like($plog, qr/run without tcp_keepalives_idle \(ENOPROTOOPT\)/, 'primary: and without tcp_keepalives_idle');
unlike($plog, qr/setsockopt\(TCP_NODELAY\) failed/, 'primary: no connection closed over TCP_NODELAY');

# A session over MPTCP reads its keepalive settings back (getsockopt): the
# set value, or the kernel's default where none was set.
my $bindir = `pg_config --bindir`;
chomp $bindir;
my $synack = $lab->counter('standby', 'MPTcpExtMPCapableSYNACKRX');
my $shown = $lab->run('standby', 'mptcpize', 'run', "$bindir/psql", '-h', $P1, '-p', $port,
	'-d', 'postgres', '-XAt', '-c', 'SHOW tcp_keepalives_idle', '-c', 'SHOW tcp_keepalives_interval',
	'-c', 'SHOW tcp_keepalives_count', '-c', 'SHOW tcp_user_timeout');
cmp_ok($lab->counter('standby', 'MPTcpExtMPCapableSYNACKRX'), '>', $synack, 'the session is MPTCP');
my ($idle, $intvl, $cnt, $uto) = map { $_ // '' } (split /\n/, $shown // '')[0 .. 3];
is($idle, '30', 'SHOW tcp_keepalives_idle over MPTCP: the set value');
cmp_ok($intvl || -1, '>', 0, "SHOW tcp_keepalives_interval over MPTCP: the kernel default ($intvl)");
cmp_ok($cnt || -1, '>', 0, "SHOW tcp_keepalives_count over MPTCP: the kernel default ($cnt)");
is($uto, '0', 'SHOW tcp_user_timeout over MPTCP: none');
$plog = slurp_file($primary->logfile);
unlike($plog, qr/getsockopt\(/, 'primary: no getsockopt(...) failed line');
my $nidle = () = $plog =~ /run without tcp_keepalives_idle/g;
note "primary: 'run without tcp_keepalives_idle' logged $nidle times";
for my $node ($primary, $standby)
{
	unlike(slurp_file($node->logfile), qr/ERROR:  walmptcp|ERROR:.*walmptcp/, $node->name . ': no walmptcp ERROR');
}
done_testing();
