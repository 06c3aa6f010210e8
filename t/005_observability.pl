# walmptcp_connections() and walmptcp_subflows() agree with ss(8) for the
# same connection, on the primary and on the standby.
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

my $primary = $lab->make_primary(conf => 'max_wal_senders = 12');
my $port = $primary->port;
$primary->safe_psql('postgres', 'CREATE EXTENSION walmptcp');
$primary->safe_psql('postgres', 'CREATE TABLE t (id int, pad text)');

# Nothing registered yet: empty results, not errors.
is($primary->safe_psql('postgres', 'SELECT count(*) FROM walmptcp_connections()'),
	'0', 'no replication: no connection rows');
is($primary->safe_psql('postgres', 'SELECT count(*) FROM walmptcp_subflows()'),
	'0', 'no replication: no subflow rows');

my $standby = $lab->make_standby($primary, name => 'sby1',
	conninfo => "host=$P1 port=$port mptcp=1 application_name=sby1");
$primary->wait_for_catchup($standby);

# Wait for the full subflow set (3: initial + signal join + subflow join).
ok(WalmptcpLab::wait_for(sub {
	$standby->safe_psql('postgres',
		"SELECT subflows >= 3 FROM walmptcp_connections() WHERE role = 'walreceiver'") eq 't';
}), 'walreceiver connection reaches its full subflow set');

# ss -tni subflows of an MPTCP connection, keyed like the SQL rows.
sub ss_subflows
{
	my ($host, $token) = @_;
	return join("\n", sort map {
		WalmptcpLab::strip_scope($_->{local}) . " $_->{remote} loc=$_->{id_local} rem=$_->{id_remote}"
	} $lab->kernel_subflows($host, state => 'established', token => $token));
}

for my $side ([ 'standby', $standby, 'walreceiver' ], [ 'primary', $primary, 'walsender' ])
{
	my ($host, $node, $role) = @$side;
	my ($pid, $token, $n, $mptcp) = split /\|/, $node->safe_psql('postgres',
		"SELECT pid, token, subflows, mptcp FROM walmptcp_connections() WHERE role = '$role'");
	is($mptcp, 't', "$host: $role connection is MPTCP");
	# Where the kernel withholds subflow details from an unprivileged server
	# (before 6.18), the rows are the owning process's view: no ids, and as
	# fresh as its last send or receive, so WAL keeps flowing meanwhile.
	my ($kernel, $sql, $detail);
	my $same = WalmptcpLab::wait_for(sub {
		$primary->safe_psql('postgres', "INSERT INTO t VALUES (0, 'sample')");
		$detail = $node->safe_psql('postgres',
			"SELECT coalesce(kernel_detail, 'sock_diag') FROM walmptcp_connections() WHERE role = '$role'");
		$kernel = ss_subflows($host, $token);
		$kernel =~ s/ loc=\S+ rem=\S+//g if $detail =~ /owning process/;
		$sql = WalmptcpLab::sql_subflows($node, $pid, ids => 1);
		return $sql eq $kernel;
	}, 30);
	note "$host ss:\n$kernel\n$host sql ($detail):\n$sql";
	ok($same, "$host: walmptcp_subflows() rows, addresses, ports (and ids where the kernel gives them) equal ss -tni");
	is(scalar(split /\n/, $kernel), $n, "$host: subflows column equals the kernel's subflow count");

	my $mni = $lab->run($host, 'ss', '-HMni', 'state', 'established');
	like($mni, qr/\btoken:$token\b/, "$host: token is printed as ss -Mni prints it");
}

# Byte counters grow while WAL flows.  Before Linux 6.5 the connection has
# no MPTCP-level byte counters (NULL): its subflows' are summed instead.
# Polled, because the owning process's view (before 6.18) is refreshed at
# its next send or receive.
my $received = q{SELECT coalesce(c.bytes_received,
	(SELECT sum(s.bytes_received) FROM walmptcp_subflows(c.pid) s))
	FROM walmptcp_connections() c WHERE role = 'walreceiver'};
my $sent = "SELECT coalesce(sum(bytes_sent), 0) FROM walmptcp_subflows()";
my $before = $standby->safe_psql('postgres', $received) || 0;
my $sent_before = $primary->safe_psql('postgres', $sent);
$primary->safe_psql('postgres',
	"INSERT INTO t SELECT g, repeat('x', 1000) FROM generate_series(1, 5000) g");
