# prefer falls back to TCP with one LOG line naming the reason, require fails
# clearly and the walreceiver keeps retrying; invalid values are reported.
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
use IPC::Run;

my $lab = WalmptcpLab->new(paths => 2, rate => 0);
my $P1 = $lab->addr('primary', 1);

# --- A primary without walmptcp: its listener is plain TCP.
my $plain = $lab->make_primary(name => 'plainprimary', preload => 0);
my $port = $plain->port;
$plain->safe_psql('postgres', 'CREATE TABLE t (id int)');
# the extension's SQL objects replicate; the standby preloads the library
$plain->safe_psql('postgres', 'CREATE EXTENSION walmptcp');

my $before = $lab->counter('standby', 'MPTcpExtMPCapableFallbackSYNACK');
my $standby = $lab->make_standby($plain, name => 'sby_plain',
	conninfo => "host=$P1 port=$port mptcp=1");
ok($standby->wait_for_log(
		qr/LOG:  walmptcp: replication connection to server "\Q$P1\E" port $port uses TCP instead of Multipath TCP\n.*DETAIL:  the server did not accept MPTCP/),
	'prefer: fallback logged with the server and the reason');
$plain->safe_psql('postgres', 'INSERT INTO t SELECT generate_series(1, 100)');
$plain->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT count(*) FROM t'), '100',
	'prefer: streams over TCP from a primary without walmptcp');
cmp_ok($lab->counter('standby', 'MPTcpExtMPCapableFallbackSYNACK'), '>', $before,
	'kernel counted the fallback (MPCapableFallbackSYNACK)');
my $k = $lab->kernel_connections('standby', $port);
ok(!(grep { $_->{subflows_extra} > 0 } @{ $k->{mptcp} }), 'no extra subflows after fallback');

is($standby->safe_psql('postgres',
		'SELECT requested_mode, mptcp, subflows, fallback_reason FROM walmptcp_connections()'),
	'prefer|f|1|the server did not accept MPTCP (its handshake carried no MP_CAPABLE option): it runs without walmptcp, with walmptcp.listen = off, with MPTCP disabled in its kernel, or a middlebox removed the option',
	'walmptcp_connections() shows the fallback and its reason');
my $nlines = () = slurp_file($standby->logfile) =~ /uses TCP instead of Multipath TCP/g;
is($nlines, 1, 'prefer: exactly one fallback LOG line for one connection');

# require: clear error, and the walreceiver retries.
my $offset = -s $standby->logfile;
$standby->append_conf('postgresql.conf', 'wal_retrieve_retry_interval = 500ms');
$lab->set_conninfo($standby, "host=$P1 port=$port mptcp=require");
my $require_re = qr/could not connect to the primary server: walmptcp: Multipath TCP is required \(connection option mptcp = require\) but the connection to server "\Q$P1\E" port $port is plain TCP: the server did not accept MPTCP/;
ok($standby->wait_for_log($require_re, $offset), 'require: clear error');
ok(WalmptcpLab::wait_for(sub {
	my $n = () = substr(slurp_file($standby->logfile), $offset) =~ /$require_re/g;
	return $n >= 3;
}), 'require: the walreceiver keeps retrying');
$plain->safe_psql('postgres', 'INSERT INTO t SELECT generate_series(1, 5)');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM t'), '100',
	'require: nothing streamed over TCP');

# Invalid values: the walreceiver reports them and retries.
for my $case ([ 'mptcp=maybe', 'maybe' ], [ "mptcp=''", '' ], [ 'mptcp=2', '2' ])
{
	$offset = -s $standby->logfile;
	$lab->set_conninfo($standby, "host=$P1 port=$port $case->[0]");
	ok($standby->wait_for_log(
			qr/could not connect to the primary server: invalid value for connection option "mptcp": "\Q$case->[1]\E" \(accepted values: 0, off, false, no, 1, on, true, yes, prefer, require\)/,
			$offset),
		"invalid value '$case->[1]': documented error");
}

# walmptcp.default_mode = require applies when the conninfo says nothing,
# and names itself in the error.
$offset = -s $standby->logfile;
$standby->append_conf('postgresql.conf', 'walmptcp.default_mode = require');
$lab->set_conninfo($standby, "host=$P1 port=$port");
ok($standby->wait_for_log(qr/Multipath TCP is required \(walmptcp.default_mode = require\)/, $offset),
	'default_mode = require: error names the GUC');
$standby->stop;

# --- A primary with walmptcp, and MPTCP disabled in the standby's kernel.
my $primary = $lab->make_primary(name => 'mptcpprimary');
$port = $primary->port;
$primary->safe_psql('postgres', 'CREATE TABLE t (id int)');
$lab->run('standby', 'sysctl', '-qw', 'net.mptcp.enabled=0');
my $standby2 = $lab->make_standby($primary, name => 'sby_nokernel',
	conninfo => "host=$P1 port=$port mptcp=prefer",
	conf => 'wal_retrieve_retry_interval = 500ms');
