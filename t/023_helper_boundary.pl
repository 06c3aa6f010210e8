# The endpoint helper's boundary (second review D5): only the supervisor
# registered at server start, and the postmaster, hold the helper's socket,
# and a same-user process cannot take it from them.
#
# - a dynamic background worker with the supervisor's library and function
#   names (registered at run time by test/modules/walmptcp_lookalike, built
#   here with PGXS) does not get the socket;
# - the postmaster and the supervisor are not dumpable (a same-user process,
#   COPY ... FROM PROGRAM here, cannot list their fds, nor ptrace them or use
#   pidfd_getfd), every other child is (backends keep their core dumps);
# - started as the README's drop-in starts it (CAP_NET_ADMIN and CAP_SETPCAP
#   ambient and in the bounding set), no PostgreSQL process keeps either, in
#   any set, the bounding set included.
#
# Copyright (c) 2026, the walmptcp authors
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use WalmptcpLab;
use SupervisorFaults;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use IPC::Run;
use Test::More;
use Time::HiRes qw(sleep);

my $lab = WalmptcpLab->new(paths => 2, rate => 50);
my $primary = $lab->make_primary(keep_net_admin => 1);
$primary->safe_psql('postgres', 'CREATE EXTENSION walmptcp');
my $pm = $primary->{_pid};

sub supervisor_pid { return SupervisorFaults::supervisor_pid($primary); }
ok(WalmptcpLab::wait_for(sub { supervisor_pid() }, 30), 'the supervisor runs');
my $supervisor = supervisor_pid();

sub holders
{
	return join(' ', sort map { /^(\d+)/ } SupervisorFaults::helper_socket_holders($lab, 'primary', $primary));
}
is(holders(), join(' ', sort ($pm, $supervisor)), 'helper socket: held by the postmaster and the supervisor');

# 1. a look-alike dynamic worker
my $moddir = PostgreSQL::Test::Utils::tempdir('lookalike');
system('cp', '-r', "$FindBin::Bin/../test/modules/walmptcp_lookalike/.", $moddir) == 0 or die 'cp';
my ($out, $err);
my $built = IPC::Run::run([ 'make', '-s', '-C', $moddir, 'PG_CONFIG=' . ($ENV{PG_CONFIG} // 'pg_config') ],
	'>', \$out, '2>', \$err);
ok($built, 'look-alike test module built with PGXS') or diag $err;
$primary->safe_psql('postgres',
	"CREATE FUNCTION lookalike_start() RETURNS int AS '$moddir/walmptcp_lookalike.so', 'walmptcp_lookalike_start' LANGUAGE C");
my $lookalike = $primary->safe_psql('postgres', 'SELECT lookalike_start()');
ok($lookalike > 0 && -e "/proc/$lookalike", "look-alike worker (library walmptcp, function walmptcp_supervisor_main) runs: pid $lookalike");
my $holders = holders();
unlike(" $holders ", qr/ $lookalike /, "the look-alike worker does not hold the helper socket (holders: $holders)");
is($holders, join(' ', sort ($pm, $supervisor)), 'helper socket still held by the postmaster and the supervisor only');
is(SupervisorFaults::process_titled($primary, 'walmptcp look-alike'), $lookalike, 'the look-alike is a child of the postmaster');
kill 'TERM', $lookalike;
WalmptcpLab::wait_for(sub { !-e "/proc/$lookalike" }, 10);

# 1b. a third-party worker whose bgw_type is core's apply worker's, making a
# logical replication connection over MPTCP (as a CDC extension does): a
# plain backend to walmptcp, which the supervisor never signals.  (It took
# any bgw_type containing "logical replication" for core's worker.)
my $short = PostgreSQL::Test::Utils::tempdir_short();
system('cp', "$moddir/walmptcp_lookalike.so", "$short/lookalike.so") == 0 or die 'cp';
$primary->safe_psql('postgres',
	"CREATE FUNCTION lookalike_replication_start(text, text) RETURNS int AS '$moddir/walmptcp_lookalike.so', 'walmptcp_lookalike_replication_start' LANGUAGE C");
my $P1 = $lab->addr('primary', 1);
my $reader = $primary->safe_psql('postgres',
	"SELECT lookalike_replication_start('$short/lookalike.so', 'host=$P1 port=" . $primary->port . " dbname=postgres mptcp=1')");
my $role = '';
WalmptcpLab::wait_for(sub {
	$role = $primary->safe_psql('postgres', "SELECT string_agg(role || ' ' || mptcp, ',') FROM walmptcp_connections() WHERE pid = $reader");
	$role ne '';
}, 30);
is($role, 'backend true', "a third-party worker of bgw_type 'logical replication apply worker' (pid $reader): a backend to walmptcp, over MPTCP");
is($primary->safe_psql('postgres', "SELECT count(*) FROM walmptcp_connections() WHERE role = 'apply'"), '0',
	'no connection taken for an apply worker');
kill 'TERM', $reader;
WalmptcpLab::wait_for(sub { !-e "/proc/$reader" }, 10);

# 2. dumpable: the files of a non-dumpable process's /proc directory are root's
sub dumpable { my ($pid) = @_; return (stat("/proc/$pid/stat"))[4] != 0 ? 'dumpable' : 'not dumpable'; }
is(dumpable($pm), 'not dumpable', 'the postmaster is not dumpable');
is(dumpable($supervisor), 'not dumpable', 'the supervisor is not dumpable');
my ($checkpointer) = split /\n/, $primary->safe_psql('postgres',
	q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'});
is(dumpable($checkpointer), 'dumpable', 'other children are dumpable again (core dumps kept): checkpointer');
my $session = $primary->background_psql('postgres');
my $backend = $session->query_safe('SELECT pg_backend_pid()');
$backend =~ s/\s+//g;
is(dumpable($backend), 'dumpable', 'other children are dumpable again: a backend');
$session->quit;
for my $target ([ 'postmaster', $pm ], [ 'supervisor', $supervisor ])
{
	my ($name, $pid) = @$target;
	my $ls = $primary->safe_psql('postgres',
		"CREATE TEMP TABLE ls_$name (l text); COPY ls_$name FROM PROGRAM 'ls /proc/$pid/fd 2>&1; true' WITH (FORMAT text); SELECT string_agg(l, ' ') FROM ls_$name");
	like($ls, qr/Permission denied/, "COPY ... FROM PROGRAM (same user) cannot list the ${name}'s fds: $ls");
}

# 3. capabilities, bounding set included
my %title = SupervisorFaults::cluster_processes($primary);
my @kept;
for my $pid (sort keys %title)
{
	my $status = eval { slurp_file("/proc/$pid/status") } // '';
	for my $set ('CapInh', 'CapPrm', 'CapEff', 'CapAmb', 'CapBnd')
	{
		my ($hex) = $status =~ /^$set:\s+([0-9a-f]+)/m;
		push @kept, "$pid:$set" if defined $hex && hex($hex) & ((1 << 12) | (1 << 8));
	}
}
is(join(' ', @kept), '', 'CAP_NET_ADMIN and CAP_SETPCAP in no set of any of the ' . scalar(keys %title) . ' PostgreSQL processes, bounding set included');
my $log = slurp_file($primary->logfile);
like($log, qr/CAP_NET_ADMIN moved to the endpoint helper \(pid \d+\); no PostgreSQL process keeps it/, 'LOG: moved to the helper');
unlike($log, qr/stays in the bounding set/, 'LOG: no "stays in the bounding set" (it could be dropped)');
unlike($log, qr/ERROR:.*walmptcp|walmptcp.*ERROR|could not drop/, 'no walmptcp ERROR, no failed drop');
done_testing();