$primary->wait_for_catchup($standby);
my ($after, $sent_after);
WalmptcpLab::wait_for(sub {
	$primary->safe_psql('postgres', "INSERT INTO t VALUES (0, 'tick')");
	$after = $standby->safe_psql('postgres', $received) || 0;
	$sent_after = $primary->safe_psql('postgres', $sent);
	return $after - $before > 5_000_000 && $sent_after - $sent_before > 5_000_000;
}, 20);
cmp_ok($after - $before, '>', 5_000_000, "standby bytes_received grew by " . ($after - $before));
cmp_ok($sent_after - $sent_before, '>', 5_000_000, 'primary subflow bytes_sent grew');

# Views: one line for monitoring.
is($primary->safe_psql('postgres',
		"SELECT application_name, state, mptcp, subflows >= 3 FROM walmptcp_stat_replication"),
	'sby1|streaming|t|t', 'walmptcp_stat_replication');
is($standby->safe_psql('postgres',
		"SELECT status, mptcp_mode, mptcp, subflows >= 3 FROM walmptcp_stat_wal_receiver"),
	'streaming|prefer|t|t', 'walmptcp_stat_wal_receiver');

# The owning process's own view of its subflows (getsockopt on its socket):
# what walmptcp uses where the kernel withholds subflow details from
# sock_diag (before Linux 6.18).  Forced here with walmptcp.subflow_source =
# owner, it must show the same subflows as ss -tni (ids are not in it).
for my $node ($primary, $standby)
{
	$node->append_conf('postgresql.conf', 'walmptcp.subflow_source = owner');
	$node->reload;
}
for my $side ([ 'standby', $standby, 'walreceiver' ], [ 'primary', $primary, 'walsender' ])
{
	my ($host, $node, $role) = @$side;
	my ($pid, $token) = split /\|/, $node->safe_psql('postgres',
		"SELECT pid, token FROM walmptcp_connections() WHERE role = '$role'");
	my ($kernel, $sql);
	# WAL flowing makes both ends send and receive, which refreshes the view
	my $same = WalmptcpLab::wait_for(sub {
		$primary->safe_psql('postgres', "INSERT INTO t VALUES (0, 'owner view')");
		($kernel = ss_subflows($host, $token)) =~ s/ loc=\S+ rem=\S+//g;
		$sql = WalmptcpLab::sql_subflows($node, $pid);
		return $sql eq $kernel && $kernel ne '';
	}, 30);
	note "$host ss:\n$kernel\n$host sql (owner view):\n$sql";
	ok($same, "$host: owner view: walmptcp_subflows() rows equal ss -tni");
	like($node->safe_psql('postgres', "SELECT kernel_detail FROM walmptcp_connections() WHERE role = '$role'"),
		qr/as the owning process read them [0-9.]+ s ago/, "$host: kernel_detail names the owner's view");
	is($node->safe_psql('postgres',
			"SELECT count(*) FILTER (WHERE kind = 'initial') || '/' || count(*) FILTER (WHERE local_id IS NULL) FROM walmptcp_subflows($pid) WHERE state = 'established'"),
		'1/' . scalar(split /\n/, $kernel), "$host: owner view: one initial subflow, ids unknown");
}
for my $node ($primary, $standby)
{
	$node->append_conf('postgresql.conf', 'walmptcp.subflow_source = auto');
	$node->reload;
}

# pid filter.
my $wr_pid = $standby->safe_psql('postgres', 'SELECT pid FROM pg_stat_wal_receiver');
is($standby->safe_psql('postgres', "SELECT count(*) FROM walmptcp_connections($wr_pid)"),
	'1', 'pid filter: the walreceiver');
is($standby->safe_psql('postgres', "SELECT count(*) FROM walmptcp_subflows(pg_backend_pid())"),
	'0', 'pid filter: a pid without replication connection');

# Privileges: like pg_stat_replication.
$primary->safe_psql('postgres', 'CREATE ROLE watcher LOGIN');
is($primary->safe_psql('postgres', q{SET ROLE watcher;
	SELECT count(*), bool_and(pid IS NOT NULL AND role IS NOT NULL AND mptcp IS NOT NULL),
	       bool_and(local_addr IS NULL AND remote_port IS NULL AND token IS NULL AND bytes_sent IS NULL)
	  FROM walmptcp_connections()}),
	'1|t|t', 'unprivileged role: row shown, addresses, token and counters hidden');
