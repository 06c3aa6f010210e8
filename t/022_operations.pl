# Operations a DBA runs, with a primary and a standby streaming over MPTCP
# (2 paths, mptcp=1, supervisors on, both nodes started with CAP_NET_ADMIN
# so that each has its endpoint helper):
#  1. crash-restart of the primary (a backend killed with SIGKILL),
#  2. crash-restart of the standby the same way,
# each followed by: the standby back over MPTCP with as many established
# subflows as before, walmptcp_subflows() rows = the kernel's subflows on
# both nodes, a new supervisor that holds the endpoint helper's socket with
# the postmaster, and a repair of subflows killed with ss -K;
#  3. a restart with changed walmptcp.* settings (default_mode = prefer with
# no mptcp keyword in primary_conninfo, check_interval, repair = reconnect):
# they take effect, streaming resumes over MPTCP, and a repair now goes
# through a reconnect;
#  4. promotion of the standby: its walmptcp functions answer;
# and at the end no ERROR or FATAL message about walmptcp in either log.
#
# Copyright (c) 2026, the walmptcp authors
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use WalmptcpLab qw(sql);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use SupervisorFaults;
use Topology;

my $t = Topology->new('operations', paths => 2, rate => 50, min_subflows => 3);
my $lab = $t->lab;
$t->{pids_before} = {};
# subflows killed by ss -K are noticed at once; dead paths time out fast
$lab->run($_, 'sysctl', '-qw', 'net.ipv4.tcp_retries2=3') for 'primary', 'standby';
my %caps = (keep_net_admin => 1);
# the test framework turns restart_after_crash off; a DBA has it on
my $conf = "restart_after_crash = on\nwalmptcp.check_interval = 500ms\nwal_retrieve_retry_interval = 1s\n";
my $P1 = $lab->addr('primary', 1);
my $S2 = $lab->addr('standby', 2);

my $primary = $t->server('primary', host => 'primary', conf => $conf, %caps);
my $port = $primary->port;
Topology::create_table($primary, 't');
my $standby = $t->standby($primary, 'standby', host => 'standby', conf => $conf, %caps,
	conninfo => "host=$P1 port=$port mptcp=1");
$t->expect($primary, walsender => 1);
$t->expect($standby, walreceiver => 1);
my %host = ($primary->name => 'primary', $standby->name => 'standby');

sub write_and_catch_up
{
	my ($what) = @_;
	sql($primary, q{INSERT INTO t (pad) SELECT md5(i::text) FROM generate_series(1, 100) i});
	$primary->wait_for_catchup($standby);
	is(sql($standby, 'SELECT count(*) FROM t'), sql($primary, 'SELECT count(*) FROM t'),
		"$what: the standby has every row");
}