ok($standby2->wait_for_log(
		qr/uses TCP instead of Multipath TCP\n.*DETAIL:  the local kernel refused MPTCP sockets: Protocol not available/),
	'net.mptcp.enabled=0: prefer falls back and says the kernel refused');
$primary->safe_psql('postgres', 'INSERT INTO t SELECT generate_series(1, 10)');
$primary->wait_for_catchup($standby2);
is($standby2->safe_psql('postgres', 'SELECT count(*) FROM t'), '10',
	'net.mptcp.enabled=0: prefer streams over TCP');
$k = $lab->kernel_connections('standby', $port);
is(scalar @{ $k->{mptcp} }, 0, 'net.mptcp.enabled=0: kernel shows no MPTCP socket');
$primary->safe_psql('postgres', 'CREATE EXTENSION walmptcp');
$primary->wait_for_catchup($standby2);
is($standby2->safe_psql('postgres', 'SELECT mptcp, fallback_reason FROM walmptcp_connections()'),
	'f|the local kernel refused MPTCP sockets: Protocol not available',
	'walmptcp_connections() says the local kernel refused');

$offset = -s $standby2->logfile;
$lab->set_conninfo($standby2, "host=$P1 port=$port mptcp=require");
ok($standby2->wait_for_log(
		qr/could not connect to the primary server: walmptcp: Multipath TCP is required .* is plain TCP: the local kernel refused MPTCP sockets/,
		$offset),
	'net.mptcp.enabled=0: require fails with the kernel reason');

# MPTCP back on: the next attempt (a new walreceiver) uses it.
$lab->run('standby', 'sysctl', '-qw', 'net.mptcp.enabled=1');
ok(WalmptcpLab::wait_for(sub {
	my $kk = $lab->kernel_connections('standby', $port);
	return @{ $kk->{mptcp} } == 1;
}), 'net.mptcp.enabled=1 again: require connects over MPTCP');
$primary->safe_psql('postgres', 'INSERT INTO t SELECT generate_series(1, 10)');
$primary->wait_for_catchup($standby2);
is($standby2->safe_psql('postgres', 'SELECT count(*) FROM t'), '20',
	'streaming resumes with require');

# A Unix-domain socket (host=/dir) has no paths: require refuses it,
# prefer streams over it with one LOG line and registers nothing.
my $sockdir = $primary->host;
$offset = -s $standby2->logfile;
$lab->set_conninfo($standby2, "host=$sockdir port=$port mptcp=require");
ok($standby2->wait_for_log(
		qr/could not connect to the primary server: walmptcp: Multipath TCP is required \(connection option mptcp = require\) but the connection to server socket "\Q$sockdir\E\/\.s\.PGSQL\.$port" is not TCP: the connection uses a Unix-domain socket, where Multipath TCP does not apply/,
		$offset),
	'Unix-domain socket: require fails and names the socket');
$offset = -s $standby2->logfile;
$lab->set_conninfo($standby2, "host=$sockdir port=$port mptcp=1");
ok($standby2->wait_for_log(
		qr/LOG:  walmptcp: replication connection to server socket "\Q$sockdir\E\/\.s\.PGSQL\.$port" does not use Multipath TCP\n.*DETAIL:  the connection uses a Unix-domain socket/,
		$offset),
	'Unix-domain socket: prefer streams and says why it is not MPTCP');
$primary->safe_psql('postgres', 'INSERT INTO t SELECT generate_series(1, 10)');
$primary->wait_for_catchup($standby2);
is($standby2->safe_psql('postgres', 'SELECT count(*) FROM t'), '30',
	'Unix-domain socket: streaming continues');
is($standby2->safe_psql('postgres', 'SELECT count(*) FROM walmptcp_connections()'), '0',
	'Unix-domain socket: not a network connection, not in walmptcp_connections()');

# A signal endpoint announces path 2, but listen_addresses names path 1
# only: clients' joins to path 2 would be refused.  The supervisor says so.
my $P2 = $lab->addr('primary', 2);
my $pport = $primary->port;
$offset = -s $primary->logfile;
$primary->append_conf('postgresql.conf', "listen_addresses = '$P1'");
$primary->restart;
ok($primary->wait_for_log(
		qr/LOG:  walmptcp: MPTCP endpoint \Q$P2\E id \d+ signal.* is announced to clients, but this server has no listen socket on that address and port $pport\n.*DETAIL:  Clients' joins to the announced address are refused.*\n.*HINT:  Add the address to listen_addresses/,
		$offset),
	'announced address without a listen socket: logged with a hint');
$offset = -s $primary->logfile;
$primary->append_conf('postgresql.conf', "listen_addresses = '*'");
$primary->restart;
$primary->safe_psql('postgres', 'SELECT 1');
sleep(2);
ok(!$primary->log_contains(qr/no listen socket on that address/, $offset),
	"listen_addresses = '*': no such line");

