# The monitoring files in monitoring/ with the real exporters: Debian's
# prometheus-postgres-exporter loads monitoring/postgres_exporter-queries.yaml
# (--extend.query-path) and scrapes a lab primary and its standby (2 paths,
# mptcp=1, 3 subflows) as a pg_monitor role.  /metrics must show, per
# replication connection, the subflow count of walmptcp_connections() and
# the rows of walmptcp_subflows(pid), before and after the standby's
# second-path subflows are killed (ss -K) and repaired by the supervisor,
# and the supervisor's events; prometheus-sql-exporter, when installed, must
# show the same count with monitoring/sql_exporter-collector.yaml.  Skipped
# when the exporter is not installed (test/install-deps installs it where the
# distribution has it).
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
use HTTP::Tiny;
use IPC::Run;

my $EXPORTER = '/usr/bin/prometheus-postgres-exporter';
my $SQL_EXPORTER = '/usr/bin/prometheus-sql-exporter';
my $QUERIES = "$FindBin::Bin/../monitoring/postgres_exporter-queries.yaml";
my $COLLECTOR = "$FindBin::Bin/../monitoring/sql_exporter-collector.yaml";

plan skip_all => "$EXPORTER is not installed" unless -x $EXPORTER;
my $exporter_help = '';
IPC::Run::run([ $EXPORTER, '--help' ], '>', \$exporter_help, '2>&1');
plan skip_all => "$EXPORTER has no --extend.query-path"
  unless $exporter_help =~ /--extend\.query-path/;
# Built-in collectors the test does not need, turned off where this version
# has them: their names change between releases (0.11's bgwriter is
# stat_bgwriter later), and a flag the exporter does not know stops it at
# start ("unknown long flag"), which is what sid's exporter did with 0.11's
# names.
my @no_collectors = map { "--no-collector.$_" }
  grep { $exporter_help =~ /--(?:\[no-\])?collector\.\Q$_\E\s/ }
  qw(database bgwriter stat_bgwriter stat_database locks replication replication_slot wal);

my @exporters;
END
{
	my $rc = $?;
	for my $h (@exporters)
	{
		eval { $h->kill_kill(grace => 2) if $h->pumpable; 1 };
	}
	$? = $rc;
}

my $lab = WalmptcpLab->new(paths => 2, rate => 50);
my $P1 = $lab->addr('primary', 1);
my $S2 = $lab->addr('standby', 2);
# subflows killed by ss -K are noticed at once
$lab->run($_, 'sysctl', '-qw', 'net.ipv4.tcp_retries2=3') for 'primary', 'standby';
# CAP_NET_ADMIN: the supervisor repairs in place (endpoint re-added), so the
# walreceiver, and the pid label, stay the same
my %caps = (keep_net_admin => 1);
my $conf = "walmptcp.check_interval = 500ms\nwal_retrieve_retry_interval = 1s";

my $primary = $lab->make_primary(conf => $conf, %caps);
my $port = $primary->port;
$primary->safe_psql('postgres', 'CREATE EXTENSION walmptcp');
# the role the README tells DBAs to give the exporter
$primary->safe_psql('postgres', 'CREATE ROLE prometheus LOGIN IN ROLE pg_monitor');
$primary->safe_psql('postgres', 'CREATE TABLE t (id int, pad text)');
my $standby = $lab->make_standby($primary, name => 'sby1', conf => $conf, %caps,
	conninfo => "host=$P1 port=$port mptcp=1 application_name=sby1");
$primary->wait_for_catchup($standby);

my %node = (primary => $primary, standby => $standby);
my %role = (primary => 'walsender', standby => 'walreceiver');

ok(WalmptcpLab::wait_for(sub {
	sql($node{standby}, "SELECT subflows >= 3 FROM walmptcp_connections() WHERE role = 'walreceiver'") eq 't'
	  && sql($node{primary}, "SELECT subflows >= 3 FROM walmptcp_connections() WHERE role = 'walsender'") eq 't';
}, 60), 'the replication connection reaches its full subflow set (3) on both nodes');

