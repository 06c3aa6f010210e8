# What a DBA does every day without thinking of walmptcp: pg_dump and
# restore, an extension in a schema of its own, an empty search_path,
# unprivileged monitoring roles, and ALTER EXTENSION UPDATE from 1.0 to 1.1
# on a node that streams over MPTCP.
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

# --- pg_dump and restore (a plain node with walmptcp preloaded) ---
my $node = PostgreSQL::Test::Cluster->new('sqlops');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'walmptcp'");
$node->start;

# Subscriptions that never connect: enough for the catalogue and the event
# trigger, which fires on CREATE and ALTER SUBSCRIPTION.
my $subopts = 'WITH (connect = false)';
$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('app', qq{
	CREATE EXTENSION walmptcp;
	CREATE TABLE t (id int);
	CREATE SUBSCRIPTION sub_mptcp CONNECTION 'host=/nonexistent dbname=app mptcp=1' PUBLICATION p $subopts;
	CREATE SUBSCRIPTION sub_plain CONNECTION 'host=/nonexistent dbname=app' PUBLICATION p $subopts;
});

sub subscriptions
{
	my ($dbname) = @_;
	return $node->safe_psql($dbname, q{
		SELECT subname || ' ' || subconninfo FROM pg_subscription
		 WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		 ORDER BY subname});
}
my $expected_subs = "sub_mptcp host=/nonexistent dbname=app mptcp=1\n"
  . "sub_plain host=/nonexistent dbname=app";
is(subscriptions('app'), $expected_subs, 'two subscriptions, one with mptcp=1');

# pg_dump empties search_path: with 1.0's event trigger every subscription
# failed ("function walmptcp_preloaded() does not exist").
$node->safe_psql('postgres', 'CREATE DATABASE restored_plain');
my ($dump_err, $psql_out, $psql_err) = ('', '', '');
my $ok = IPC::Run::run(
	[ 'pg_dump', '-d', $node->connstr('app') ], '2>', \$dump_err, '|',
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('restored_plain') ],
	'>', \$psql_out, '2>', \$psql_err);
ok($ok, 'pg_dump | psql -v ON_ERROR_STOP=1 succeeds')
  or diag "pg_dump: $dump_err\npsql: $psql_err";
is(subscriptions('restored_plain'), $expected_subs,
	'plain dump: both subscriptions restored with their conninfo');

my $archive = $node->basedir . '/app.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $archive, '-d', $node->connstr('app') ],
	'pg_dump -Fc');
$node->safe_psql('postgres', 'CREATE DATABASE restored_custom');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('restored_custom'), $archive ],
	'pg_restore --exit-on-error succeeds');
is(subscriptions('restored_custom'), $expected_subs,
	'custom dump: both subscriptions restored with their conninfo');
is($node->safe_psql('restored_custom', q{SELECT extversion FROM pg_extension WHERE extname = 'walmptcp'}),
	'1.1', 'the restored database has walmptcp 1.1');

# --- the extension in a schema of its own ---
$node->safe_psql('postgres', 'CREATE DATABASE own');
$node->safe_psql('own', qq{
	CREATE SCHEMA walmptcp_s;
	CREATE EXTENSION walmptcp SCHEMA walmptcp_s;
	CREATE SUBSCRIPTION sub_own CONNECTION 'host=/nonexistent dbname=own' PUBLICATION p $subopts;
});
my ($rc, $out, $err) = $node->psql('own', q{
	SET search_path = '';
	ALTER SUBSCRIPTION sub_own CONNECTION 'host=/nonexistent dbname=own mptcp=1';
	ALTER SUBSCRIPTION sub_own DISABLE;
	SELECT count(*) FROM walmptcp_s.walmptcp_connections();
});
is($rc, 0, "own schema, search_path = '': ALTER SUBSCRIPTION works") or diag $err;
like($node->safe_psql('own', q{SELECT subconninfo FROM pg_subscription WHERE subname = 'sub_own'}),
	qr/mptcp=1/, 'the new conninfo is stored');
# and a dump of it restores into the same schema
$node->safe_psql('postgres', 'CREATE DATABASE own_restored');
$ok = IPC::Run::run(
	[ 'pg_dump', '-d', $node->connstr('own') ], '2>', \$dump_err, '|',
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('own_restored') ],
	'>', \$psql_out, '2>', \$psql_err);
ok($ok, 'own schema: pg_dump | psql succeeds') or diag "psql: $psql_err";
is($node->safe_psql('own_restored', q{
	SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
	 WHERE extname = 'walmptcp'}), 'walmptcp_s', 'own schema: restored into walmptcp_s');
$node->stop;

# --- without preload, after 1.0 -> 1.1, the event trigger still explains ---
my $bare = PostgreSQL::Test::Cluster->new('sqlops_nopreload');
$bare->init;
$bare->start;
$bare->safe_psql('postgres', q{CREATE EXTENSION walmptcp VERSION '1.0'; ALTER EXTENSION walmptcp UPDATE});
($rc, $out, $err) = $bare->psql('postgres', q{SET search_path = '';
	CREATE SUBSCRIPTION s CONNECTION 'host=/nonexistent dbname=app mptcp=1' PUBLICATION p WITH (connect = false)});
isnt($rc, 0, 'no preload, updated extension: CREATE SUBSCRIPTION with mptcp fails');
like($err, qr/the subscription's connection string uses the option "mptcp", but walmptcp is not loaded/,
	"... with the event trigger's explanation, also under search_path = ''");
$bare->stop;

