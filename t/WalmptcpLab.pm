# WalmptcpLab: PostgreSQL::Test::Cluster nodes inside a walmptcp-lab topology.
#
#   my $lab = WalmptcpLab->new(paths => 2, rate => 50);
#   # the pgsql-hackers recipe: one path, 10 Mbit/s per flow, 4 extra ports
#   WalmptcpLab->new(paths => 1, rate => 100, flow_cap => 10,
#                    signal_ports => [5202..5205]);
#   my $primary = $lab->node('primary', 'pri');          # Cluster node
#   my $standby = $lab->node('standby', 'sby', keep_net_admin => 1);
#   $lab->addr('primary', 1)             # 10.77.1.1
#   $lab->run('standby', 'ss', '-Mni')   # output of a command in a namespace
#   $lab->kernel_connections('standby', $port)   # what ss sees
#   $lab->kernel_subflows('standby', state => 'established', port => $port)
#   WalmptcpLab::parse_ss($lab->run('standby', 'ss', '-HMni'))   # ss parsed
#
# The lab is torn down at exit, also when a test dies.  Load this module
# before PostgreSQL::Test::Cluster so that Cluster's END (which stops the
# nodes through their wrappers) runs before the namespaces disappear.
#
# Copyright (c) 2026, the walmptcp authors
package WalmptcpLab;

use strict;
use warnings;
use Cwd qw(abs_path);
use Digest::MD5;
use File::Basename qw(dirname);
use Exporter qw(import);
use IPC::Run;
use Test::More;

our @EXPORT_OK = qw(sql);

my $LAB = abs_path(dirname(__FILE__) . '/../lab/walmptcp-lab');
my @labs;