# ---- the exporters -----------------------------------------------------------
my $http = HTTP::Tiny->new(timeout => 10);
my (%url, %exporter_log);
# the exporter's version in prove's output: the series are checked on more
# than one (Debian 12 ships 0.11, sid 0.19)
diag 'exporter: ' . (split /\n/, `$EXPORTER --version 2>&1`)[0];
for my $host ('primary', 'standby')
{
	my $node = $node{$host};
	my $listen = '127.0.0.1:' . PostgreSQL::Test::Cluster::get_free_port();
	my $log = $exporter_log{$host} = $PostgreSQL::Test::Utils::log_path . "/exporter_$host.log";
	local $ENV{DATA_SOURCE_NAME} = 'host=' . $node->host . ' port=' . $node->port
	  . ' user=prometheus dbname=postgres sslmode=disable';
	push @exporters, IPC::Run::start([ $EXPORTER, "--web.listen-address=$listen",
			"--extend.query-path=$QUERIES", '--disable-default-metrics',
			'--disable-settings-metrics', @no_collectors, '--log.level=info' ],
		'<', \undef, '>', $log, '2>&1');
	$url{$host} = "http://$listen/metrics";
	note "$host: exporter on $url{$host}, log $log";
}

# /metrics parsed: { name => [ { labels => {..}, value => v }, ... ] }
sub scrape
{
	my ($host) = @_;
	my $r = $http->get($url{$host});
	return undef unless $r->{success};
	my %m;
	for my $line (split /\n/, $r->{content})
	{
		next if $line =~ /^#/;
		next unless $line =~ /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/;
		my ($name, $labels, $value) = ($1, $2 // '', $3);
		my %l;
		$l{$1} = $2 while $labels =~ /(\w+)="((?:[^"\\]|\\.)*)"/g;
		push @{ $m{$name} }, { labels => \%l, value => $value, line => $line };
	}
	return \%m;
}

