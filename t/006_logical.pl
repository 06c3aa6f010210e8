# Logical replication over MPTCP: tablesync (the big COPY) and apply use every
# path; ALTER SUBSCRIPTION ... CONNECTION switches modes; require against a
# publisher without walmptcp fails clearly in the worker, which retries.
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
use Time::HiRes qw(time);

my $lab = WalmptcpLab->new(paths => 2, rate => 50);
my $P1 = $lab->addr('primary', 1);
my $S2 = $lab->addr('standby', 2);

my $pub = $lab->make_primary(name => 'publisher', logical => 1);
my $pport = $pub->port;
my $sub = $lab->make_primary(name => 'subscriber', host => 'standby', logical => 1,
	conf => 'wal_retrieve_retry_interval = 500ms');
$sub->safe_psql('postgres', 'CREATE EXTENSION walmptcp');

# >= 100 MB table: ~1 KB rows, below the TOAST threshold, so no compression.
$pub->safe_psql('postgres', q{
	CREATE TABLE big (id int PRIMARY KEY, pad text);
	INSERT INTO big SELECT g, repeat(md5(g::text), 30) FROM generate_series(1, 110000) g;
	CREATE PUBLICATION p FOR TABLE big});
my $size = $pub->safe_psql('postgres', "SELECT pg_table_size('big')");
cmp_ok($size, '>=', 100 * 1024 * 1024, "table is " . int($size / 1048576) . " MB");
my $checksum_sql = q{SELECT count(*), sum(hashtext(id::text || pad)::numeric) FROM big};
my $pub_sum = $pub->safe_psql('postgres', $checksum_sql);

# Invalid value: rejected at CREATE time, nothing created.
my ($ret, $out, $err) = $sub->psql('postgres', q{CREATE TABLE big (id int PRIMARY KEY, pad text)});
($ret, $out, $err) = $sub->psql('postgres',
	"CREATE SUBSCRIPTION bad CONNECTION 'host=$P1 port=$pport dbname=postgres mptcp=maybe' PUBLICATION p");
like($err, qr/invalid value for connection option "mptcp": "maybe"/, 'invalid value rejected by CREATE SUBSCRIPTION');
is($sub->safe_psql('postgres', 'SELECT count(*) FROM pg_subscription'), '0', 'nothing created');

# Tablesync over MPTCP or TCP; returns seconds and the best subflow count the
# kernel and walmptcp showed for the tablesync connection.
sub tablesync
{
	my ($name, $mode) = @_;
	my ($kernel_best, $sql_best, $roles) = (0, 0, '');
	my $t0 = time();
	$sub->safe_psql('postgres',
		"CREATE SUBSCRIPTION $name CONNECTION 'host=$P1 port=$pport dbname=postgres mptcp=$mode' PUBLICATION p");
	WalmptcpLab::wait_for(sub {
		my $k = $lab->kernel_connections('standby', $pport);
		for my $c (@{ $k->{mptcp} })
		{
			$kernel_best = $c->{subflows_extra} + 1 if $c->{subflows_extra} + 1 > $kernel_best;
		}
		my $r = $sub->safe_psql('postgres', q{
			SELECT coalesce(max(subflows) FILTER (WHERE role = 'tablesync'), 0),
			       string_agg(DISTINCT role, ',' ORDER BY role)
			  FROM walmptcp_connections()});
		my ($n, $rl) = split /\|/, $r;
		$sql_best = $n if $n > $sql_best;
		$roles .= ",$rl" if defined $rl;
		return $sub->safe_psql('postgres',
			"SELECT count(*) = 0 FROM pg_subscription_rel WHERE srsubstate <> 'r'") eq 't';
	}, 300);
	my $secs = time() - $t0;
	return ($secs, $kernel_best, $sql_best, $roles);
}

my ($t_mptcp, $kbest, $sbest, $roles) = tablesync('s1', '1');
note sprintf('tablesync over MPTCP: %.1f s, kernel subflows %d, walmptcp subflows %d', $t_mptcp, $kbest, $sbest);
cmp_ok($kbest, '>=', 2, "kernel: tablesync connection had $kbest subflows");
cmp_ok($sbest, '>=', 2, "walmptcp_connections(): tablesync row with $sbest subflows");
like($roles, qr/tablesync/, 'role tablesync appeared in the registry');
like($roles, qr/apply/, 'role apply appeared in the registry');
is($sub->safe_psql('postgres', $checksum_sql), $pub_sum, 'rows and checksum equal after tablesync');

# Apply of new rows over MPTCP, by an apply worker with 2+ subflows.
is($sub->safe_psql('postgres',
		"SELECT mptcp, subflows >= 2, requested_mode FROM walmptcp_connections() WHERE role = 'apply'"),
	't|t|prefer', 'apply worker connection is MPTCP with 2+ subflows');
$pub->safe_psql('postgres', q{INSERT INTO big SELECT g, 'new' FROM generate_series(200001, 200100) g});
$pub->wait_for_catchup('s1');
is($sub->safe_psql('postgres', 'SELECT count(*) FROM big WHERE id > 200000'), '100', 'apply of new rows');