# A query's output on a node (database postgres unless named); dies on error.
sub sql
{
	my ($node, $q, $db) = @_;
	return $node->safe_psql($db // 'postgres', $q);
}

# A process's established subflows as walmptcp_subflows(pid) shows them, one
# "local:port remote:port" line each (IPv6 in brackets), sorted; with
# ids => 1 also " loc=N rem=N" where the ids are known.
sub sql_subflows
{
	my ($node, $pid, %opts) = @_;
	my $ids = $opts{ids} ? q{ || coalesce(' loc=' || local_id || ' rem=' || remote_id, '')} : '';
	my $out = sql($node, qq{
		SELECT CASE WHEN family(local_addr) = 6 THEN '[' || host(local_addr) || ']' ELSE host(local_addr) END
		       || ':' || local_port || ' ' ||
		       CASE WHEN family(remote_addr) = 6 THEN '[' || host(remote_addr) || ']' ELSE host(remote_addr) END
		       || ':' || remote_port$ids
		  FROM walmptcp_subflows($pid) WHERE state = 'established'});
	return join("\n", sort split /\n/, $out);
}

sub lab_cmd
{
	my @cmd = ($LAB, @_);
	my ($out, $err);
	IPC::Run::run(\@cmd, '>', \$out, '2>', \$err)
	  or die "walmptcp-lab @_ failed: $err";
	chomp $out;
	return $out;
}

sub new
{
	my ($class, %opts) = @_;
	my $paths = $opts{paths} // 2;
	my $rate = $opts{rate} // 50;
	# several runs may share a machine: a short random name per lab
	my $name = lab_cmd('new-name', 'w' . ($ENV{WALMPTCP_LAB_RUN} // 'loc'));
	my $self = bless { name => $name, paths => $paths, nodes => [] }, $class;
	push @labs, $self;
	lab_cmd('up', $name, '--paths', $paths, '--rate', $rate,
		$opts{no_endpoints} ? ('--no-endpoints') : (),
		$opts{endpoint_flags} ? ('--endpoint-flags', $opts{endpoint_flags}) : (),
		$opts{flow_cap} ? ('--flow-cap', $opts{flow_cap}) : (),
		$opts{signal_ports} ? ('--signal-ports', join(',', @{ $opts{signal_ports} })) : ());
	note "lab $name: $paths paths at $rate Mbit/s"
	  . ($opts{flow_cap} ? ", $opts{flow_cap} Mbit/s per flow" : '')
	  . ($opts{signal_ports} ? ", ports @{ $opts{signal_ports} } announced" : '');
	return $self;
}

sub name { return $_[0]->{name} }
sub namespace { my ($self, $host) = @_; return $self->{name} . ($host eq 'primary' ? '-pri' : '-sby') }

sub addr
{
	my ($self, $host, $path, $family) = @_;
	return lab_cmd('addr', $self->{name}, $host, $path, $family // 4);
}

sub ifname
{
	my ($self, $host, $path) = @_;
	return lab_cmd('ifname', $self->{name}, $host, $path);
}

# A Cluster node whose programs run inside the host's namespace.
sub node
{
	my ($self, $host, $nodename, %opts) = @_;
	my $dir = PostgreSQL::Test::Utils::tempdir("install_$nodename");
	lab_cmd('bindir', $self->{name}, $host, $dir,
		$opts{keep_net_admin} ? ('--keep-net-admin') : ());
	my $node = PostgreSQL::Test::Cluster->new($nodename, install_path => $dir);
	push @{ $self->{nodes} }, $node;
	return $node;
}

# Configuration every lab node needs (walmptcp-lab node-conf and hba-lines,
# shared with lab/pg-lab.sh): listen on the lab addresses, walmptcp
# preloaded, WAL kept; replication and normal connections from the lab
# networks.
sub configure_node
{
	my ($self, $node, %opts) = @_;
	my $preload = $opts{preload} // 1;
	$node->append_conf('postgresql.conf',
		lab_cmd('node-conf', $preload ? () : ('--no-preload')));
	$node->append_conf('postgresql.conf', $opts{conf}) if $opts{conf};
	$node->append_conf('pg_hba.conf', lab_cmd('hba-lines',
		$opts{hba_method} // 'trust', $opts{hostssl} ? 'hostssl' : 'host'));
}

# A started server (a primary, or with host => 'standby' a subscriber):
# walmptcp preloaded unless preload => 0; wal_level = logical with logical => 1.
sub make_primary
{
	my ($self, %opts) = @_;
	my $node = $self->node($opts{host} // 'primary', $opts{name} // 'primary', %opts);
	$node->init(allows_streaming => $opts{logical} ? 'logical' : 1);
	$self->configure_node($node, %opts);
	$node->start;
	check_loaded_library($node);
	return $node;
}

# A standby of $primary built from a backup, streaming with $opts{conninfo}
# (appended after Cluster's own unix-socket primary_conninfo, so it wins).
sub make_standby
{
	my ($self, $primary, %opts) = @_;
	my $name = $opts{name} // 'standby';
	my $backup = "backup_for_$name";
	$primary->backup($backup);
	my $node = $self->node('standby', $name, %opts);
	$node->init_from_backup($primary, $backup, has_streaming => 1);
	$self->configure_node($node, %opts);
	$self->set_conninfo($node, $opts{conninfo}, reload => 0);
	unless ($opts{no_start})
	{
		$node->start;
		check_loaded_library($node);
	}
	return $node;
}

# The walmptcp.so a started node's postmaster has mapped (walmptcp
# preloaded): its path and the md5 of the mapped file itself (read through
# /proc/PID/map_files, the driver has CAP_SYS_ADMIN) go to the test's log
# as a line "walmptcp.so loaded by postmaster ..." (test/run-tests counts
# them).  With WALMPTCP_EXPECT_SO_MD5 set (test/run-tests, when the suite
# runs against the installed Debian package: the package's md5 of the file)
# a server that loaded anything else stops the test.
my %md5_of;
sub check_loaded_library
{
	my ($node) = @_;
	open(my $pidfile, '<', $node->data_dir . '/postmaster.pid') or return;
	my $pid = <$pidfile>;
	close $pidfile;
	chomp $pid;
	open(my $maps, '<', "/proc/$pid/maps") or die "cannot read /proc/$pid/maps: $!";
	my ($range, $inode, $path);
	while (<$maps>)
	{
		next unless m{^(\S+)\s+\S+\s+\S+\s+\S+\s+(\d+)\s+(/\S*/walmptcp\.so(?: \(deleted\))?)$};
		($range, $inode, $path) = ($1, $2, $3);
		last;
	}
	close $maps;
	return unless defined $path;    # not preloaded
	$md5_of{"$path:$inode"} //= do
	{
		open(my $fh, '<', "/proc/$pid/map_files/$range")
		  or die "cannot read /proc/$pid/map_files/$range ($path): $!";
		binmode $fh;
		Digest::MD5->new->addfile($fh)->hexdigest;
	};
	my $md5 = $md5_of{"$path:$inode"};
	my $expect = $ENV{WALMPTCP_EXPECT_SO_MD5};
	note "walmptcp.so loaded by postmaster $pid of " . $node->name . ": $path md5 $md5"
	  . (defined $expect ? ($md5 eq $expect ? " = the package's" : " != the package's $expect") : '');
	BAIL_OUT($node->name . "'s server loaded $path (md5 $md5), not the installed package's walmptcp.so (md5 $expect)")
	  if defined $expect && $md5 ne $expect;
}

# Whether $so (an installed walmptcp.so) has test hook $hook, that is was
# built with -DWALMPTCP_TEST_HOOKS.  The files that need a hook skip
# without it, saying why.  With WALMPTCP_REQUIRE_TEST_HOOKS set
# (test/run-tests, running those files on the build with the hooks) a
# missing hook stops the test instead: it never passes by skipping.
sub has_test_hook
{
	my ($so, $hook) = @_;
	open(my $fh, '<', $so) or die "cannot read $so: $!";
	binmode $fh;
	local $/;
	my $has = index(<$fh>, $hook) >= 0;
	close $fh;
	BAIL_OUT("$so has no test hook $hook, and WALMPTCP_REQUIRE_TEST_HOOKS is set (this run needs a build with -DWALMPTCP_TEST_HOOKS)")
	  if !$has && $ENV{WALMPTCP_REQUIRE_TEST_HOOKS};
	return $has;
}

# Point a standby at a new primary_conninfo (reload restarts the walreceiver).
sub set_conninfo
{
	my ($self, $node, $conninfo, %opts) = @_;
	$conninfo =~ s/'/''/g;
	$node->append_conf('postgresql.conf', "primary_conninfo = '$conninfo'");
	$node->reload if $opts{reload} // 1;
}

# Make path $path drop everything in both directions ('on') or not ('off').
sub lab_blackhole
{
	my ($self, $path, $state) = @_;
	lab_cmd('blackhole', $self->{name}, $path, $state);
}

# Run a command in a host's namespace, return its stdout.
sub run
{
	my ($self, $host, @cmd) = @_;
	return lab_cmd('exec', $self->{name}, $host, @cmd);
}

# Start a command in a host's namespace in the background (IPC::Run handle).
sub start_bg
{
	my ($self, $host, $cmd, $out) = @_;
	return IPC::Run::start([ $LAB, 'exec', $self->{name}, $host, @$cmd ],
		'>', $out, '2>&1');
}

# The output of ss -ni, one hashref per socket: ss -tni for TCP sockets
# (MPTCP subflows among them), ss -Mni for MPTCP connections.  Each socket
# is a line, then an info line indented by a tab:
#   [STATE] RECV-Q SEND-Q LOCAL:PORT PEER:PORT
#   -t:  ts sack cubic ... bytes_acked:N bytes_received:N ...
#          tcp-ulp-mptcp flags:Jjec token:REMTOK(id:M)/LOCTOK(id:N) seq:..
#   -M:  subflows:N add_addr_signal:N ... token:TOK ... bytes_received:N ..
# STATE is absent under a `state` filter; a local address bound to a device
# reads 10.77.2.2%dev:port or [fd77::2]%dev:port (strip_scope drops it).
# Keys: state (undef when absent), local, remote (as printed) and, when
# printed: mptcp_subflow (1 for tcp-ulp-mptcp), token_local, id_local,
# token_remote, id_remote (-t), token, subflows (-M: the subflows besides
# the initial one), bytes_sent, bytes_acked, bytes_received.
sub parse_ss
{
	my ($out) = @_;
	my (@socks, $cur);
	for my $line (split /\n/, $out)
	{
		if ($line =~ /^(?:([A-Z][\w-]*)\s+)?\s*\d+\s+\d+\s+(\S+)\s+(\S+)/)
		{
			push @socks, $cur = { state => $1, local => $2, remote => $3 };
			next;
		}
		next unless $cur;
		$cur->{mptcp_subflow} = 1 if $line =~ /\btcp-ulp-mptcp\b/;
		if ($line =~ m{\btoken:(\w+)\(id:(\d+)\)/(\w+)\(id:(\d+)\)})
		{
			@$cur{qw(token_remote id_remote token_local id_local)} = ($1, $2, $3, $4);
		}
		elsif ($line =~ /\btoken:(\w+)\b(?!\()/)
		{
			$cur->{token} = $1;
		}
		for my $k (qw(subflows bytes_sent bytes_acked bytes_received))
		{
			$cur->{$k} = $1 if $line =~ /\b$k:(\d+)/;
		}
	}
	return @socks;
}

# An address:port as ss prints it without the device a socket is bound to.
sub strip_scope
{
	my ($a) = @_;
	$a =~ s/%[^:\]]+//;    # 10.77.2.2%dev:port, [fd77::2]%dev:port, [fd77::2%dev]:port
	return $a;
}

# The TCP sockets of a namespace (ss -tni; MPTCP subflows and plain TCP
# alike), parsed by parse_ss.  Filters: state => 'established' (ss's own),
# port => N (local or remote port), remote_port => N, token => an MPTCP
# connection's token (its subflows: local token, compared as a number).
sub kernel_subflows
{
	my ($self, $host, %f) = @_;
	my @s = parse_ss($self->run($host, 'ss', '-Htni', $f{state} ? ('state', $f{state}) : ()));
	@s = grep { $_->{local} =~ /:$f{port}$/ || $_->{remote} =~ /:$f{port}$/ } @s
	  if defined $f{port};
	@s = grep { $_->{remote} =~ /:$f{remote_port}$/ } @s if defined $f{remote_port};
	@s = grep { defined $_->{token_local} && hex($_->{token_local}) == hex($f{token}) } @s
	  if defined $f{token};
	return @s;
}

# What the kernel shows in a namespace for connections to/from TCP port
# $port: { mptcp => [ {local, remote, subflows_extra} ], tcp => [ {local,
# remote, mptcp_subflow (bool)} ] }.  Only established sockets count.
sub kernel_connections
{
	my ($self, $host, $port) = @_;
	my @m = grep { $_->{local} =~ /:$port$/ || $_->{remote} =~ /:$port$/ }
	  parse_ss($self->run($host, 'ss', '-HMni', 'state', 'established'));
	return {
		mptcp => [ map { +{ local => $_->{local}, remote => $_->{remote},
			subflows_extra => $_->{subflows} // 0 } } @m ],
		tcp => [ map { +{ local => $_->{local}, remote => $_->{remote},
			mptcp_subflow => $_->{mptcp_subflow} ? 1 : 0 } }
			$self->kernel_subflows($host, state => 'established', port => $port) ],
	};
}

# Kernel MIB counter of a namespace (nstat), e.g. MPTcpExtMPCapableSYNACKRX.
sub counter
{
	my ($self, $host, $name) = @_;
	my $out = $self->run($host, 'nstat', '-az', '--json', $name);
	return $out =~ /"\Q$name\E"\s*:\s*(\d+)/ ? $1 : 0;
}

# Wait until $cond->() is true, polling every 0.1 s for up to $timeout s.
sub wait_for
{
	my ($cond, $timeout) = @_;
	$timeout //= $PostgreSQL::Test::Utils::timeout_default;
	my $end = time() + $timeout;
	while (time() < $end)
	{
		return 1 if $cond->();
		select(undef, undef, undef, 0.1);
	}
	return $cond->();
}

sub down
{
	my ($self) = @_;
	return if $self->{down};
	$self->{down} = 1;
	eval { $_->stop('immediate', fail_ok => 1) for @{ $self->{nodes} } };
	eval { lab_cmd('down', $self->{name}) };
}

END
{
	my $rc = $?;
	$_->down for @labs;
	$? = $rc;
}

1;