# The series of $name whose labels include all of %want.
sub series
{
	my ($m, $name, %want) = @_;
	return grep {
		my $s = $_;
		!grep { ($s->{labels}{$_} // '') ne $want{$_} } keys %want
	} @{ $m->{$name} // [] };
}

sub value
{
	my ($m, $name, %want) = @_;
	my @s = series($m, $name, %want);
	return @s == 1 ? $s[0]->{value} : undef;
}

for my $host ('primary', 'standby')
{
	my $m;
	ok(WalmptcpLab::wait_for(sub { $m = scrape($host); $m && ($m->{pg_up}[0]{value} // 0) == 1 }, 30),
		"$host: the exporter answers and reaches the server (pg_up 1)");
	is($m->{pg_exporter_user_queries_load_error}[0]{value}, '0',
		"$host: the query file loads (pg_exporter_user_queries_load_error 0)");
}

# When /metrics and SQL disagree, what each side saw, in the regress log:
# the rows as the test's superuser, the file's queries as the exporter's
# role, the HTTP answer and raw series, and the exporter's own log (a query
# the exporter could not run is logged there, at level info).  Never dies:
# it must not hide the failure it is about.
sub show_state
{
	my ($host, $what) = @_;
	eval {
		note "$host $what: walmptcp_connections() as the test's superuser:\n"
		  . sql($host, "SELECT pid, role, application_name, subflows, connected_at FROM walmptcp_connections()");
		note "$host $what: walmptcp_events():\n"
		  . sql($host, "SELECT event_time, pid, role, event, detail FROM walmptcp_events() ORDER BY event_time");
		my $file = PostgreSQL::Test::Utils::slurp_file($QUERIES);
		for my $ns ('walmptcp_connection', 'walmptcp_connection_events')
		{
			my ($q) = $file =~ /^\Q$ns\E:\n  query: \|\n(.*?)^  metrics:/ms;
			my ($out, $err) = ('', '');
			$node{$host}->psql('postgres', "SET ROLE prometheus;\n$q", stdout => \$out, stderr => \$err);
			note "$host $what: the file's query $ns as prometheus:\n$out\n$err";
		}
		my $r = $http->get($url{$host});
		note "$host $what: GET /metrics: $r->{status} $r->{reason}; its walmptcp_connection* and pg_* lines:\n"
		  . join("\n", grep { /^(walmptcp_connection|pg_exporter_|pg_up)/ } split /\n/, $r->{content} // '');
		note "$host $what: the exporter's log:\n"
		  . PostgreSQL::Test::Utils::slurp_file($exporter_log{$host});
		1;
	} or note "show_state: $@";
	return;
}

# What SQL says about the node's replication connection, and what /metrics
# says, read until they agree (the two reads are not atomic).
sub compare
{
	my ($host, $what, %opts) = @_;
	my $role = $role{$host};
	my ($pid, $sqlcount, $rows, $paths, $metric, $sumpaths, $npaths, $m);
	my $same = WalmptcpLab::wait_for(sub {
		($pid, $sqlcount) = split /\|/,
		  sql($node{$host}, "SELECT pid, subflows FROM walmptcp_connections() WHERE role = '$role'");
		return 0 unless $pid;
		($rows, $paths) = split /\|/, sql($node{$host},
			"SELECT count(*), count(DISTINCT (local_addr, remote_addr)) FROM walmptcp_subflows($pid)");
		$m = scrape($host) or return 0;
		$metric = value($m, 'walmptcp_connection_subflows', pid => $pid, role => $role);
		my @p = series($m, 'walmptcp_path_subflows', pid => $pid, role => $role);
		$npaths = @p;
		$sumpaths = 0;
		$sumpaths += $_->{value} for @p;
		return defined $metric && $metric == $sqlcount && $metric == $rows
		  && $sumpaths == $rows && $npaths == $paths
		  && (!$opts{subflows} || $metric == $opts{subflows});
	}, 30);
	# shown by prove without -v: the numbers this test is about
	diag "$host $what: SQL subflows=$sqlcount, walmptcp_subflows($pid) rows=$rows on $paths paths; "
	  . "/metrics walmptcp_connection_subflows=" . ($metric // 'none')
	  . ", walmptcp_path_subflows summed=$sumpaths over $npaths series";
	if ($m)
	{
		my @lines = map { $_->{line} } grep { ($_->{labels}{pid} // '') eq $pid }
		  map { @{ $m->{$_} } } sort grep { /^walmptcp_(connection|path)_/ } keys %$m;
		note join("\n", @lines);
		diag join("\n", grep { /^walmptcp_(connection_(subflows|degraded)|path_subflows)/ } @lines)
		  if $host eq 'standby';
	}
	show_state($host, $what) unless $same;
	ok($same, "$host $what: walmptcp_connection_subflows (" . ($metric // 'none')
		  . ") = walmptcp_connections().subflows ($sqlcount) = rows of walmptcp_subflows(pid) ($rows)"
		  . " = walmptcp_path_subflows summed ($sumpaths)");
	# every namespace of the file ran, also those with no rows here
	# (walmptcp_fallback): a failed query sets it to 1 (0.11; where an
	# exporter version lacks it, the counts above are the check)
	my $err = $m && $m->{pg_exporter_last_scrape_error} ? $m->{pg_exporter_last_scrape_error}[0]{value} : '0';
	is($err, '0', "$host $what: every query of the file ran (pg_exporter_last_scrape_error 0)");
	return ($pid, $metric, $m);
}

my %pid;
for my $host ('primary', 'standby')
{
	my ($pid, $n, $m) = compare($host, 'at start');
	$pid{$host} = $pid;
	my %l = (pid => $pid, role => $role{$host});
	is(value($m, 'walmptcp_connection_mptcp', %l), '1', "$host: walmptcp_connection_mptcp 1");
	is(value($m, 'walmptcp_connection_subflows_expected', %l), $n,
		"$host: walmptcp_connection_subflows_expected = subflows while the supervisor saw no degradation");
	is(value($m, 'walmptcp_connection_degraded', %l), '0', "$host: walmptcp_connection_degraded 0");
	is(scalar(series($m, 'walmptcp_fallback_info')), 0, "$host: no walmptcp_fallback_info series");
	is(scalar(series($m, 'walmptcp_connection_subflows', role => $role{$host}, application_name => 'sby1')), 1,
		"$host: the connection's application_name label is sby1");
	my @paths = series($m, 'walmptcp_path_subflows', %l);
	ok(!grep({ $_->{labels}{local_addr} eq '' || $_->{labels}{remote_addr} eq '' } @paths),
		"$host: path series carry local_addr and remote_addr (pg_monitor sees them)");
	cmp_ok((value($m, 'walmptcp_connection_bytes_sent', %l) // 0)
		  + (value($m, 'walmptcp_connection_bytes_received', %l) // 0), '>', 0,
		"$host: connection byte counters exported");
}
my $full = sql($node{standby}, "SELECT subflows FROM walmptcp_connections() WHERE role = 'walreceiver'");

# ---- a subflow killed and repaired ------------------------------------------
# walmptcp_events_events of the given kinds summed over both nodes' /metrics
sub events
{
	my (@kinds) = @_;
	my $n = 0;
	for my $host ('primary', 'standby')
	{
		my $m = scrape($host) or return undef;
		for my $kind (@kinds)
		{
			$n += $_->{value} for series($m, 'walmptcp_events_events', event => $kind);
		}
	}
	return $n;
}

my $lost0 = events(qw(subflow_lost degraded));
my $repaired0 = events('repaired');
diag "before ss -K: subflow_lost+degraded events $lost0, repaired $repaired0";
$lab->run('standby', 'ss', '-K', 'src', $S2);
my ($dropped, $lost) = (0, $lost0);
ok(WalmptcpLab::wait_for(sub {
	my $m = scrape('standby') or return 0;
	my $n = value($m, 'walmptcp_connection_subflows', pid => $pid{standby}, role => 'walreceiver');
	$dropped = $n if defined $n && $n < $full && !$dropped;
	$lost = events(qw(subflow_lost degraded)) // $lost;
	return $lost > $lost0;
}, 30), "after ss -K: walmptcp_events_events{event=~\"subflow_lost|degraded\"} rose ($lost0 -> $lost)");
diag "after ss -K: standby walmptcp_connection_subflows "
  . ($dropped ? "dropped to $dropped" : "not seen below $full (repaired between scrapes)");

my $repaired = $repaired0;
ok(WalmptcpLab::wait_for(sub {
	$repaired = events('repaired') // $repaired;
	return $repaired > $repaired0;
}, 60), "the repair shows in /metrics: walmptcp_events_events{event=\"repaired\"} ($repaired0 -> $repaired)");
diag "walmptcp_events_events summed over both nodes: subflow_lost+degraded $lost0 -> $lost, repaired $repaired0 -> $repaired";
for my $host ('standby', 'primary')
{
	my ($pid, $n, $m) = compare($host, 'after the repair', subflows => $full);
	# in place, or (when the supervisor's rules escalate) by a reconnect,
	# which t/007 is about: here the metrics must follow the current process
	diag "$host: repaired " . ($pid eq $pid{$host} ? 'in place (same process)' : "by a reconnect (pid $pid{$host} -> $pid)");
	$pid{$host} = $pid;
	my %l = (pid => $pid, role => $role{$host});
	next unless $host eq 'standby';
	is(value($m, 'walmptcp_connection_subflows_expected', %l), $full,
		"standby: walmptcp_connection_subflows_expected $full (from the supervisor's events)");
	is(value($m, 'walmptcp_connection_degraded', %l), '0', 'standby: walmptcp_connection_degraded 0 after repaired');
	cmp_ok(scalar(series($m, 'walmptcp_connection_events_events', %l)), '>', 0,
		'standby: per-connection event series exported')
	  or show_state($host, 'after the repair, events');
}

# ---- prometheus-sql-exporter -------------------------------------------------
SKIP:
{
	skip "$SQL_EXPORTER is not installed", 3 unless -x $SQL_EXPORTER;
	my $cfg = PostgreSQL::Test::Utils::slurp_file($COLLECTOR);
	my $dsn = 'postgres://prometheus@/postgres?host=' . $standby->host . '&port='
	  . $standby->port . '&sslmode=disable';
	my $n = ($cfg =~ s{^(\s*-\s*)'postgres://[^']*'}{$1'$dsn'}mg);
	is($n, 1, 'sql_exporter file: one connection URL to point at the standby');
	$cfg =~ s/^(\s*interval:\s*)\S+/${1}1s/m;
	my $file = PostgreSQL::Test::Utils::tempdir() . '/sql_exporter.yaml';
	PostgreSQL::Test::Utils::append_to_file($file, $cfg);
	my $listen = '127.0.0.1:' . PostgreSQL::Test::Cluster::get_free_port();
	my $log = $PostgreSQL::Test::Utils::log_path . '/sql_exporter_standby.log';
	push @exporters, IPC::Run::start([ $SQL_EXPORTER, "-config.file=$file",
			"-web.listen-address=$listen" ], '<', \undef, '>', $log, '2>&1');
	$url{sql} = "http://$listen/metrics";
	my ($got, $sqlcount, @failed);
	my $queries = 0;
	WalmptcpLab::wait_for(sub {
		my $m = scrape('sql') or return 0;
		$sqlcount = sql($node{standby}, "SELECT subflows FROM walmptcp_connections() WHERE role = 'walreceiver'");
		$got = value($m, 'sql_walmptcp_connection', col => 'subflows', pid => $pid{standby},
			role => 'walreceiver');
		$queries = @{ $m->{sql_exporter_last_scrape_failed} // [] };
		@failed = map { $_->{labels}{query} } grep { $_->{value} != 0 }
		  @{ $m->{sql_exporter_last_scrape_failed} // [] };
		return defined $got && $got == $sqlcount && $queries == 6 && !@failed;
	}, 30);
	is("$queries: @failed", '6: ', 'sql_exporter: its 6 queries ran, none failed (sql_exporter_last_scrape_failed 0)');
	diag "sql_exporter: sql_walmptcp_connection{col=\"subflows\"} " . ($got // 'none') . ", SQL $sqlcount";
	is($got, $sqlcount, "sql_exporter: sql_walmptcp_connection{col=\"subflows\"} = walmptcp_connections().subflows ($sqlcount), every query ran");
}

done_testing();