is($primary->safe_psql('postgres', q{SET ROLE watcher;
	SELECT bool_and(local_addr IS NULL AND rtt_us IS NULL AND bytes_sent IS NULL AND state IS NOT NULL)
	  FROM walmptcp_subflows()}),
	't', 'unprivileged role: subflow addresses and counters hidden');
$primary->safe_psql('postgres', 'GRANT pg_read_all_stats TO watcher');
is($primary->safe_psql('postgres', q{SET ROLE watcher;
	SELECT bool_and(local_addr IS NOT NULL AND token IS NOT NULL) FROM walmptcp_connections()}),
	't', 'pg_read_all_stats sees everything');
$primary->safe_psql('postgres', 'REVOKE EXECUTE ON FUNCTION walmptcp_connections(int) FROM PUBLIC');
$primary->safe_psql('postgres', 'REVOKE pg_read_all_stats FROM watcher');
my ($ret, $out, $err) = $primary->psql('postgres', 'SET ROLE watcher; SELECT * FROM walmptcp_connections()');
like($err, qr/permission denied for function walmptcp_connections/, 'REVOKE works like on any function');

# A plain TCP connection (mptcp=0) next to it: mptcp = false and why; the
# primary's walsender says the client did not ask.
my $standby2 = $lab->make_standby($primary, name => 'sby2',
	conninfo => "host=$P1 port=$port mptcp=0 application_name=sby2");
$primary->wait_for_catchup($standby2);
# (the walsender can report the standby's position before its walreceiver,
# started anew by the startup process on 19, has registered)
WalmptcpLab::wait_for(sub {
	$standby2->safe_psql('postgres', "SELECT count(*) FROM walmptcp_connections() WHERE role = 'walreceiver'") > 0
}, 30);
is($standby2->safe_psql('postgres',
		"SELECT mptcp, fallback_reason, subflows, token IS NULL FROM walmptcp_connections()"),
	'f|mptcp=off was asked for|1|t', 'mptcp=0: mptcp false with its reason, one subflow');
is($standby2->safe_psql('postgres', "SELECT count(*), min(kind) FROM walmptcp_subflows()"),
	'1|tcp', 'mptcp=0: its TCP socket is the one subflow');
is($primary->safe_psql('postgres',
		"SELECT mptcp, fallback_reason FROM walmptcp_connections() WHERE application_name = 'sby2'"),
	'f|the client did not ask for MPTCP', 'primary: plain TCP walsender with its reason');

# A walsender that exits disappears from the registry.
my $ws_pid = $primary->safe_psql('postgres',
	"SELECT pid FROM walmptcp_connections() WHERE application_name = 'sby1'");
$primary->safe_psql('postgres', "SELECT pg_terminate_backend($ws_pid)");
ok(WalmptcpLab::wait_for(sub {
	$primary->safe_psql('postgres', "SELECT count(*) FROM walmptcp_connections($ws_pid)") eq '0';
}), 'terminated walsender is gone from walmptcp_connections()');
ok(WalmptcpLab::wait_for(sub {
	$primary->safe_psql('postgres',
		"SELECT count(*) FROM walmptcp_connections() WHERE application_name = 'sby1' AND mptcp") eq '1';
}), 'the standby reconnects and its new walsender is registered');

# An application_name longer than the registry keeps (63 bytes) and made of
# two-byte characters is cut on a character boundary: the text stays valid.
my $long_name = "\x{e9}" x 40;
utf8::encode($long_name);
$lab->set_conninfo($standby2, "host=$P1 port=$port mptcp=0 application_name=$long_name");
ok(WalmptcpLab::wait_for(sub {
	$standby2->safe_psql('postgres', 'SELECT count(*) FROM walmptcp_connections()') eq '1';
}), 'standby reconnects with a long multibyte application_name');
is($standby2->safe_psql('postgres', q{
	SELECT octet_length(application_name), length(convert_from(application_name::bytea, 'UTF8'))
	  FROM walmptcp_connections()}),
	'62|31', 'a long UTF-8 application_name is cut on a character boundary (62 bytes, 31 characters)');

# Bad arguments.
($ret, $out, $err) = $primary->psql('postgres', 'SELECT * FROM walmptcp_subflows(-1)');
like($err, qr/invalid process ID: -1/, 'negative pid is rejected');

done_testing();
