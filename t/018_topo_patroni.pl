# Topology 9: a Patroni-managed pair.  One etcd and two Patroni nodes, one
# per lab host, each running a PostgreSQL with walmptcp preloaded and
# walmptcp.default_mode = prefer: Patroni writes primary_conninfo itself,
# without the mptcp keyword.  Replication is MPTCP with every subflow in the
# first direction, after a switchover (patronictl) and after a failover (the
# leader's Patroni and PostgreSQL killed, the old node back as a replica);
# no walmptcp ERROR/FATAL in any server log; a table written before and
# through the switches is equal on both nodes.
#
# Copyright (c) 2026, the walmptcp authors
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use WalmptcpLab;
use Topology;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;
use Time::HiRes qw(time);

my $patroni = '/usr/bin/patroni';
my $patronictl = '/usr/bin/patronictl';
my $etcd = '/usr/bin/etcd';
plan skip_all => 'patroni not installed' unless -x $patroni && -x $patronictl;
plan skip_all => 'etcd-server not installed' unless -x $etcd;
plan skip_all => 'python3-etcd not installed'
  unless system('/usr/bin/python3', '-c', 'import etcd') == 0;

my $t0 = time();
# The shared invariant checks (t/Topology.pm): SQL-vs-kernel subflows by
# token, the server log scan, table checksums.  Topology brings up the lab.
my $t = Topology->new('patroni', paths => 2, rate => 50, endpoint_flags => 'both');
my $lab = $t->lab;
my $bindir = `pg_config --bindir`;
chomp $bindir;
my $log_path = $PostgreSQL::Test::Utils::log_path;

# Processes this test starts (IPC::Run harnesses) and data directories whose
# postmaster must not outlive it, also when it dies.
my %bg;
my @datadirs;
my $writer;

sub kill_bg
{
	my ($key) = @_;
	my $h = delete $bg{$key} or return;
	eval { $h->signal('KILL') };
	eval { $h->finish };
}

sub stop_postmaster
{
	my ($datadir) = @_;
	return unless -f "$datadir/postmaster.pid";
	system("$bindir/pg_ctl", '-D', $datadir, '-m', 'immediate', '-w', 'stop');
}

END
{
	my $rc = $?;
	eval { $writer->kill_kill; $writer->finish } if $writer;
	kill_bg($_) for grep { /^patroni/ } keys %bg;
	stop_postmaster($_) for @datadirs;
	kill_bg($_) for keys %bg;
	$? = $rc;
}

# Host of each Patroni member and its address on path 1 (its Patroni REST
# API, its PostgreSQL's connect_address and the etcd it reaches).
my %host = (node1 => 'primary', node2 => 'standby');
my %addr = map { $_ => $lab->addr($host{$_}, 1) } keys %host;
my %addr2 = map { $_ => $lab->addr($host{$_}, 2) } keys %host;
my $etcd_addr = $addr{node1};
my $etcd_port = PostgreSQL::Test::Cluster::get_free_port();
my $etcd_peer = PostgreSQL::Test::Cluster::get_free_port();
my $scope = 'pg-' . $lab->name;

# Servers run without capabilities and with a clean environment.
sub unprivileged
{
	my (@cmd) = @_;
	return ('setpriv', '--inh-caps=-all', '--ambient-caps=-all', '--',
		'env', '-i', 'PATH=/usr/bin:/bin', 'LANG=C.UTF-8', "HOME=$PostgreSQL::Test::Utils::tmp_check",
		@cmd);
}

# etcd: a single member in the primary's namespace, on its path-1 address.
my $etcd_dir = PostgreSQL::Test::Utils::tempdir('etcd');
my $etcd_log = "$log_path/018_topo_patroni_etcd.log";
$bg{etcd} = $lab->start_bg('primary', [ unprivileged($etcd,
	'--name', 'e1', '--data-dir', "$etcd_dir/data",
	'--listen-client-urls', "http://$etcd_addr:$etcd_port",
	'--advertise-client-urls', "http://$etcd_addr:$etcd_port",
	'--listen-peer-urls', "http://$etcd_addr:$etcd_peer",
	'--initial-advertise-peer-urls', "http://$etcd_addr:$etcd_peer",
	'--initial-cluster', "e1=http://$etcd_addr:$etcd_peer",
	'--initial-cluster-state', 'new') ], $etcd_log);
