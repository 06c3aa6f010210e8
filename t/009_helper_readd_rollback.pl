# The endpoint helper removes an endpoint and adds it back.  When the add
# fails (an error the kernel gives for reasons of its own: memory, a device
# that went away), the host must not be left without the endpoint: the helper
# puts it back exactly as it was, and says so; when that fails too, the
# supervisor says the host lost it (WARNING, with the command to add it).
#
# The failures are injected into the helper (WALMPTCP_TEST_HELPER_FAIL_ADDS:
# the next N endpoint additions fail with ENOMEM); the removal, the real
# additions and the endpoint list are the kernel's.
#
# Also: the helper re-adds only the endpoint the supervisor judged.  Held
# before it acts (WALMPTCP_TEST_HELPER_HOLD), the endpoint with that id is
# replaced by another one (same id, other flags); the helper must leave it
# alone and the supervisor say so.
#
# These hooks exist only in a test build (-DWALMPTCP_TEST_HOOKS, as
# test/run-tests builds); with a production build the test is skipped.
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
use Time::HiRes qw(time sleep);

my $pg_config = $ENV{PG_CONFIG} // 'pg_config';
my $so = `$pg_config --pkglibdir`;
chomp $so;
$so .= '/walmptcp.so';
plan skip_all => "$so is a production build: it has no test hooks (build with COPT=-DWALMPTCP_TEST_HOOKS, as test/run-tests does)"
  unless WalmptcpLab::has_test_hook($so, 'WALMPTCP_TEST_HELPER_FAIL_ADDS');

my $lab = WalmptcpLab->new(paths => 2, rate => 50);
my $P1 = $lab->addr('primary', 1);
my $S2 = $lab->addr('standby', 2);
$lab->run($_, 'sysctl', '-qw', 'net.ipv4.tcp_retries2=3') for ('primary', 'standby');
my $conf = "walmptcp.check_interval = 500ms\nwal_retrieve_retry_interval = 1s\n";
my $primary = $lab->make_primary(conf => $conf);
my $port = $primary->port;
$primary->safe_psql('postgres', 'CREATE EXTENSION walmptcp; CREATE TABLE t (id int)');

sub subflows
{
	my ($node) = @_;
	return $node->safe_psql('postgres',
		q{SELECT coalesce(max(subflows), 0) FROM walmptcp_connections() WHERE role = 'walreceiver' AND mptcp});
}

# The standby's endpoint for $S2 as "id N flags...", from the kernel.
sub endpoint_s2
{
	my ($line) = $lab->run('standby', 'ip', 'mptcp', 'endpoint', 'show') =~ /^(\Q$S2\E .*)$/m;
	return $line // 'none';
}

# A standby whose helper fails the next $fails endpoint additions; a killed
# subflow on path 2 makes its supervisor re-add the owning endpoint.
sub readd_with_failures
{
	my ($name, $fails, $hold) = @_;
	local $ENV{WALMPTCP_TEST_HELPER_FAIL_ADDS} = $fails;
	local $ENV{WALMPTCP_TEST_HELPER_HOLD} = $hold if $hold;
	my $standby = $lab->make_standby($primary, name => $name,
		conninfo => "host=$P1 port=$port mptcp=1", conf => $conf, keep_net_admin => 1);
	$primary->wait_for_catchup($standby);
	ok(WalmptcpLab::wait_for(sub { subflows($standby) >= 2 }, 60), "$name: subflow on path 2 up");
	my $before = endpoint_s2();
	my $log_from = -s $standby->logfile;
	$lab->run('standby', 'ss', '-K', 'src', $S2);
	if ($hold)
	{
		# the helper got the request and waits: replace the endpoint now
		ok(WalmptcpLab::wait_for(sub { -e $hold }, 30), "$name: the helper holds a re-add request");
		my ($id, $dev) = $before =~ /id (\d+) .*dev (\S+)/;
		$lab->run('standby', 'ip', 'mptcp', 'endpoint', 'del', 'id', $id);
		$lab->run('standby', 'ip', 'mptcp', 'endpoint', 'add', $S2, 'dev', $dev, 'id', $id, 'subflow', 'backup');
		unlink $hold;
	}
	ok(WalmptcpLab::wait_for(sub { slurp_file($standby->logfile, $log_from) =~ /re-added endpoint|could not re-add|could not be added back|left alone/ }, 60),
		"$name: the supervisor tried to re-add the endpoint of path 2");
	sleep(1);
	return ($standby, $before, slurp_file($standby->logfile, $log_from));
}