# Established kernel subflows of each registered MPTCP connection, by node/role.
sub established
{
	my %n;
	for my $e (@{ $t->{nodes} })
	{
		my $obs = $t->observe($e);
		$n{"$e->{name}/$_->{role}"} = $_->{established} for @{ $obs->{conns} // [] };
	}
	return join(' ', map { "$_=$n{$_}" } sort keys %n);
}

# The helper socket is held by the postmaster and the (current) supervisor only.
sub helper_paired
{
	my ($node, $what) = @_;
	my ($sup, @holders);
	WalmptcpLab::wait_for(sub {
		$sup = SupervisorFaults::supervisor_pid($node);
		@holders = SupervisorFaults::helper_socket_holders($lab, $host{ $node->name }, $node);
		return defined $sup && join(' ', sort map { /^(\d+)/ } @holders) eq join(' ', sort ($node->{_pid}, $sup));
	}, 30);
	ok(defined $sup, "$what: " . $node->name . " has a supervisor (pid " . ($sup // 'none') . ")");
	is(join(' ', sort map { /^(\d+)/ } @holders), join(' ', sort ($node->{_pid}, $sup // 'supervisor')),
		"$what: " . $node->name . "'s endpoint helper socket is held by the postmaster and the supervisor (holders: "
		  . join(', ', @holders) . ')');
	return $sup;
}

# Every node has its MPTCP connections, each with >= 3 established subflows.
sub ready
{
	my ($what, $timeout) = @_;
	my $why;
	WalmptcpLab::wait_for(sub { $why = $t->not_ready(3); !defined $why }, $timeout // 60);
	ok(!defined $why, "$what") or diag $why;
	return !defined $why;
}

sub events_since
{
	my ($since, @names) = @_;
	my $in = join(',', map { "'$_'" } @names);
	my $n = 0;
	$n += sql($_, "SELECT count(*) FROM walmptcp_events() WHERE event IN ($in) AND event_time >= '$since'")
	  for $primary, $standby;
	return $n;
}

# Kill the standby's path-2 subflows as a middlebox RST would; the supervisor
# brings them back ($kind: the repair event expected, 'repair' in place
# through the endpoint helper or 'reconnect').
sub repair_works
{
	my ($what, $kind) = @_;
	my $since = sql($standby, 'SELECT now()');
	my $wr = sql($standby, 'SELECT pid FROM pg_stat_wal_receiver');
	$lab->run('standby', 'ss', '-K', 'src', $S2);
	ok(WalmptcpLab::wait_for(sub { events_since($since, $kind) > 0 }, 30),
		"$what: subflows killed with ss -K: the supervisor acts ($kind event)");
	ready("$what: full subflow set again after the repair");
	my $wr2 = sql($standby, 'SELECT pid FROM pg_stat_wal_receiver');
	if ($kind eq 'repair')
	{
		is($wr2, $wr, "$what: repaired in place (same walreceiver)");
	}
	$t->sample("$what, after the repair");
}

# ---- the streaming pair ------------------------------------------------------
ready('start: the standby streams over MPTCP with the full subflow set');
write_and_catch_up('start');
$t->sample('start');
my $before = established();
note "established subflows at start: $before";
my %sup0 = map { $_->name => helper_paired($_, 'start') } $primary, $standby;

# ---- 1, 2: crash-restarts ----------------------------------------------------
sub crash_restart
{
	my ($node, $what) = @_;
	my $pm = $node->{_pid};
	my $log_offset = -s $node->logfile;
	my $victim = $node->background_psql('postgres');
	my $pid = $victim->query_safe('SELECT pg_backend_pid()');
	kill 'KILL', $pid;
	eval { $victim->quit };
	ok(WalmptcpLab::wait_for(sub {
		slurp_file($node->logfile, $log_offset) =~ /all server processes terminated; reinitializing/ }, 30),
		"$what: the postmaster reinitialises after a backend was killed with SIGKILL");
	$node->poll_query_until('postgres', 'SELECT true') or die "$what: no connection";
	is($node->{_pid}, $pm, "$what: same postmaster");

	ready("$what: the standby streams over MPTCP again with its subflows", 90);
	# the supervisor's probe may hold a second connection for a moment
	my $after;
	WalmptcpLab::wait_for(sub { $after = established(); $after eq $before }, 30);
	is($after, $before, "$what: as many established subflows as before");
	write_and_catch_up($what);
	$t->sample("$what");
	for my $n ($primary, $standby)
	{
		my $sup = helper_paired($n, $what);
		isnt($sup, $sup0{ $n->name }, "$what: " . $n->name . "'s supervisor is a new process")
		  if $n == $node;
		$sup0{ $n->name } = $sup;
	}
	repair_works($what, 'repair');
}

crash_restart($primary, 'primary crash-restart');
crash_restart($standby, 'standby crash-restart');

# ---- 3: restart with changed walmptcp settings --------------------------------
# No mptcp keyword any more: MPTCP now comes from walmptcp.default_mode.
$lab->set_conninfo($standby, "host=$P1 port=$port", reload => 0);
for my $n ($primary, $standby)
{
	$n->append_conf('postgresql.conf', "walmptcp.default_mode = prefer\nwalmptcp.check_interval = 300ms\nwalmptcp.repair = reconnect\n");
}
$primary->restart;
$standby->restart;
for my $n ($primary, $standby)
{
	is(sql($n, q{SELECT current_setting('walmptcp.default_mode') || ' ' || current_setting('walmptcp.check_interval') || ' ' || current_setting('walmptcp.repair')}),
		'prefer 300ms reconnect', 'restart with changed settings: ' . $n->name . ' runs with them');
}
ready('restart with changed settings: streaming over MPTCP with the full subflow set', 90);
is(sql($standby, q{SELECT requested_mode || ' ' || mptcp FROM walmptcp_connections() WHERE role = 'walreceiver'}),
	'prefer true', 'restart with changed settings: the walreceiver asked for MPTCP through walmptcp.default_mode');
write_and_catch_up('restart with changed settings');
$t->sample('restart with changed settings');
repair_works('restart with changed settings', 'reconnect');

# ---- 4: promotion -------------------------------------------------------------
$standby->promote;
$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()') or die 'no promotion';
my ($ok, $out, $err) = Topology::try_sql($standby,
	q{SELECT (SELECT count(*) FROM walmptcp_connections()) || ' ' || (SELECT count(*) FROM walmptcp_subflows())
	   || ' ' || (SELECT count(*) FROM walmptcp_stat_wal_receiver) || ' ' || (SELECT count(*) FROM walmptcp_stat_replication)
	   || ' ' || (SELECT count(*) >= 0 FROM walmptcp_events())});
ok($ok, 'promoted: walmptcp functions answer') or diag $err;
like($out, qr/^\d+ \d+ 0 0 true$/, "promoted: no walreceiver, no walsender, events readable ($out)");
ok(defined SupervisorFaults::supervisor_pid($standby), 'promoted: the supervisor runs');
sql($standby, q{INSERT INTO t (pad) VALUES ('after promotion')});
is(sql($standby, q{SELECT count(*) FROM t WHERE pad = 'after promotion'}), '1', 'promoted: writable');
sleep(2);    # a supervisor tick or more on the promoted node

# ---- no walmptcp ERROR or FATAL in any log -------------------------------------
$_->stop('fast') for $standby, $primary;
for my $n ($primary, $standby)
{
	my @bad = Topology::bad_log_lines($n->logfile);
	is(scalar @bad, 0, $n->name . "'s server log has no ERROR or FATAL message about walmptcp")
	  or diag join("\n", @bad[0 .. ($#bad < 7 ? $#bad : 7)]);
}
$t->cleanup;

done_testing();