sub slurp_log { my ($f) = @_; return -f $f ? PostgreSQL::Test::Utils::slurp_file($f) : '' }
ok(WalmptcpLab::wait_for(sub { slurp_log($etcd_log) =~ /ready to serve client requests/ }, 30),
	'etcd is up') or BAIL_OUT('etcd did not start: ' . slurp_log($etcd_log));

# Patroni nodes.  The Cluster objects are handles only (psql, port, socket
# directory, data directory, log file): Patroni starts and stops PostgreSQL.
# PostgreSQL listens on both lab addresses of its host: the MP_JOIN towards
# the path-2 address a leader announces (ADD_ADDR) needs a listener there,
# else the kernel answers it with a RST and the connection has one subflow
# less.  Patroni's own connections: superuser over the Unix socket, the
# timeline check over a replication connection to localhost.
my %node;
my %cfg;
for my $name (sort keys %host)
{
	my $node = PostgreSQL::Test::Cluster->new($name, own_host => 1);
	$node{$name} = $node;
	$t->add_node($node, $host{$name});
	push @datadirs, $node->data_dir;
	my $dir = PostgreSQL::Test::Utils::tempdir("patroni_$name");
	my $rest = PostgreSQL::Test::Cluster::get_free_port();
	my ($a, $a2, $port, $sock) = ($addr{$name}, $addr2{$name}, $node->port, $node->host);
	my $logfile = basename($node->logfile);
	$cfg{$name} = "$dir/patroni.yml";
	PostgreSQL::Test::Utils::append_to_file($cfg{$name}, <<"EOF");
scope: $scope
name: $name
restapi:
  listen: $a:$rest
  connect_address: $a:$rest
etcd3:
  hosts: $etcd_addr:$etcd_port
bootstrap:
  dcs:
    ttl: 12
    loop_wait: 1
    retry_timeout: 4
    maximum_lag_on_failover: 16777216
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_level: replica
        hot_standby: 'on'
        wal_log_hints: 'on'
        max_wal_senders: 10
        max_replication_slots: 10
        wal_keep_size: 256MB
  initdb:
  - encoding: UTF8
  - locale: C
postgresql:
  listen: $a,$a2,127.0.0.1:$port
  connect_address: $a:$port
  data_dir: ${\ $node->data_dir }
  bin_dir: $bindir
  pgpass: $dir/pgpass
  basebackup:
  - checkpoint: fast
  use_unix_socket: true
  authentication:
    superuser:
      username: postgres
      password: super-secret
    replication:
      username: replicator
      password: repl-secret
    rewind:
      username: postgres
      password: super-secret
  parameters:
    unix_socket_directories: '$sock'
    shared_preload_libraries: walmptcp
    walmptcp.default_mode: prefer
    logging_collector: 'on'
    log_directory: '$log_path'
    log_filename: '$logfile'
    log_truncate_on_rotation: 'off'
    log_rotation_age: 0
    log_rotation_size: 0
    log_line_prefix: '%m [%p] %q%a '
    log_connections: 'on'
  pg_hba:
  - local all all trust
  - local replication all trust
  - host all all 10.77.0.0/16 trust
  - host replication all 10.77.0.0/16 trust
  - host all all 127.0.0.1/32 trust
  - host replication all 127.0.0.1/32 trust
  - host all all ::1/128 trust
  - host replication all ::1/128 trust
tags:
  nofailover: false
  noloadbalance: false
EOF
}

sub basename { my ($p) = @_; $p =~ s{.*/}{}; return $p }

my %incarnation;
sub start_patroni
{
	my ($name) = @_;
	my $n = ++$incarnation{$name};
	$bg{"patroni_$name"} = $lab->start_bg($host{$name},
		[ unprivileged($patroni, $cfg{$name}) ],
		"$log_path/018_topo_patroni_patroni_${name}_$n.log");
}

# patronictl in the primary's namespace (etcd lives there).
sub ctl
{
	my (@args) = @_;
	my $out;
	my $ok = eval { $out = $lab->run('primary', unprivileged($patronictl, '-c', $cfg{node1}, @args)); 1 };
	note "patronictl @args: $@" unless $ok || $args[0] eq 'list';
	return $ok ? $out : undef;
}

sub members
{
	my $out = ctl('list', '-f', 'json', $scope) // return {};
	my $list = eval { decode_json($out) } // return {};
	return { map { $_->{Member} => $_ } @$list };
}