# --- ALTER EXTENSION UPDATE on a node streaming over MPTCP ---
my $lab = WalmptcpLab->new(paths => 1, rate => 50);
my $P1 = $lab->addr('primary', 1);
my $primary = $lab->make_primary;
my $port = $primary->port;
$primary->safe_psql('postgres', q{CREATE EXTENSION walmptcp VERSION '1.0'});
$primary->safe_psql('postgres', 'CREATE TABLE t (id int)');
$primary->safe_psql('postgres', 'CREATE ROLE watcher LOGIN');
$primary->safe_psql('postgres', 'CREATE ROLE monitor LOGIN IN ROLE pg_monitor');
my $standby = $lab->make_standby($primary,
	conninfo => "host=$P1 port=$port mptcp=1 application_name=standby");

my $walsender = q{SELECT pid FROM walmptcp_connections()
	WHERE role = 'walsender' AND application_name = 'standby' AND mptcp};
$primary->poll_query_until('postgres', "SELECT count(*) = 1 FROM ($walsender) w")
  or die 'the standby never streamed over MPTCP';
my $pid_before = $primary->safe_psql('postgres', $walsender);
note "walsender pid $pid_before";

# Masking lives in C: it holds for the 1.0 objects too.
sub as_role
{
	my ($node, $role, $sql) = @_;
	return $node->safe_psql('postgres', "SET ROLE $role; $sql");
}
my $masked = q{SELECT count(*),
	bool_and(pid IS NOT NULL AND role IS NOT NULL AND mptcp AND subflows >= 1),
	bool_and(application_name IS NULL AND connected_at IS NULL AND requested_mode IS NULL
	         AND local_addr IS NULL AND token IS NULL AND subflows_max IS NULL)
  FROM walmptcp_connections() WHERE role = 'walsender'};
is(as_role($primary, 'watcher', $masked), '1|t|t',
	'1.0: an unprivileged role sees the walsender, without peer, times and mode');

# 1.0's event trigger under an empty search_path (pg_dump's): the defect
($rc, $out, $err) = $primary->psql('postgres', q{SET search_path = '';
	CREATE SUBSCRIPTION s1 CONNECTION 'host=/nonexistent dbname=app mptcp=1' PUBLICATION p WITH (connect = false)});
like($err, qr/function walmptcp_preloaded\(\) does not exist/,
	"1.0: CREATE SUBSCRIPTION under search_path = '' fails (what 1.1 fixes)");

$primary->safe_psql('postgres', 'ALTER EXTENSION walmptcp UPDATE');
is($primary->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'walmptcp'}),
	'1.1', 'ALTER EXTENSION walmptcp UPDATE: 1.1');
is($primary->safe_psql('postgres', $walsender), $pid_before,
	'the same walsender, still MPTCP, after the update');
is(as_role($primary, 'watcher', $masked), '1|t|t', '1.1: unprivileged role: masked');
is(as_role($primary, 'monitor', q{SELECT count(*),
	bool_and(application_name = 'standby' AND connected_at IS NOT NULL
	         AND local_addr IS NOT NULL AND token IS NOT NULL AND subflows_max IS NOT NULL)
  FROM walmptcp_connections() WHERE role = 'walsender'}),
	'1|t', '1.1: a pg_monitor member sees everything');
is(as_role($primary, 'watcher', q{SELECT count(*), bool_and(mptcp),
	bool_and(client_addr IS NULL AND mptcp_token IS NULL) FROM walmptcp_stat_replication}),
	'1|t|t', '1.1: walmptcp_stat_replication readable by any role, masked');
is(as_role($primary, 'monitor', q{SELECT application_name, mptcp_token IS NOT NULL
	FROM walmptcp_stat_replication}),
	'standby|t', '1.1: walmptcp_stat_replication complete for pg_monitor');
for my $role ('watcher', 'monitor')
{
	($rc, $out, $err) = $primary->psql('postgres',
		"SET ROLE $role; SELECT * FROM walmptcp_parse_conninfo('service=x')");
	like($err, qr/permission denied for function walmptcp_parse_conninfo/,
		"1.1: walmptcp_parse_conninfo() refused to $role");
}
like($primary->safe_psql('postgres', q{SELECT mode FROM walmptcp_parse_conninfo('host=x mptcp=1')}),
	qr/\S/, '1.1: a superuser may still call walmptcp_parse_conninfo()');

# the updated event trigger function: the empty search_path works now
($rc, $out, $err) = $primary->psql('postgres', q{SET search_path = '';
	CREATE SUBSCRIPTION s1 CONNECTION 'host=/nonexistent dbname=app mptcp=1' PUBLICATION p WITH (connect = false);
	ALTER SUBSCRIPTION s1 CONNECTION 'host=/nonexistent dbname=app';
	ALTER SUBSCRIPTION s1 SET (slot_name = NONE);
	DROP SUBSCRIPTION s1});
is($rc, 0, "1.1: CREATE/ALTER SUBSCRIPTION under search_path = ''") or diag $err;

# streaming went on through the update
$primary->safe_psql('postgres', 'INSERT INTO t SELECT generate_series(1, 1000)');
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT count(*) FROM t'), '1000',
	'rows written after the update reach the standby');
is($standby->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'walmptcp'}),
	'1.1', 'the standby has 1.1 too (replicated catalogue)');
is($standby->safe_psql('postgres', q{SELECT count(*), bool_and(mptcp) FROM walmptcp_connections()
	WHERE role = 'walreceiver'}), '1|t', 'the standby: its walreceiver still MPTCP');
is($primary->safe_psql('postgres', $walsender), $pid_before,
	'no reconnection: the same walsender');

$standby->stop;
$primary->stop;
done_testing();
