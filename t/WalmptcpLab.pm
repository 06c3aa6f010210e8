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
#
# The lab is torn down at exit, also when a test dies.  Load this module
# before PostgreSQL::Test::Cluster so that Cluster's END (which stops the
# nodes through their wrappers) runs before the namespaces disappear.
package WalmptcpLab;

use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use IPC::Run;
use Test::More;

my $LAB = abs_path(dirname(__FILE__) . '/../lab/walmptcp-lab');
my @labs;

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

# Configuration every lab node needs: listen on the lab addresses, accept
# replication and normal connections from the lab networks.
sub configure_node
{
	my ($self, $node, %opts) = @_;
	my $preload = $opts{preload} // 1;
	$node->append_conf('postgresql.conf', "listen_addresses = '*'");
	$node->append_conf('postgresql.conf', "shared_preload_libraries = 'walmptcp'")
	  if $preload;
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
	$node->start unless $opts{no_start};
	return $node;
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

# What the kernel shows in a namespace for connections to/from TCP port
# $port: { mptcp => [ {local, remote, subflows_extra} ], tcp => [ {local,
# remote, mptcp_subflow (bool)} ] }.  Only established sockets count.
sub kernel_connections
{
	my ($self, $host, $port) = @_;
	my %r = (mptcp => [], tcp => []);
	my $m = $self->run($host, 'ss', '-HMni', 'state', 'established');
	my $cur;
	for my $line (split /\n/, $m)
	{
		if ($line =~ /^\S*\s*\d+\s+\d+\s+(\S+)\s+(\S+)/)
		{
			my ($l, $rmt) = ($1, $2);
			$cur = undef;
			next unless $l =~ /:$port$/ || $rmt =~ /:$port$/;
			$cur = { local => $l, remote => $rmt, subflows_extra => 0 };
			push @{ $r{mptcp} }, $cur;
		}
		elsif ($cur && $line =~ /\bsubflows:(\d+)/)
		{
			$cur->{subflows_extra} = $1;
		}
	}
	my $t = $self->run($host, 'ss', '-Htni', 'state', 'established');
	$cur = undef;
	for my $line (split /\n/, $t)
	{
		if ($line =~ /^\s*\d+\s+\d+\s+(\S+)\s+(\S+)/)
		{
			my ($l, $rmt) = ($1, $2);
			$cur = undef;
			next unless $l =~ /:$port$/ || $rmt =~ /:$port$/;
			$cur = { local => $l, remote => $rmt, mptcp_subflow => 0 };
			push @{ $r{tcp} }, $cur;
		}
		elsif ($cur && $line =~ /tcp-ulp-mptcp/)
		{
			$cur->{mptcp_subflow} = 1;
		}
	}
	return \%r;
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
