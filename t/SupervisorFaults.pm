# SupervisorFaults: the fault scenarios of the supervisor tests, run against
# a primary and a standby that either both hold CAP_NET_ADMIN at start
# (repair in place through the endpoint helper) or do not (reconnect).
#
#   SupervisorFaults::run(net_admin => 1);
#
# WALMPTCP_REPAIR_ROUNDS=N runs the faults N times (each round ends with the
# restarts, which also start the supervisors' hourly budgets afresh), and
# WALMPTCP_REPAIR_TIMES=FILE appends each measured repair time to FILE as
# tab-separated "variant, round, fault, seconds (-1: never), walreceiver
# restarted": what `bench/run-bench --only repair` takes medians of.
#
# Every scenario: a table written throughout by a background session; the
# fault; checks that streaming went on while one path lived; the time from
# "path restored" to the full subflow set on both sides; at the end, primary
# and standby hold the same rows.
#
# Copyright (c) 2026, the walmptcp authors
package SupervisorFaults;

use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use WalmptcpLab qw(sql);

my ($lab, $primary, $standby, $port, @results, $net_admin, $variant, $round);

sub subflows
{
	my ($node, $role) = @_;
	my $n = sql($node, "SELECT coalesce(max(subflows), 0) FROM walmptcp_connections() WHERE role = '$role' AND mptcp");
	return $n;
}

sub full_set { return subflows($standby, 'walreceiver') >= 3 && subflows($primary, 'walsender') >= 3; }

# The endpoint helper of a node, as its postmaster logged it at its last start
# (pgrep would also find other servers' helpers on this machine).
sub helper_pid
{
	my ($node) = @_;
	my @pids = slurp_file($node->logfile) =~ /moved to the endpoint helper \(pid (\d+)\)/g;
	return $pids[-1];
}