# 1. the add fails once: the helper's own retry puts it back as it was
my ($standby, $before, $log) = readd_with_failures('rollback', 1);
like($log, qr/could not re-add endpoint \Q$S2\E.*Cannot allocate memory; put it back as it was/,
	'add failed: LOG says the endpoint was put back');
is(endpoint_s2(), $before, 'add failed: the endpoint is there as it was (same id, flags, device)');
is($standby->safe_psql('postgres',
	q{SELECT count(*) FROM walmptcp_events() WHERE event = 'repair_failed' AND detail LIKE '%put it back as it was%'}),
	1, 'add failed: event repair_failed names the rollback');
unlike($log, qr/could not be added back/, 'add failed: no "lost" warning');
$primary->safe_psql('postgres', 'INSERT INTO t SELECT generate_series(1, 1000)');
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT count(*) FROM t'), 1000, 'replication went on');
$standby->stop;

# 2. the add and the rollback fail: the host has lost it, and the DBA is told
($standby, $before, $log) = readd_with_failures('lost', 2);
like($log, qr/WARNING:  walmptcp: an MPTCP endpoint of this host was removed by a repair and could not be added back/,
	'add and rollback failed: WARNING');
like($log, qr/DETAIL:  endpoint \Q$S2\E.*was removed and could not be added back \(Cannot allocate memory\)/,
	'add and rollback failed: DETAIL names the endpoint');
like($log, qr/HINT:  Add it again with "ip mptcp endpoint add"/, 'add and rollback failed: HINT');
# (the kernel may list an implicit entry for an address a subflow still uses)
unlike(endpoint_s2(), qr/\bsubflow\b/, 'add and rollback failed: the kernel indeed lost the configured endpoint');
like($before, qr/\bsubflow\b/, '... which it had before');
$standby->stop;

# Give the host back the endpoint case 2 cost it (as a DBA following the
# HINT would), so that case 3 starts from the same endpoints as case 1.
my ($lost_id, $lost_dev) = $before =~ /id (\d+) .*dev (\S+)/;
if (my ($implicit) = endpoint_s2() =~ /id (\d+)/)
{
	$lab->run('standby', 'ip', 'mptcp', 'endpoint', 'del', 'id', $implicit);
}
$lab->run('standby', 'ip', 'mptcp', 'endpoint', 'add', $S2, 'dev', $lost_dev, 'id', $lost_id, 'subflow');
like(endpoint_s2(), qr/\bsubflow\b/, 'the lost endpoint added back by hand');

# 3. the endpoint with the id the supervisor asked for was replaced meanwhile
my $hold = PostgreSQL::Test::Utils::tempdir('hold') . '/held';
($standby, $before, $log) = readd_with_failures('replaced', 0, $hold);
like($log, qr/repair_failed of walreceiver.*endpoint \Q$S2\E id \d+ subflow dev \S+ left alone: the host's endpoint with its id is now \Q$S2\E id \d+ subflow backup/,
	'replaced endpoint: the helper left it alone, the supervisor says so');
unlike($log, qr/re-added endpoint \Q$S2\E id \d+ subflow backup/, 'replaced endpoint: not re-added');
unlink $hold;
$standby->stop;

unlike(slurp_file($primary->logfile), qr/ERROR:.*walmptcp|walmptcp.*ERROR/, 'no walmptcp ERROR in the primary log');
done_testing();