# ALTER SUBSCRIPTION ... CONNECTION to mptcp=0 and back.
$sub->safe_psql('postgres', "ALTER SUBSCRIPTION s1 CONNECTION 'host=$P1 port=$pport dbname=postgres mptcp=0'");
ok(WalmptcpLab::wait_for(sub {
	$sub->safe_psql('postgres',
		"SELECT mptcp IS FALSE AND requested_mode = 'off' FROM walmptcp_connections() WHERE role = 'apply'") eq 't';
}), 'ALTER SUBSCRIPTION ... mptcp=0: apply worker reconnects over TCP');
$pub->safe_psql('postgres', q{INSERT INTO big VALUES (300001, 'tcp')});
$pub->wait_for_catchup('s1');
is($sub->safe_psql('postgres', 'SELECT pad FROM big WHERE id = 300001'), 'tcp', 'apply over TCP');
$sub->safe_psql('postgres', "ALTER SUBSCRIPTION s1 CONNECTION 'host=$P1 port=$pport dbname=postgres mptcp=1'");
ok(WalmptcpLab::wait_for(sub {
	$sub->safe_psql('postgres',
		"SELECT mptcp AND subflows >= 2 FROM walmptcp_connections() WHERE role = 'apply'") eq 't';
}), 'ALTER SUBSCRIPTION ... mptcp=1: back to MPTCP with 2+ subflows');
($ret, $out, $err) = $sub->psql('postgres',
	"ALTER SUBSCRIPTION s1 CONNECTION 'host=$P1 port=$pport dbname=postgres mptcp=sometimes'");
like($err, qr/invalid value for connection option "mptcp": "sometimes"/, 'ALTER SUBSCRIPTION rejects invalid values');

# The same copy over plain TCP, for the time comparison.
$sub->safe_psql('postgres', 'DROP SUBSCRIPTION s1; TRUNCATE big');
$pub_sum = $pub->safe_psql('postgres', $checksum_sql);
# s1's connections and the supervisor's short probe of its last one (a few
# seconds) are gone before the TCP run counts MPTCP connections.
ok(WalmptcpLab::wait_for(sub {
	scalar @{ $lab->kernel_connections('standby', $pport)->{mptcp} } == 0;
}), 'after DROP SUBSCRIPTION: no MPTCP connection to the publisher is left');
my ($t_tcp, $kbest_tcp) = tablesync('s2', '0');
note sprintf('tablesync over TCP: %.1f s, kernel MPTCP connections with subflows: %d', $t_tcp, $kbest_tcp);
is($kbest_tcp, 0, 'mptcp=0: the kernel shows no MPTCP connection');
is($sub->safe_psql('postgres', $checksum_sql), $pub_sum, 'rows and checksum equal after TCP tablesync');
diag sprintf('tablesync of %d MB over 2 x 50 Mbit/s: TCP %.1f s, MPTCP %.1f s (%.2fx)',
	$size / 1048576, $t_tcp, $t_mptcp, $t_tcp / $t_mptcp);
$sub->safe_psql('postgres', 'DROP SUBSCRIPTION s2');

# walmptcp.default_mode covers subscriptions that say nothing.
$sub->append_conf('postgresql.conf', 'walmptcp.default_mode = prefer');
$sub->reload;
$pub->safe_psql('postgres', 'CREATE TABLE small (id int PRIMARY KEY); CREATE PUBLICATION ps FOR TABLE small');
$sub->safe_psql('postgres', 'CREATE TABLE small (id int PRIMARY KEY)');
$sub->safe_psql('postgres',
	"CREATE SUBSCRIPTION s3 CONNECTION 'host=$P1 port=$pport dbname=postgres' PUBLICATION ps");
ok(WalmptcpLab::wait_for(sub {
	$sub->safe_psql('postgres',
		"SELECT mptcp AND requested_mode = 'prefer' FROM walmptcp_connections() WHERE role = 'apply'") eq 't';
}), 'walmptcp.default_mode = prefer: subscription without the keyword uses MPTCP');
is($sub->safe_psql('postgres', "SELECT subconninfo !~ 'mptcp' FROM pg_subscription WHERE subname = 's3'"),
	't', 'pg_subscription does not carry the keyword');
$sub->safe_psql('postgres', 'DROP SUBSCRIPTION s3');
$sub->append_conf('postgresql.conf', 'walmptcp.default_mode = off');
$sub->reload;

# require against a publisher without walmptcp: clear error in the worker,
# and the subscription keeps retrying.
my $plainpub = $lab->make_primary(name => 'plainpub', logical => 1, preload => 0);
my $plport = $plainpub->port;
$plainpub->safe_psql('postgres', 'CREATE TABLE small (id int PRIMARY KEY); CREATE PUBLICATION pp FOR TABLE small');
$sub->safe_psql('postgres', 'TRUNCATE small');
$sub->safe_psql('postgres',
	"CREATE SUBSCRIPTION s4 CONNECTION 'host=$P1 port=$plport dbname=postgres mptcp=1' PUBLICATION pp");
my $offset = -s $sub->logfile;
$sub->safe_psql('postgres',
	"ALTER SUBSCRIPTION s4 CONNECTION 'host=$P1 port=$plport dbname=postgres mptcp=require'");
my $re = qr/could not connect to the publisher: walmptcp: Multipath TCP is required \(connection option mptcp = require\) but the connection to server "\Q$P1\E" port $plport is plain TCP: the server did not accept MPTCP/;
ok($sub->wait_for_log($re, $offset), 'require: clear error in the apply worker');
ok(WalmptcpLab::wait_for(sub {
	my $n = () = substr(slurp_file($sub->logfile), $offset) =~ /$re/g;
	return $n >= 2;
}), 'require: the worker retries');
($ret, $out, $err) = $sub->psql('postgres',
	"CREATE SUBSCRIPTION s5 CONNECTION 'host=$P1 port=$plport dbname=postgres mptcp=require' PUBLICATION pp");
like($err, qr/could not connect to the publisher: walmptcp: Multipath TCP is required/,
	'require: CREATE SUBSCRIPTION fails clearly when it connects');

done_testing();