sub sql
{
	my ($name, $query) = @_;
	# a server that is down: psql exits before reading its input
	local $SIG{PIPE} = 'IGNORE';
	my ($ok, $out) = Topology::try_sql($node{$name}, $query);
	return $ok ? $out : undef;
}

# $leader is the leader and $replica streams from it (Patroni's and
# PostgreSQL's view).
sub roles_are
{
	my ($leader, $replica) = @_;
	my $m = members();
	return 0 unless ($m->{$leader}{Role} // '') eq 'Leader'
	  && ($m->{$leader}{State} // '') eq 'running'
	  && ($m->{$replica}{Role} // '') eq 'Replica';
	return (sql($leader, 'SELECT pg_is_in_recovery()') // '') eq 'f'
	  && (sql($replica, "SELECT status FROM pg_stat_wal_receiver") // '') eq 'streaming';
}

# What the checks of Topology.pm do not cover: walmptcp's row of the
# connection (one per side, MPTCP, its subflows column, whom it streams from)
# against the kernel's subflows of its token (ss -tni) and ss -Mni's count
# for the same token.  The walsender row is the one of the other member:
# Patroni's own replication connection to 127.0.0.1 is a walsender too (plain
# TCP, so Topology, which looks at MPTCP connections only, never sees it).
sub side_state
{
	my ($name, $role, $peer) = @_;
	my $filter = $role eq 'walsender' ? "AND application_name = '$peer'" : '';
	my $row = sql($name, qq{
		SELECT pid, token, subflows, mptcp, host(remote_addr) FROM walmptcp_connections()
		 WHERE role = '$role' $filter}) // '';
	my @rows = grep { length } split /\n/, $row;
	return { rows => scalar @rows } unless @rows == 1;
	my ($pid, $token, $n, $mptcp, $remote) = split /\|/, $rows[0];
	my %s = (rows => 1, pid => $pid, token => $token, subflows => $n, mptcp => $mptcp,
		remote => $remote);
	return \%s unless $mptcp eq 't' && length $token;
	my $k = $t->kernel_subflows($host{$name})->{$token} // [];
	$s{kernel_n} = scalar @$k;
	$s{established} = scalar(grep { $_->{state} eq 'ESTAB' } @$k);
	$s{kernel} = join(', ', sort map { $_->{tuple} } @$k);
	# the leader's end of each subflow
	my $leader_end = $role eq 'walsender' ? 0 : 1;
	$s{leader_addrs} = { map { (split /:/, (split / /, $_->{tuple})[$leader_end])[0] => 1 }
		  grep { $_->{state} eq 'ESTAB' } @$k };
	# ss -Mni: one info line per connection, subflows:N counts the
	# subflows besides the initial one (absent when there are none)
	my ($info) = grep { ($_->{token} // '') eq $token }
	  WalmptcpLab::parse_ss($lab->run($host{$name}, 'ss', '-HMni', 'state', 'established'));
	$s{mni} = !defined $info ? 0 : ($info->{subflows} // 0) + 1;
	return \%s;
}

# Replication from $leader to $replica is MPTCP with every subflow, on both
# sides, by walmptcp's account and the kernel's.
sub check_direction
{
	my ($phase, $leader, $replica) = @_;
	$t->expect($node{$leader}, walsender => 1);
	$t->expect($node{$replica}, walreceiver => 1);
	my $start = time();
	$t->wait_ready(timeout => 60);
	my ($r, $s);
	WalmptcpLab::wait_for(sub {
		$r = side_state($replica, 'walreceiver');
		$s = side_state($leader, 'walsender', $replica);
		return (grep {
			$_->{rows} == 1 && $_->{mptcp} eq 't' && $_->{established} >= 2
			  && $_->{leader_addrs}{ $addr2{$leader} }
			  && $_->{established} == $_->{kernel_n}
			  && $_->{subflows} == $_->{kernel_n} && $_->{mni} == $_->{kernel_n}
		} $r, $s) == 2 && $r->{kernel_n} == $s->{kernel_n};
	}, 30);
	note sprintf("%s: %.1f s until every subflow was up", $phase, time() - $start);
	# (b) of Topology.pm: walmptcp_subflows() rows = the kernel's subflows
	# of each MPTCP connection's token, on both nodes
	$t->sample($phase);
	for my $x ([ $replica, 'walreceiver', $r ], [ $leader, 'walsender', $s ])
	{
		my ($name, $role, $st) = @$x;
		my $h = $host{$name};
		is($st->{rows}, 1, "$phase: $name ($h) has one $role connection");
		is($st->{mptcp}, 't', "$phase: $name $role connection is MPTCP");
		cmp_ok($st->{established} // 0, '>=', 2, "$phase: $name $role: kernel shows at least 2 established subflows");
		ok($st->{leader_addrs}{ $addr2{$leader} },
			"$phase: $name $role: a subflow to the address $leader announces ($addr2{$leader})");
		note "$phase: $name $role (token $st->{token}) subflows: $st->{kernel}";
		is($st->{subflows}, $st->{kernel_n}, "$phase: $name walmptcp_connections().subflows equals the kernel's count");
		is($st->{mni}, $st->{kernel_n}, "$phase: $name ss -Mni shows the connection with the same subflow count");
	}
	is($r->{remote}, $addr{$leader}, "$phase: $replica streams from $leader at $addr{$leader}");
	return ($r->{kernel_n} // 0, $s->{kernel_n} // 0);
}

# (a) of Topology.pm, in every server log so far.
sub check_logs
{
	my ($phase) = @_;
	for my $name (sort keys %node)
	{
		my @bad = Topology::bad_log_lines($node{$name}->logfile);
		is(scalar @bad, 0, "$phase: ${name}'s server log has no ERROR or FATAL message about walmptcp")
		  or diag join("\n", @bad);
	}
}

my %counts;

# 1. node1 bootstraps the cluster and leads; node2 joins as a replica
# (Patroni's pg_basebackup over plain TCP to the MPTCP listener).
start_patroni('node1');
ok(WalmptcpLab::wait_for(sub {
	my $m = members();
	($m->{node1}{Role} // '') eq 'Leader' && ($m->{node1}{State} // '') eq 'running'
	  && (sql('node1', 'SELECT pg_is_in_recovery()') // '') eq 'f';
}, 90), 'node1 bootstraps and leads') or BAIL_OUT('node1 did not bootstrap');
note sprintf('node1 leads after %.1f s', time() - $t0);
sql('node1', q{CREATE EXTENSION walmptcp;
	CREATE TABLE t (id bigserial PRIMARY KEY, phase text, pad text);
	INSERT INTO t (phase, pad) SELECT 'bootstrap', repeat('x', 500) FROM generate_series(1, 5000)})
  // die 'setup on node1 failed';
is(sql('node1', q{SELECT default_mode FROM walmptcp_status()}), 'prefer',
	'node1: walmptcp.default_mode = prefer from the Patroni configuration');

start_patroni('node2');
ok(WalmptcpLab::wait_for(sub { roles_are('node1', 'node2') }, 90),
	'node2 joins as a streaming replica of node1')
  or BAIL_OUT('node2 did not join');
note sprintf('node2 streams after %.1f s', time() - $t0);
like(sql('node2', 'SELECT conninfo FROM pg_stat_wal_receiver') // '', qr/host=\Q$addr{node1}\E/,
	'node2: Patroni wrote primary_conninfo pointing at node1');
unlike(sql('node2', q{SELECT setting FROM pg_settings WHERE name = 'primary_conninfo'}) // '',
	qr/\bmptcp\s*=/, 'node2: primary_conninfo has no mptcp keyword');

my $kernel_ss = $lab->run('standby', 'ss', '-HMni', 'state', 'established');
note "ss -Mni in the standby namespace:\n$kernel_ss";
@counts{qw(initial_replica initial_leader)} = check_direction('initial', 'node1', 'node2');
check_logs('initial');

# A writer through every switch: one row every 50 ms to whichever node
# accepts writes (multi-host libpq, target_session_attrs=read-write).  It
# runs outside the lab's namespaces, so it stops by itself when this test is
# gone (killed before its END block ran) or after 10 minutes.
my $wconn = sprintf('host=%s,%s port=%d,%d dbname=postgres target_session_attrs=read-write connect_timeout=2',
	$node{node1}->host, $node{node2}->host, $node{node1}->port, $node{node2}->port);
my $writer_log = "$log_path/018_topo_patroni_writer.log";
$writer = IPC::Run::start([ 'bash', '-c', qq{
	i=0
	while kill -0 $$ 2>/dev/null && [ \$SECONDS -lt 600 ]; do
		i=\$((i + 1))
		$bindir/psql -X -q -d "$wconn" -c "INSERT INTO t (phase, pad) VALUES ('writer', 'w\$i')" || true
		sleep 0.05
	done } ], '>', $writer_log, '2>&1');

# 2. Switchover to node2.
sql('node1', q{INSERT INTO t (phase, pad) SELECT 'before switchover', repeat('s', 500) FROM generate_series(1, 2000)});
my $ts = time();
my $out = ctl('switchover', '--leader', 'node1', '--candidate', 'node2', '--force', $scope);
ok(defined $out, 'patronictl switchover succeeds') and note $out;
ok(WalmptcpLab::wait_for(sub { roles_are('node2', 'node1') }, 90),
	'after the switchover node2 leads and node1 streams from it');
note sprintf('switchover: node1 streams from node2 %.1f s after patronictl', time() - $ts);
sql('node2', q{INSERT INTO t (phase, pad) SELECT 'after switchover', repeat('a', 500) FROM generate_series(1, 2000)});
@counts{qw(switchover_replica switchover_leader)} = check_direction('after switchover', 'node2', 'node1');
check_logs('after switchover');

# 3. Failover: node2's Patroni and PostgreSQL die (SIGKILL, then an
# immediate stop: nothing is shut down cleanly); node1 is promoted once the
# leader key expires.  Then node2 comes back and rejoins as a replica.
sql('node2', q{INSERT INTO t (phase, pad) SELECT 'before failover', repeat('f', 500) FROM generate_series(1, 2000)});
$node{node2}->wait_for_catchup('node1');
my $tf = time();
kill_bg('patroni_node2');
stop_postmaster($node{node2}->data_dir);
ok(WalmptcpLab::wait_for(sub {
	(sql('node1', 'SELECT pg_is_in_recovery()') // '') eq 'f'
	  && (members()->{node1}{Role} // '') eq 'Leader';
}, 90), 'failover: node1 is promoted');
note sprintf('failover: node1 promoted %.1f s after the kill', time() - $tf);
sql('node1', q{INSERT INTO t (phase, pad) SELECT 'after failover', repeat('b', 500) FROM generate_series(1, 2000)});
$tf = time();
start_patroni('node2');
ok(WalmptcpLab::wait_for(sub { roles_are('node1', 'node2') }, 120),
	'node2 rejoins as a replica of node1');
note sprintf('failover: node2 streams again %.1f s after its restart', time() - $tf);
@counts{qw(failover_replica failover_leader)} = check_direction('after failover', 'node1', 'node2');

# The table: everything written before and through the switches is equal on
# both nodes.
$writer->kill_kill;
$writer->finish;
undef $writer;
sql('node1', q{INSERT INTO t (phase, pad) VALUES ('final', 'end')});
$node{node1}->wait_for_catchup('node2');
my @sums = $t->checksums([ 't', map { [ $node{$_}, 'postgres' ] } qw(node1 node2) ]);
note 'count and checksum of t: ' . join(', ', map { "$_->[0] $_->[1]" } @sums);
ok($sums[0][1] !~ /^error/ && $sums[0][1] eq $sums[1][1], 'table t: same count and checksum on both nodes');
my $writes = sql('node1', q{SELECT count(*) FROM t WHERE phase = 'writer'});
cmp_ok($writes, '>', 10, "the writer's rows survived the switches ($writes rows)");
my $tl = sql('node1', 'SELECT timeline_id FROM pg_control_checkpoint()');
cmp_ok($tl, '>=', 3, "timeline $tl after a switchover and a failover");

# Stop Patroni cleanly (it stops PostgreSQL with a fast shutdown): the
# servers' shutdown messages are part of the log check.
for my $name (qw(node2 node1))
{
	$bg{"patroni_$name"}->signal('TERM');
	ok(WalmptcpLab::wait_for(sub { !-f $node{$name}->data_dir . '/postmaster.pid' }, 60),
		"$name: Patroni stops its PostgreSQL");
	kill_bg("patroni_$name");
}
check_logs('after the final shutdown');

note sprintf('subflows (replica/leader side): initial %d/%d, after switchover %d/%d, after failover %d/%d',
	map { $counts{$_} } qw(initial_replica initial_leader switchover_replica switchover_leader
	  failover_replica failover_leader));
note sprintf('runtime %.1f s', time() - $t0);

done_testing();
