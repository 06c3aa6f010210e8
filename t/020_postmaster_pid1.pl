# The postmaster as PID 1 (the official container images run it so): an
# orphan is then reparented to the postmaster, which treats an unknown child
# killed by a signal as a crashed backend and restarts the whole cluster.
# The endpoint helper is such a process; with the postmaster as PID 1 a
# guardian stands between them and exits 0 whatever becomes of the helper.
# Here: a PID namespace (unshare --pid --fork), postgres exec'd as its PID 1
# with CAP_NET_ADMIN (so the helper starts), the helper killed with SIGKILL.
#
# Copyright (c) 2026, the walmptcp authors
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep);

# the installation the lab uses (PG_BINDIR), else the one on PATH
my $node = PostgreSQL::Test::Cluster->new('pid1',
	$ENV{PG_BINDIR} ? (install_path => "$ENV{PG_BINDIR}/..") : ());
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'walmptcp'\nlisten_addresses = ''\n");
my $postgres = $node->config_data('--bindir') . '/postgres';
my $log = $node->logfile;

# not pg_ctl: its postmaster.pid would name PID 1 of another namespace
my $server = IPC::Run::start(
	[ 'unshare', '--pid', '--fork', '--kill-child', '--',
	  'setpriv', '--inh-caps=-all,+net_admin', '--ambient-caps=-all,+net_admin', '--',
	  $postgres, '-D', $node->data_dir, '-k', $node->host, '-p', $node->port ],
	'<', \undef, '>', $log, '2>', $log);
my $unshare = $server->{KIDS}[0]{PID};

sub children_of
{
	my ($parent) = @_;
	my @kids;
	for my $stat (glob('/proc/[0-9]*/stat'))
	{
		my ($pid, $ppid) = (eval { slurp_file($stat) } // '') =~ /^(\d+) \(.*\) \S+ (\d+)/s;
		push @kids, $pid if defined $ppid && $ppid == $parent;
	}
	return @kids;
}

# processes of the namespace whose command name is $comm
sub in_namespace
{
	my ($ns, $comm) = @_;
	return grep {
		(eval { slurp_file("/proc/$_/comm") } // '') eq "$comm\n"
		  && (readlink("/proc/$_/ns/pid") // '') eq $ns
	} map { m{/proc/(\d+)/} ? $1 : () } glob('/proc/[0-9]*/stat');
}

my $ready = 0;
for (1 .. 600)
{
	$ready = ($node->psql('postgres', 'SELECT 1') == 0) and last;
	sleep(0.1);
}
ok($ready, 'server started as PID 1 of a PID namespace');
my ($postmaster) = children_of($unshare);
my $ns = readlink("/proc/$postmaster/ns/pid");
like(slurp_file("/proc/$postmaster/status"), qr/^NSpid:\s+\d+\s+1$/m, 'the postmaster is PID 1 in its namespace');
like(slurp_file($log), qr/moved to the endpoint helper/, 'the endpoint helper started');
my ($helper) = in_namespace($ns, 'walmptcp-helper');
my ($guard) = in_namespace($ns, 'walmptcp-guard');
ok(defined $helper, 'helper process found');
ok(defined $guard, 'guardian process between the postmaster and the helper');
my $started = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');
my $log_from = -s $log;

kill 'KILL', $helper;
sleep(3);
my $after = slurp_file($log, $log_from);
unlike($after, qr/terminating any other active server processes|was terminated by signal|reinitializing/,
	'helper killed by SIGKILL: no crash restart');
is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $started, 'same server, still up');
ok(!in_namespace($ns, 'walmptcp-guard'), 'the guardian ended with the helper');

kill 'INT', $postmaster;
$server->finish;
ok(!in_namespace($ns, 'postgres'), 'server stopped');
done_testing();