# The postmaster of $node and its children: pid => title (from the cmdline).
sub cluster_processes
{
	my ($node) = @_;
	my $pm = $node->{_pid};
	my %title;
	for my $stat (glob('/proc/[0-9]*/stat'))
	{
		my ($pid, $ppid) = (eval { slurp_file($stat) } // '') =~ /^(\d+) \(.*\) \S+ (\d+)/s;
		next unless defined $pid && ($pid == $pm || $ppid == $pm);
		my $cmdline = eval { slurp_file("/proc/$pid/cmdline") } // '';
		($title{$pid}) = split /\0/, $cmdline;
	}
	return %title;
}

# The pid of $node's one child whose title has $title (a background worker
# without a database is not in pg_stat_activity), else undef.
sub process_titled
{
	my ($node, $title) = @_;
	my %title = cluster_processes($node);
	my @pids = grep { $title{$_} =~ /\Q$title\E/ } keys %title;
	return @pids == 1 ? $pids[0] : undef;
}

# The supervisor's pid, waiting up to $wait s (default: not at all) for it.
sub supervisor_pid
{
	my ($node, $wait) = @_;
	my $pid;
	WalmptcpLab::wait_for(sub { defined($pid = process_titled($node, 'walmptcp supervisor')) }, $wait // 0);
	return $pid;
}

# Processes of $node's cluster that hold PostgreSQL's end of the endpoint
# helper's socketpair, as "pid:title".
sub helper_socket_holders
{
	my ($lab, $host, $node) = @_;
	my $helper = helper_pid($node);
	my ($own) = (readlink("/proc/$helper/fd/3") // '') =~ /socket:\[(\d+)\]/;
	return ('no helper socket') unless defined $own;
	# ss -xa: "u_seq ESTAB 0 0 * <inode> * <peer inode>", one line per end
	my ($ours) = $lab->run($host, 'ss', '-xa') =~ /^\S+\s+\S+\s+\d+\s+\d+\s+\S+\s+(\d+)\s+\S+\s+$own\b/m;
	return ('no peer of helper socket') unless defined $ours;
	my %title = cluster_processes($node);
	return map { "$_:$title{$_}" }
	  grep { my $pid = $_; grep { (readlink($_) // '') eq "socket:[$ours]" } glob("/proc/$pid/fd/*") }
	  sort keys %title;
}

sub walreceiver_pid { return sql($standby, 'SELECT pid FROM pg_stat_wal_receiver') || 0; }

# While the fault lasts the walreceiver keeps receiving WAL (under heavy
# load one path is slower than the writer, so replay lags; it must not stop).
sub streaming_goes_on
{
	my ($what) = @_;
	my $q = "SELECT pg_wal_lsn_diff(flushed_lsn, '0/0') FROM pg_stat_wal_receiver WHERE status = 'streaming'";
	my $before = sql($standby, $q) || 0;
	sql($primary, 'INSERT INTO marks VALUES (0)');
	ok(WalmptcpLab::wait_for(sub { my $now = sql($standby, $q) || 0; $now > $before }, 10),
		"$what: the standby keeps receiving WAL while one path lives");
}

# The fault was seen: fewer subflows on either side now, or a degraded event
# since $since (the supervisor may have repaired it before we looked).
sub degraded_seen
{
	my ($since) = @_;
	my $events = "SELECT count(*) FROM walmptcp_events() WHERE event = 'degraded' AND event_time >= '$since'";
	return WalmptcpLab::wait_for(sub {
		my $s = subflows($standby, 'walreceiver');
		my $p = subflows($primary, 'walsender');
		return ($s > 0 && $s < 3) || ($p > 0 && $p < 3) ||
		  sql($standby, $events) > 0 || sql($primary, $events) > 0;
	}, 40);
}

# Record the time from restore to full set, and whether the walreceiver
# stayed the same process.
sub measure
{
	my ($fault, $t_restored, $pid_before, %opts) = @_;
	my $ok = WalmptcpLab::wait_for(\&full_set, 120);
	my $secs = time() - $t_restored;
	my $same = walreceiver_pid() == $pid_before;
	ok($ok, sprintf("%s: full subflow set again (%.1f s after restore)", $fault, $secs));
	if ($opts{expect_same_pid})
	{
		ok($same, "$fault: walreceiver not restarted (repair in place)");
	}
	push @results, [ $fault, $secs, $same ? 'no' : 'yes' ];
	if (my $file = $ENV{WALMPTCP_REPAIR_TIMES})
	{
		open(my $fh, '>>', $file) or die "could not append to $file: $!";
		printf $fh "%s\t%d\t%s\t%.2f\t%s\n", $variant, $round, $fault, $ok ? $secs : -1, $same ? 'no' : 'yes';
		close($fh);
	}
}

# ~10 MB/s of WAL for $secs seconds, more than one 50 Mbit/s path carries:
# data queued on a dead path makes its subflows time out.
sub heavy_load
{
	my ($secs) = @_;
	return IPC::Run::start([ $primary->installed_command('psql'), '-X', '-q',
		'-h', $primary->host, '-p', $port, '-d', 'postgres', '-c',
		"DO \$\$ DECLARE t0 timestamptz := clock_timestamp(); BEGIN
		   WHILE clock_timestamp() < t0 + interval '$secs s' LOOP
		     INSERT INTO t (pad) SELECT string_agg(md5(random()::text), '')
		       FROM generate_series(1, 3000), generate_series(1, 10) g GROUP BY g;
		     COMMIT; PERFORM pg_sleep(0.1);
		   END LOOP; END \$\$" ],
		'>', \my $out, '2>', \my $err);
}

sub set_repair
{
	my ($mode) = @_;
	for my $node ($primary, $standby)
	{
		$node->append_conf('postgresql.conf', "walmptcp.repair = $mode");
		$node->reload;
	}
	sleep(1);
}

sub link_set
{
	my ($path, $state) = @_;
	$lab->run('primary', 'ip', 'link', 'set', $lab->ifname('primary', $path), $state);
}

# A primary and a standby over 2 paths, full subflow set on both sides.
sub setup
{
	$lab = WalmptcpLab->new(paths => 2, rate => 50);
	my $P1 = $lab->addr('primary', 1);
	# subflows on a dead path time out in ~3 s instead of ~15 min
	for my $h ('primary', 'standby')
	{
		$lab->run($h, 'sysctl', '-qw', 'net.ipv4.tcp_retries2=3');
	}
	my %caps = $net_admin ? (keep_net_admin => 1) : ();
	my $conf = "walmptcp.check_interval = 500ms\nwal_retrieve_retry_interval = 1s\n"
	  . "wal_receiver_timeout = 20s\nwal_sender_timeout = 20s\nwal_keep_size = 4GB\nmax_wal_size = 4GB\n";
	$primary = $lab->make_primary(conf => $conf, %caps);
	$port = $primary->port;
	sql($primary, 'CREATE EXTENSION walmptcp');
	sql($primary, 'CREATE TABLE t (id serial, pad text); CREATE TABLE marks (id bigint)');
	$standby = $lab->make_standby($primary, conninfo => "host=$P1 port=$port mptcp=1",
		conf => $conf, %caps);
	$primary->wait_for_catchup($standby);
	ok(WalmptcpLab::wait_for(\&full_set, 60), "$variant: initial full subflow set (3) on both sides");
	sleep(3);    # let both supervisors see it
	return;
}

# Least privilege: CAP_NET_ADMIN, the helper's fds and who holds its socket.
sub check_least_privilege
{
	my @pids = split /\n/, sql($primary, 'SELECT pid FROM pg_stat_activity');
	push @pids, $primary->{_pid};
	my $holders = 0;
	@pids = grep { -e "/proc/$_/status" } @pids;    # the querying backend is gone
	for my $pid (@pids)
	{
		my $status = eval { slurp_file("/proc/$pid/status") } // '';
		for my $set ('CapInh', 'CapPrm', 'CapEff', 'CapAmb')
		{
			my ($hex) = $status =~ /^$set:\s+([0-9a-f]+)/m;
			$holders++ if hex($hex) & (1 << 12);
		}
	}
	is($holders, 0, "$variant: no PostgreSQL process holds CAP_NET_ADMIN (" . scalar(@pids) . " processes, 4 sets each)");
	if ($net_admin)
	{
		# started as the README's drop-in does (CAP_NET_ADMIN and CAP_SETPCAP
		# ambient, the only ones in the bounding set): both gone from every
		# set, the bounding set included
		my @kept;
		for my $pid (@pids)
		{
			my $status = eval { slurp_file("/proc/$pid/status") } // '';
			for my $set ('CapInh', 'CapPrm', 'CapEff', 'CapAmb', 'CapBnd')
			{
				my ($hex) = $status =~ /^$set:\s+([0-9a-f]+)/m;
				push @kept, "$pid:$set" if defined $hex && hex($hex) & ((1 << 12) | (1 << 8));
			}
		}
		is(join(' ', @kept), '', "$variant: CAP_NET_ADMIN and CAP_SETPCAP in no set of any PostgreSQL process, bounding set included");
	}
	my $copy_caps = sql($primary, q{CREATE TEMP TABLE c (l text); COPY c FROM PROGRAM 'grep ^Cap /proc/self/status' WITH (FORMAT csv); SELECT string_agg(l, ' ') FROM c});
	my ($amb) = $copy_caps =~ /CapAmb:\s+([0-9a-f]+)/;
	my ($prm) = $copy_caps =~ /CapPrm:\s+([0-9a-f]+)/;
	ok(!(hex($amb) & 4096) && !(hex($prm) & 4096), "$variant: COPY ... PROGRAM child has no CAP_NET_ADMIN");
	if ($net_admin)
	{
		my @h = (helper_pid($primary));
		ok(defined $h[0] && -e "/proc/$h[0]/status", 'endpoint helper runs');
		my $status = slurp_file("/proc/$h[0]/status");
		my ($eff) = $status =~ /^CapEff:\s+([0-9a-f]+)/m;
		is(hex($eff), 1 << 12, 'endpoint helper holds CAP_NET_ADMIN and nothing else');
		# by device number: the link's text depends on the reader's root (chroot)
		my $null = (stat('/dev/null'))[6];
		is(join(',', map { (stat("/proc/$h[0]/fd/$_"))[6] // '?' } 0 .. 2),
			join(',', ($null) x 3),
			'endpoint helper: stdin, stdout and stderr are /dev/null, not the postmaster\'s');

		# Only the postmaster and the supervisor hold the helper's socket:
		# listed while a parallel query runs (parallel workers, checkpointer,
		# autovacuum, walsenders, logical replication launcher included).
		my $force = $primary->pg_version >= 16 ? 'debug_parallel_query' : 'force_parallel_mode';
		my $parallel = $primary->background_psql('postgres');
		$parallel->query_until(qr/started/, "SET $force = on;\n\\echo started\nSELECT pg_sleep(6);\n");
		ok(WalmptcpLab::wait_for(sub { sql($primary, q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'parallel worker'}) > 0 }, 20),
			'a parallel query runs while the holders are listed');
		my @holders = helper_socket_holders($lab, 'primary', $primary);
		my %title = cluster_processes($primary);
		my @expected = sort ($primary->{_pid}, grep { $title{$_} =~ /walmptcp supervisor/ } keys %title);
		is(join(' ', sort map { /^(\d+)/ } @holders), join(' ', @expected),
			'helper socket held by the postmaster and the supervisor only (holders: ' . join(', ', @holders) . ')');
		$parallel->quit;
	}
	return;
}

# The writer: ~20 KB of incompressible data every 50 ms, in its own commits.
sub start_writer
{
	return IPC::Run::start([ $primary->installed_command('psql'), '-X', '-q',
		'-h', $primary->host, '-p', $port, '-d', 'postgres',
		'-c', q{SET application_name = 'writer'}, '-c',
		q{DO $$ BEGIN FOR i IN 1..1000000 LOOP
		  INSERT INTO t (pad) SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 600);
		  COMMIT; PERFORM pg_sleep(0.05); END LOOP; END $$} ],
		'>', \my $wout, '2>', \my $werr);
}

# (1) subflows killed with ss -K (what a middlebox RST does)
sub fault_subflows_killed
{
	my $pid0 = walreceiver_pid();
	my $since = sql($standby, 'SELECT now()');
	$lab->run('standby', 'ss', '-K', 'src', $lab->addr('standby', 2));
	my $t0 = time();
	ok(degraded_seen($since), 'ss -K: degraded seen') if !full_set();
	streaming_goes_on('ss -K');
	measure('ss -K on path 2', $t0, $pid0, expect_same_pid => $net_admin);
	return;
}

# (2) path black-holed under load until its subflows time out, then back
sub fault_path_blackholed
{
	my $pid0 = walreceiver_pid();
	my $load = heavy_load(25);
	my $since = sql($standby, 'SELECT now()');
	$lab->lab_blackhole(2, 'on');
	ok(degraded_seen($since), 'path 2 black-holed: its subflows died');
	streaming_goes_on('path 2 black-holed');
	sleep(3);
	$lab->lab_blackhole(2, 'off');
	my $t0 = time();
	measure('path 2 dead (black hole), then back', $t0, $pid0, expect_same_pid => $net_admin);
	$load->finish;
	return;
}

# (3) the standby's path-2 address removed under load and added again
sub fault_address_removed
{
	my $pid0 = walreceiver_pid();
	my $dev = $lab->ifname('standby', 2);
	my $S2 = $lab->addr('standby', 2);
	my $load = heavy_load(25);
	my $since = sql($standby, 'SELECT now()');
	$lab->run('standby', 'ip', 'addr', 'del', "$S2/24", 'dev', $dev);
	ok(degraded_seen($since), 'address removed: degraded');
	streaming_goes_on('address removed');
	$lab->run('standby', 'ip', 'addr', 'add', "$S2/24", 'dev', $dev);
	$lab->run('standby', 'ip', 'route', 'replace', 'default', 'dev', $dev, 'table', '102');
	my $t0 = time();
	measure('address removed and re-added', $t0, $pid0, expect_same_pid => $net_admin);
	$load->finish;
	return;
}

# (4) every path down, then up: the connection dies; nothing is lost
sub fault_all_paths_down
{
	my $pid0 = walreceiver_pid();
	link_set(1, 'down');
	link_set(2, 'down');
	sleep(8);
	link_set(1, 'up');
	link_set(2, 'up');
	my $t0 = time();
	measure('all paths down 8 s, then up', $t0, $pid0);
	return;
}

# (5) an endpoint added at run time reaches the live connection
sub fault_endpoint_added
{
	my $S2 = $lab->addr('standby', 2);
	my $dev = $lab->ifname('standby', 2);
	set_repair('off');
	my $pid0 = walreceiver_pid();
	my $eps = $lab->run('standby', 'ip', 'mptcp', 'endpoint', 'show');
	my ($id) = $eps =~ /^\Q$S2\E id (\d+)/m;
	$lab->run('standby', 'ip', 'mptcp', 'endpoint', 'del', 'id', $id);
	ok(WalmptcpLab::wait_for(sub { subflows($standby, 'walreceiver') < 3 }, 30), 'endpoint removed: fewer subflows');
	set_repair('auto');
	# no id: the kernel may hold the old one for an implicit endpoint
	$lab->run('standby', 'ip', 'mptcp', 'endpoint', 'add', $S2, 'dev', $dev, 'subflow');
	my $t0 = time();
	measure('endpoint added at run time', $t0, $pid0, expect_same_pid => $net_admin);
	return;
}

# (6) primary restart, then standby restart
sub fault_restarts
{
	$primary->restart;
	my $t0 = time();
	measure('primary restart', $t0, 0);
	$standby->restart;
	$t0 = time();
	measure('standby restart', $t0, 0);
	my $writer = IPC::Run::start([ $primary->installed_command('psql'), '-X', '-q',
		'-h', $primary->host, '-p', $port, '-d', 'postgres', '-c',
		q{DO $$ BEGIN FOR i IN 1..40 LOOP INSERT INTO t (pad) VALUES ('after restart'); COMMIT; PERFORM pg_sleep(0.05); END LOOP; END $$} ],
		'>', \my $wout, '2>', \my $werr);
	$writer->finish;
	return;
}

# repair = off leaves things alone, and says what it sees
sub check_repair_off
{
	my $S2 = $lab->addr('standby', 2);
	set_repair('off');
	$lab->run('standby', 'ss', '-K', 'src', $S2);
	sleep(5);
	cmp_ok(subflows($standby, 'walreceiver'), '<', 3, 'repair = off: the connection stays degraded');
	is(sql($standby, q{SELECT count(*) FROM walmptcp_events() WHERE event IN ('repair', 'reconnect') AND event_time > now() - interval '5 s'}),
		'0', 'repair = off: no repair attempted');
	set_repair('auto');
	ok(WalmptcpLab::wait_for(\&full_set, 90), 'repair = auto again: full set');
	return;
}

# Events recorded, and no row lost.
sub check_events_and_rows
{
	my $events;
	WalmptcpLab::wait_for(sub {
		$events = sql($standby, q{SELECT string_agg(DISTINCT event, ',' ORDER BY event) FROM walmptcp_events()});
		return $events =~ /repaired/;
	}, 20);
	like($events, qr/subflow_lost/, "events recorded: $events");
	like($events, qr/degraded/, 'degraded events recorded');
	like($events, qr/repaired/, 'repaired events recorded');
	like($events, $net_admin ? qr/\brepair\b/ : qr/reconnect/, 'repair actions recorded');
	ok($standby->log_contains(qr/walmptcp: degraded of walreceiver/), 'degradation logged');

	$primary->wait_for_catchup($standby);
	my $sum = 'SELECT count(*), sum(hashtext(pad)::numeric + id) FROM t';
	my $p = sql($primary, $sum);
	is(sql($standby, $sum), $p, "no row lost: primary and standby agree ($p)");
	is(sql($standby, 'SELECT count(*) FROM marks'), sql($primary, 'SELECT count(*) FROM marks'), 'markers agree');
	return;
}

# Repairs delete and re-add endpoints: none may be lost on the way.
sub check_endpoints_kept
{
	my $S2 = $lab->addr('standby', 2);
	like($lab->run('standby', 'ip', 'mptcp', 'endpoint', 'show'),
		qr/^\Q$S2\E id \d+ subflow dev /m, 'standby still has its subflow endpoint');
	my $P2 = $lab->addr('primary', 2);
	like($lab->run('primary', 'ip', 'mptcp', 'endpoint', 'show'),
		qr/^\Q$P2\E id \d+ signal dev /m, 'primary still has its signal endpoint');
	return;
}

# A stopped helper (SIGSTOP) must not hang the supervisor, and so not a
# fast shutdown: the supervisor asks it with a bounded wait.
sub check_stopped_helper
{
	return if !$net_admin;
	my $S2 = $lab->addr('standby', 2);
	my @helpers = (helper_pid($primary), helper_pid($standby));
	kill 'STOP', @helpers;
	$lab->run('standby', 'ss', '-K', 'src', $S2);
	sleep(4);    # the supervisor is degraded and calls the helper
	my $stopped = $standby->stop('fast', fail_ok => 1);
	kill 'CONT', @helpers;
	ok($stopped, 'a stopped endpoint helper does not hold up a fast shutdown');
	$standby->start;
	ok(WalmptcpLab::wait_for(\&full_set, 90), 'helper running again: full set after the restart');
	return;
}

sub run
{
	my (%opts) = @_;
	$net_admin = $opts{net_admin};
	$variant = $net_admin ? 'CAP_NET_ADMIN' : 'unprivileged';

	my $rounds = $ENV{WALMPTCP_REPAIR_ROUNDS} // 1;
	die "WALMPTCP_REPAIR_ROUNDS must be a whole number from 1 to 20, not '$rounds'"
	  if $rounds !~ /^[1-9][0-9]?$/ || $rounds > 20;

	setup();
	check_least_privilege();
	for my $r (1 .. $rounds)
	{
		$round = $r;    # measure() reads it (a foreach alias would hide it)
		note "round $round of $rounds" if $rounds > 1;
		# as after setup: the restarts' new connections are past the
		# supervisor's settling time (2 s) before the next fault
		sleep(3) if $r > 1;
		my $writer = start_writer();
		fault_subflows_killed();
		fault_path_blackholed();
		fault_address_removed();
		fault_all_paths_down();
		fault_endpoint_added();
		fault_restarts();    # the writer's session ends with the primary restart
	}
	check_repair_off();
	check_events_and_rows();
	check_endpoints_kept();
	check_stopped_helper();

	diag "\n$variant: fault | time from restore to full subflow set | walreceiver restarted";
	diag sprintf('%-32s | %5.1f s | %s', @$_) for @results;
	return;
}

1;