# A kernel without MPTCP for IPv6 (CONFIG_MPTCP_IPV6=n; injected with a
# seccomp filter, test/tools/refuse-sockopt): IPv4 keeps MPTCP.  The
# primary listens on both families; the walreceiver tries ::1 first (IPv6
# refused MPTCP: a TCP socket, and nothing listens there), then the IPv4
# address in the same process.
my $tool = PostgreSQL::Test::Utils::tempdir() . '/refuse-sockopt';
system('cc', '-O1', '-o', $tool, "$FindBin::Bin/../test/tools/refuse-sockopt.c", '-lseccomp') == 0
  or BAIL_OUT('cannot build test/tools/refuse-sockopt.c (libseccomp-dev)');
$offset = -s $primary->logfile;
$lab->set_conninfo($standby2, "host=::1,$P1 port=$port mptcp=require", reload => 0);
# (The primary also gets a default service file, PGSERVICEFILE, for the
# servicefile= checks below.)
my $svcdir = PostgreSQL::Test::Utils::tempdir();
PostgreSQL::Test::Utils::append_to_file("$svcdir/default.conf", "[x]\nport=1\n[y]\nport=1\nmptcp=1\n");
PostgreSQL::Test::Utils::append_to_file("$svcdir/named.conf", "[x]\nport=1\nmptcp=1\n[y]\nport=1\n");
chmod 0644, "$svcdir/default.conf", "$svcdir/named.conf";
{
	local $ENV{WALMPTCP_LAB_WRAP} = "$tool mptcp6=EPROTONOSUPPORT --";
	local $ENV{PGSERVICEFILE} = "$svcdir/default.conf";
	$primary->restart;
	$standby2->restart;
}
# (ss -M lists MPTCP sockets only; with -t it would add every TCP listener,
# an MPTCP listener's own TCP socket included)
my $listeners = $lab->run('primary', 'ss', '-HMln');
like($listeners, qr/\s0\.0\.0\.0:$port\s/, 'IPv6 MPTCP refused: the IPv4 listen socket is MPTCP');
unlike($listeners, qr/\[::\]:$port\s/, '... the IPv6 one is not');
ok($primary->log_contains(qr/walmptcp: the server listens with Multipath TCP/, $offset),
	'... and the server says it listens with MPTCP');
ok(WalmptcpLab::wait_for(sub {
	$standby2->safe_psql('postgres',
		q{SELECT coalesce(bool_and(mptcp), false) FROM walmptcp_connections() WHERE role = 'walreceiver'}) eq 't'
}, 60), 'IPv6 MPTCP refused: the walreceiver reaches the IPv4 address over MPTCP after trying ::1')
  or diag $standby2->safe_psql('postgres', 'SELECT mptcp, fallback_reason FROM walmptcp_connections()');
$primary->safe_psql('postgres', 'INSERT INTO t SELECT generate_series(1, 10)');
$primary->wait_for_catchup($standby2);
is($standby2->safe_psql('postgres', 'SELECT count(*) FROM t'), '40', 'streaming over IPv4 MPTCP');

# libpq 19's servicefile= names the service file to read first (before
# PGSERVICEFILE and ~/.pg_service.conf): the check reads that one.
my $bindir = `pg_config --bindir`;
chomp $bindir;
my ($stdout, $stderr) = ('', '');
IPC::Run::run([ "$bindir/psql", '-XAtc', 'SELECT 1', "servicefile=$svcdir/none.conf service=none" ],
	'>', \$stdout, '2>', \$stderr);
SKIP:
{
	skip 'this libpq does not know servicefile (libpq 19 and later do)', 4
	  if $stderr =~ /invalid connection option "servicefile"/;
	my ($rc, $out, $err) = $primary->psql('postgres',
		"SELECT * FROM walmptcp_parse_conninfo('service=x servicefile=$svcdir/named.conf mptcp=1')");
	like($err, qr/DETAIL:  Service "x" sets it in "\Q$svcdir\/named.conf\E", line 3/,
		'servicefile= sets mptcp, the default file does not: refused, naming the servicefile');
	($rc, $out, $err) = $primary->psql('postgres',
		"SELECT mode FROM walmptcp_parse_conninfo('service=y servicefile=$svcdir/named.conf mptcp=1')");
	is($rc, 0, 'servicefile= without mptcp, the default file with it: accepted') or diag $err;
	($rc, $out, $err) = $primary->psql('postgres',
		"SELECT mode FROM walmptcp_parse_conninfo('service=y mptcp=1')");
	like($err, qr/sets it in "\Q$svcdir\/default.conf\E", line 5/, 'control: without servicefile= the default file decides');
	($rc, $out, $err) = $primary->psql('postgres',
		"SELECT mode FROM walmptcp_parse_conninfo('service=x mptcp=1')");
	is($rc, 0, 'control: service x of the default file does not set mptcp') or diag $err;
}

done_testing();
