# Topology: the invariants every topology of the matrix (t/010_* ..) must
# keep, written once.
#
#   my $t = Topology->new('cascade', paths => 2, endpoint_flags => 'both');
#   my $p  = $t->server('primary', host => 'primary', keep_net_admin => 1);
#   my $s1 = $t->standby($p, 'standby1', host => 'standby',
#                        conninfo => "host=$P1 port=$port mptcp=1");
#   $t->expect($p, walsender => 1);             # MPTCP connections per role
#   $t->writer($p, table => 't');              # steady write load in the soak
#   $t->same_rows('t', $p, $s1);                # (d) checked at the end
#   $t->wait_ready;                            # connections and subflows up
#   $t->soak;                                  # WALMPTCP_SOAK seconds (60)
#   $t->finish;                                # (c), (d), stop, (a), summary
#
# The invariants:
#  (a) no ERROR/FATAL/PANIC message mentioning walmptcp (its DETAIL, HINT,
#      CONTEXT and STATEMENT lines included) in any node's server log over the
#      whole test, shutdown included, and no `terminating background worker
#      "walmptcp supervisor"`;
#  (b) every few seconds of the soak, for every connection registered with
#      mptcp = true on every node: the walmptcp_subflows() rows of its pid
#      equal the kernel's subflows of that connection, i.e. the TCP sockets of
#      `ss -tniH` in the node's namespace whose tcp-ulp-mptcp local token (the
#      one after the slash) is the connection's token column, compared as
#      sets of local and remote address:port (a sample is retried 3 times 0.3 s
#      apart to catch a consistent moment);
#  (c) no walreceiver or apply worker restart during the soak (same pids), no
#      `reconnect` or `repair` event in walmptcp_events() on any node (over the
#      whole test, or from the soak on when the test injected a fault and
#      gave it a settle window), and `ip mptcp endpoint show` in each
#      namespace the same at the end as before the soak;
#  (d) the written tables have the same count and checksum on every node
#      once caught up.
#
# Copyright (c) 2026, the walmptcp authors
package Topology;

use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use WalmptcpLab qw(sql);

our $SOAK = $ENV{WALMPTCP_SOAK} // 60;
our $SAMPLE_EVERY = 10;

my @live;    # topologies not finished yet: cleaned up at exit

sub new
{
	my ($class, $title, %lab_opts) = @_;
	my $min = delete $lab_opts{min_subflows} // 2;
	my $self = bless {
		title => $title,
		min_subflows => $min,
		nodes => [],
		writers => [],
		tables => [],
		nft => [],
		samples => 0,
		mismatches => 0,
		checks => 0,
		last => {},
		restarts => [],
		events_since => 0,
		faults => [],
	}, $class;
	push @live, $self;
	$self->{lab} = WalmptcpLab->new(%lab_opts);
	$self->{t_start} = time();
	$self->{endpoints_at_up} = $self->endpoints;
	return $self;
}

sub lab { return $_[0]->{lab} }
sub title { return $_[0]->{title} }

# psql that reports instead of dying: (ok, stdout, stderr).
sub try_sql
{
	my ($node, $q, $db) = @_;
	my ($out, $err) = ('', '');
	my $ret = eval {
		$node->psql($db // 'postgres', $q, stdout => \$out, stderr => \$err,
			on_error_stop => 1);
	};
	$err = $@ if !defined $ret && $@;
	return (defined $ret && $ret == 0, $out, $err);
}

# Remember a node and the namespace it runs in.
sub add_node
{
	my ($self, $node, $host, %opts) = @_;
	push @{ $self->{nodes} }, { node => $node, host => $host,
		name => $node->name, expect => {}, min => {} };
	return $node;
}

sub node_entry
{
	my ($self, $node) = @_;
	my ($e) = grep { $_->{node} == $node } @{ $self->{nodes} };
	die "node " . $node->name . " is not part of topology $self->{title}" unless $e;
	return $e;
}

# A server running walmptcp with its defaults (supervisor on, repair = auto)
# in $opts{host}'s namespace, with the walmptcp extension created.
# logical => 1: wal_level = logical.  keep_net_admin => 1: started with
# CAP_NET_ADMIN (the endpoint helper exists).
sub server
{
	my ($self, $name, %opts) = @_;
	my $host = $opts{host} // 'primary';
	my $node = $self->{lab}->make_primary(%opts, name => $name, host => $host);
	sql($node, 'CREATE EXTENSION walmptcp');
	return $self->add_node($node, $host);
}

# A physical standby of $upstream (a primary or another standby) in
# $opts{host}'s namespace, streaming with $opts{conninfo}; backup => NAME
# reuses that backup of $upstream (taken by the first standby that names it).
sub standby
{
	my ($self, $upstream, $name, %opts) = @_;
	my $host = $opts{host} // 'standby';
	my $lab = $self->{lab};
	# backup => NAME: several standbys start from one backup
	my $backup = $opts{backup} // "backup_for_$name";
	$upstream->backup($backup) unless -d $upstream->backup_dir . "/$backup";
	my $node = $lab->node($host, $name, %opts);
	$node->init_from_backup($upstream, $backup, has_streaming => 1);
	$lab->configure_node($node, %opts);
	$lab->set_conninfo($node, $opts{conninfo}, reload => 0);
	$node->start;
	return $self->add_node($node, $host);
}

# CREATE SUBSCRIPTION on $node (in $opts{db}, default postgres) and wait
# for its tables to be synchronized.
sub subscribe
{
	my ($self, $node, $name, $conninfo, $publication, %opts) = @_;
	my $db = $opts{db} // 'postgres';
	my $with = $opts{with} ? " WITH ($opts{with})" : '';
	sql($node, "CREATE SUBSCRIPTION $name CONNECTION '$conninfo' PUBLICATION $publication$with", $db);
	$node->poll_query_until($db, qq{
		SELECT count(*) = 0 FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid
		 WHERE s.subname = '$name' AND r.srsubstate NOT IN ('r', 's')})
	  or die "subscription $name on " . $node->name . " did not synchronize";
}

# The table the writers fill and the checksums cover.
sub create_table
{
	my ($node, $table, $db) = @_;
	sql($node, "CREATE TABLE $table (id bigserial PRIMARY KEY, pad text, at timestamptz DEFAULT clock_timestamp())",
		$db);
}

# Expected MPTCP connections of a node per role (walsender, walreceiver,
# apply), checked in every sample; min_subflows => { role => n } raises or
# lowers the topology's minimum of established kernel subflows.
sub expect
{
	my ($self, $node, %roles) = @_;
	my $e = $self->node_entry($node);
	my $min = delete $roles{min_subflows} // {};
	$e->{expect} = \%roles;
	$e->{min} = $min;
}

sub writer
{
	my ($self, $node, %opts) = @_;
	push @{ $self->{writers} }, { node => $node, table => $opts{table} // 't',
		db => $opts{db} // 'postgres' };
}

# (d): $table holds the same rows on every listed node (a node, or
# [node, database]).
sub same_rows
{
	my ($self, $table, @where) = @_;
	push @{ $self->{tables} }, [ $table, map { ref($_) eq 'ARRAY' ? $_ : [ $_, 'postgres' ] } @where ];
}

# The usual pair: one walsender on the primary, one walreceiver on the
# standby, a writer into $table on the primary and its rows equal on both.
sub streaming_pair
{
	my ($self, $primary, $standby, $table) = @_;
	$table //= 't';
	$self->expect($primary, walsender => 1);
	$self->expect($standby, walreceiver => 1);
	$self->writer($primary, table => $table);
	$self->same_rows($table, $primary, $standby);
}

# A fault the test injects on purpose: events count from the soak on.
sub injected_fault
{
	my ($self, $what) = @_;
	push @{ $self->{faults} }, $what;
	$self->{endpoints_after_fault} = $self->endpoints;
	note "$self->{title}: fault injected: $what; endpoints now:\n"
	  . join("\n", map { "$_:\n$self->{endpoints_after_fault}{$_}" } sort keys %{ $self->{endpoints_after_fault} });
}

# ---- the kernel's view ----------------------------------------------------

# All MPTCP subflows of a namespace, by local token:
# { token => [ { tuple => "l r", state => ESTAB|SYN-SENT|.. } ] }.
sub kernel_subflows
{
	my ($self, $host) = @_;
	my %by_token;
	for my $s (grep { defined $_->{token_local} } $self->{lab}->kernel_subflows($host))
	{
		push @{ $by_token{ $s->{token_local} } }, { state => $s->{state},
			tuple => join(' ', map { WalmptcpLab::strip_scope($_) } @$s{qw(local remote)}) };
	}
	return \%by_token;
}

# ---- one look at a node: registry, SQL subflows, kernel subflows -----------

my $FMT = q{CASE WHEN family(%1$s_addr) = 6 THEN '[' || host(%1$s_addr) || ']' ELSE host(%1$s_addr) END || ':' || %1$s_port};

sub observe
{
	my ($self, $e) = @_;
	my $q = sprintf(q{
		SELECT c.pid, c.role, coalesce(c.application_name, ''), c.token, coalesce(family(c.remote_addr), 0),
		       coalesce((SELECT string_agg(%s || ' ' || %s, ',' ORDER BY 1)
		                   FROM walmptcp_subflows(c.pid) s), '')
		  FROM walmptcp_connections() c WHERE c.mptcp ORDER BY c.role, c.pid},
		sprintf($FMT, 's.local'), sprintf($FMT, 's.remote'));
	my ($ok, $out, $err) = try_sql($e->{node}, $q);
	return { error => $err } unless $ok;
	my $kernel = $self->kernel_subflows($e->{host});
	my (@conns, %seen);
	for my $row (split /\n/, $out)
	{
		my ($pid, $role, $app, $token, $family, $list) = split /\|/, $row, 6;
		my @k = @{ $kernel->{ $token // '' } // [] };
		# a name for the summary: node/role(application_name), #2.. when
		# several connections share it (ordered by pid)
		my $key = "$e->{name}/$role($app)";
		$key .= '#' . $seen{$key} if $seen{$key}++;
		push @conns, {
			pid => $pid, role => $role, token => $token, family => $family, key => $key,
			sql => join("\n", sort split /,/, $list // ''),
			kernel => join("\n", sort map { $_->{tuple} } @k),
			established => scalar(grep { $_->{state} eq 'ESTAB' } @k),
			kernel_all => \@k,
		};
	}
	return { conns => \@conns };
}

sub role_counts
{
	my ($obs) = @_;
	my %n;
	$n{ $_->{role} }++ for @{ $obs->{conns} };
	return join(' ', map { "$_=$n{$_}" } sort keys %n);
}

sub expected_counts
{
	my ($e) = @_;
	my %x = %{ $e->{expect} };
	return join(' ', map { "$_=$x{$_}" } grep { $x{$_} } sort keys %x);
}

sub min_for
{
	my ($self, $e, $role) = @_;
	return $e->{min}{$role} // $self->{min_subflows};
}

# Why the topology is not ready yet (undef when it is).
sub not_ready
{
	my ($self, $min_override) = @_;
	for my $e (@{ $self->{nodes} })
	{
		my $obs = $self->observe($e);
		return "$e->{name}: walmptcp functions fail: $obs->{error}" if $obs->{error};
		my ($have, $want) = (role_counts($obs), expected_counts($e));
		return "$e->{name}: MPTCP connections $have, expected $want" if $have ne $want;
		for my $c (@{ $obs->{conns} })
		{
			my $min = $min_override // $self->min_for($e, $c->{role});
			return "$e->{name} $c->{role} (pid $c->{pid}): $c->{established} established subflows in the kernel, expected >= $min"
			  if $c->{established} < $min;
		}
	}
	return undef;
}

# Wait until every node has its MPTCP connections with their subflows.
sub wait_ready
{
	my ($self, %opts) = @_;
	my $why;
	my $end = time() + ($opts{timeout} // 60);
	while (1)
	{
		$why = $self->not_ready($opts{min});
		last if !defined $why || $why =~ /functions fail/ || time() > $end;
		sleep(0.5);
	}
	ok(!defined $why, "$self->{title}: every node has its MPTCP connections, each with at least "
		  . ($opts{min} // 'its minimum of') . " established subflows")
	  or diag $why;
	return !defined $why;
}

# ---- (c) ------------------------------------------------------------------

sub endpoints
{
	my ($self) = @_;
	my %ep;
	my %hosts = map { $_ => 1 } ('primary', 'standby');
	$ep{$_} = $self->{lab}->run($_, 'ip', 'mptcp', 'endpoint', 'show') for sort keys %hosts;
	return \%ep;
}

# Walreceiver and apply worker pids of every node.
sub worker_pids
{
	my ($self) = @_;
	my %pids;
	for my $e (@{ $self->{nodes} })
	{
		my ($ok, $out) = try_sql($e->{node}, q{
			SELECT 'walreceiver', pid FROM pg_stat_wal_receiver WHERE pid IS NOT NULL
			UNION ALL
			SELECT 'apply ' || subname || ' (' || subid || ')', pid
			  FROM pg_stat_subscription WHERE relid IS NULL});
		for my $row (split /\n/, $out // '')
		{
			my ($what, $pid) = split /\|/, $row;
			$pids{"$e->{name} $what"} = $pid // '';
		}
	}
	return \%pids;
}

sub events
{
	my ($self, $e, $since) = @_;
	my ($ok, $out, $err) = try_sql($e->{node}, qq{
		SELECT event, count(*) FROM walmptcp_events()
		 WHERE extract(epoch FROM event_time) >= $since GROUP BY event ORDER BY event});
	return { error => $err } unless $ok;
	my %n = map { split /\|/ } split /\n/, $out;
	return \%n;
}

# ---- the soak -------------------------------------------------------------

sub start_writers
{
	my ($self, $secs) = @_;
	for my $w (@{ $self->{writers} })
	{
		my $node = $w->{node};
		# a few KB of incompressible data every 75 ms, each in its own commit
		$w->{h} = IPC::Run::start([ $node->installed_command('psql'), '-X', '-q',
			'-v', 'ON_ERROR_STOP=1', '-h', $node->host, '-p', $node->port, '-d', $w->{db},
			'-c', q{SET application_name = 'topology writer'}, '-c',
			qq{DO \$\$ DECLARE t0 timestamptz := clock_timestamp(); BEGIN
			   WHILE clock_timestamp() < t0 + interval '$secs s' LOOP
			     INSERT INTO $w->{table} (pad) SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 100);
			     COMMIT; PERFORM pg_sleep(0.075);
			   END LOOP; END \$\$} ],
			'>', \$w->{out}, '2>', \$w->{err});
	}
}

sub stop_writers
{
	my ($self) = @_;
	for my $w (@{ $self->{writers} })
	{
		next unless $w->{h};
		my $ok = eval { $w->{h}->finish };
		ok($ok, "$self->{title}: writer on " . $w->{node}->name . " ran through the soak")
		  or diag "writer: " . ($w->{err} // '') . ($@ // '');
		delete $w->{h};
	}
}

# (b) and the pids of (c), once; retried 3 times 0.3 s apart per node.
sub sample
{
	my ($self, $label) = @_;
	$self->{samples}++;
	for my $e (@{ $self->{nodes} })
	{
		my ($obs, @bad);
		for my $try (0 .. 3)
		{
			sleep(0.3) if $try;
			$obs = $self->observe($e);
			next if $obs->{error};
			@bad = grep { $_->{sql} ne $_->{kernel} } @{ $obs->{conns} };
			last unless @bad;
		}
		if ($obs->{error})
		{
			fail("$self->{title} $label: $e->{name}: walmptcp_connections() and walmptcp_subflows() answer");
			diag $obs->{error};
			$self->{sql_errors}{ $e->{name} }++;
			$self->{mismatches}++;
			$self->{checks}++;
			next;
		}
		is(role_counts($obs), expected_counts($e),
			"$self->{title} $label: $e->{name}: registered MPTCP connections");
		for my $c (@{ $obs->{conns} })
		{
			my $what = $c->{key};
			my $nsql = $c->{sql} eq '' ? 0 : scalar(split /\n/, $c->{sql});
			my $nk = scalar @{ $c->{kernel_all} };
			$self->{checks}++;
			$self->{mismatches}++ if $c->{sql} ne $c->{kernel};
			note "$what kernel: " . join(', ', map { "$_->{tuple} $_->{state}" } @{ $c->{kernel_all} });
			is($c->{sql}, $c->{kernel},
				"$self->{title} $label: $what (pid $c->{pid}, token $c->{token}): walmptcp_subflows() rows = kernel subflows ($nsql SQL, $nk kernel)");
			my $l = $self->{last}{$what} //= { min_est => $c->{established} };
			$l->{sql} = $nsql;
			$l->{kernel} = $nk;
			$l->{established} = $c->{established};
			$l->{family} = $c->{family};
			$l->{min_est} = $c->{established} if $c->{established} < $l->{min_est};
			$l->{min} = $self->min_for($e, $c->{role});
		}
	}
	my $pids = $self->worker_pids;
	for my $k (sort keys %{ $self->{pids_before} })
	{
		my ($a, $b) = ($self->{pids_before}{$k}, $pids->{$k} // 'gone');
		push @{ $self->{restarts} }, "$label: $k $a -> $b" if $a ne $b;
	}
}

# Streaming under the writers' load for $SOAK seconds, sampled every 10 s.
sub soak
{
	my ($self, %opts) = @_;
	my $secs = $opts{secs} // $SOAK;
	# endpoints as the test left them: after an injected fault, right after
	# it (the settle window must not change them either)
	$self->{endpoints_before} = $self->{endpoints_after_fault} // $self->endpoints;
	$self->{pids_before} = $self->worker_pids;
	my $workers = 0;
	$workers += ($_->{expect}{walreceiver} // 0) + ($_->{expect}{apply} // 0) for @{ $self->{nodes} };
	is(scalar(grep { $_ ne '' } values %{ $self->{pids_before} }), $workers,
		"$self->{title}: every walreceiver and apply worker runs before the soak");
	note "$self->{title}: walreceiver / apply worker pids: "
	  . join(', ', map { "$_=$self->{pids_before}{$_}" } sort keys %{ $self->{pids_before} });
	$self->{soak_start} = time();
	$self->{events_since} = $self->{soak_start} - 1 if @{ $self->{faults} };
	note "$self->{title}: soak of $secs s under write load";
	$self->start_writers($secs);
	my $t0 = time();
	my $i = 0;
	while (1)
	{
		$self->sample(sprintf('t+%ds', time() - $t0));
		$opts{each_sample}->() if $opts{each_sample};
		last if time() - $t0 >= $secs;
		my $next = $t0 + (++$i) * $SAMPLE_EVERY;
		$next = $t0 + $secs if $next > $t0 + $secs;
		sleep($next - time()) if $next > time();
	}
	$self->stop_writers;
	$self->{soak_secs} = time() - $t0;
}

# ---- the end --------------------------------------------------------------

sub checksums
{
	my ($self, $tbl) = @_;
	my ($table, @where) = @$tbl;
	my @r;
	for my $w (@where)
	{
		my ($node, $db) = @$w;
		my ($ok, $out, $err) = try_sql($node, "SELECT count(*), sum(hashtext(t::text)) FROM $table t", $db);
		push @r, [ $node->name . ($db eq 'postgres' ? '' : "/$db"), $ok ? $out : "error: $err" ];
	}
	return @r;
}

# (a) ERROR/FATAL/PANIC messages (with their continuation lines) that
# mention walmptcp, and the supervisor terminated like a crashed worker.
sub bad_log_lines
{
	my ($file) = @_;
	my @bad;
	my ($msg, $pid);
	my $flush = sub {
		push @bad, $msg if defined $msg && $msg =~ /walmptcp/i;
		$msg = undef;
	};
	for my $line (split /\n/, slurp_file($file))
	{
		# log_line_prefix '%m [%p] %q%a ': the level is the first WORD:
		# (two spaces) after the pid
		my ($lpid, $level) = $line =~ /^\d{4}-\d\d-\d\d [\d:.]+ \S+ \[(\d+)\] .*?\b([A-Z]+[0-9]?):  /;
		push @bad, $line
		  if $line =~ /terminating background worker "walmptcp supervisor"/
		  && !(defined $level && $level =~ /^(ERROR|FATAL|PANIC)$/);
		if (defined $level && $level =~ /^(ERROR|FATAL|PANIC)$/)
		{
			$flush->();
			($msg, $pid) = ($line, $lpid);
		}
		elsif (defined $msg && defined $level && $level =~ /^(DETAIL|HINT|CONTEXT|STATEMENT)$/ && $lpid eq $pid)
		{
			$msg .= "\n$line";
		}
		elsif (defined $msg && $line !~ /^\d{4}-\d\d-\d\d /)
		{
			$msg .= "\n$line";
		}
		else
		{
			$flush->();
		}
	}
	$flush->();
	return @bad;
}

sub finish
{
	my ($self) = @_;
	my $title = $self->{title};

	# (d)
	my $equal = 1;
	for my $tbl (@{ $self->{tables} })
	{
		my @r;
		WalmptcpLab::wait_for(sub {
			@r = $self->checksums($tbl);
			my %v = map { $_->[1] => 1 } @r;
			return keys(%v) == 1 && $r[0][1] !~ /^error/;
		}, 90);
		my %v = map { $_->[1] => 1 } @r;
		my $same = keys(%v) == 1 && $r[0][1] !~ /^error/;
		$equal &&= $same;
		ok($same, "$title: table $tbl->[0]: same count and checksum on " . join(', ', map { $_->[0] } @r)
			  . " ($r[0][1])")
		  or diag join("\n", map { "$_->[0]: $_->[1]" } @r);
	}

	# (c)
	my @restarts = @{ $self->{restarts} };
	is(scalar @restarts, 0, "$title: no walreceiver / apply worker restart during the soak")
	  or diag join("\n", @restarts);
	my ($flaps, @ev) = (0);
	for my $e (@{ $self->{nodes} })
	{
		my $n = $self->events($e, $self->{events_since});
		if ($n->{error})
		{
			fail("$title: walmptcp_events() on $e->{name}");
			diag $n->{error};
			next;
		}
		my $f = ($n->{reconnect} // 0) + ($n->{repair} // 0);
		$flaps += $f;
		is($f, 0, "$title: $e->{name}: no reconnect or repair event"
			  . (@{ $self->{faults} } ? ' after the settle window' : ''))
		  or diag explain $n;
		push @ev, "$e->{name}: " . join(' ', map { "$_=$n->{$_}" } sort keys %$n) if %$n;
	}
	note "$title: supervisor events: " . (@ev ? join('; ', @ev) : 'none');
	my $after = $self->endpoints;
	my $changes = 0;
	for my $h (sort keys %$after)
	{
		my $same = $after->{$h} eq $self->{endpoints_before}{$h};
		$changes++ unless $same;
		is($after->{$h}, $self->{endpoints_before}{$h},
			"$title: ip mptcp endpoint show in the $h namespace is the same after the soak"
			  . (@{ $self->{faults} } ? ' as right after the injected fault' : ' as before it'));
		note "$title: endpoints of $h changed between lab set-up and soak:\n$self->{endpoints_at_up}{$h}\n->\n$self->{endpoints_before}{$h}"
		  if !@{ $self->{faults} } && $self->{endpoints_at_up}{$h} ne $self->{endpoints_before}{$h};
	}

	# (b), once more for the numbers: the minimum of established subflows
	for my $what (sort keys %{ $self->{last} })
	{
		my $l = $self->{last}{$what};
		cmp_ok($l->{min_est}, '>=', $l->{min},
			"$title: $what kept at least $l->{min} established subflows during the soak");
	}

	# (a): after a clean shutdown, downstream nodes first
	for my $e (reverse @{ $self->{nodes} })
	{
		eval { $e->{node}->stop('fast', fail_ok => 1) };
	}
	my $bad_logs = 0;
	for my $e (@{ $self->{nodes} })
	{
		my @bad = bad_log_lines($e->{node}->logfile);
		$bad_logs += @bad;
		is(scalar @bad, 0, "$title: $e->{name}'s server log has no ERROR or FATAL message about walmptcp")
		  or diag join("\n", map { my @l = split /\n/; $l[0] . (@l > 1 ? "\n$l[1]" : '') . (@l > 2 ? ' ...' : '') }
			@bad[0 .. ($#bad < 7 ? $#bad : 7)]);
	}

	my $sub = join(', ', map {
		my $l = $self->{last}{$_};
		"$_ $l->{sql}/$l->{kernel}" . ($l->{established} != $l->{kernel} ? " ($l->{established} established)" : '')
	} sort keys %{ $self->{last} });
	diag sprintf('SUMMARY %s: subflows SQL/kernel at the last sample: %s; SQL != kernel in %d of %d checks over %d samples; '
		  . 'walreceiver/apply restarts %d; reconnect/repair events %d; endpoint changes %d; walmptcp ERROR/FATAL log messages %d; checksums %s%s',
		$title, ($sub || 'none') . join('', map { ", $_ SQL functions failed in $self->{sql_errors}{$_} samples" } sort keys %{ $self->{sql_errors} // {} }), $self->{mismatches}, $self->{checks}, $self->{samples},
		scalar @restarts, $flaps, $changes, $bad_logs, $equal ? 'equal' : 'DIFFER',
		$self->{extra_summary} ? "; $self->{extra_summary}" : '');
	$self->cleanup;
}

# Per connection seen in the soak: remote address family (4 or 6).
sub families
{
	my ($self) = @_;
	return { map { $_ => $self->{last}{$_}{family} } keys %{ $self->{last} } };
}

# The current kernel subflows of a node's registered MPTCP connections:
# { key => [ { tuple, state } ] } (empty on SQL errors).
sub kernel_view
{
	my ($self, $node) = @_;
	my $obs = $self->observe($self->node_entry($node));
	return {} if $obs->{error};
	return { map { $_->{key} => $_->{kernel_all} } @{ $obs->{conns} } };
}

sub add_summary
{
	my ($self, $text) = @_;
	$self->{extra_summary} = join('; ', grep { defined } $self->{extra_summary}, $text);
}

# ---- nftables: MP_JOIN SYNs dropped on a path -------------------------------

# Drop TCP SYNs carrying MP_JOIN (MPTCP option subtype 1) that arrive on
# path $path, in both namespaces; plain TCP and MP_CAPABLE pass.  The table
# is named after the lab, so that parallel runs never touch each other's.
sub drop_mp_join
{
	my ($self, $path) = @_;
	my $lab = $self->{lab};
	my $table = 'walmptcp_' . $lab->name;
	$self->{nft_table} = $table;
	for my $host ('primary', 'standby')
	{
		my $dev = $lab->ifname($host, $path);
		push @{ $self->{nft} }, $host;
		my $file = PostgreSQL::Test::Utils::tempdir() . "/nft-$host";
		PostgreSQL::Test::Utils::append_to_file($file, join("\n",
			"table inet $table {",
			"  chain input {",
			"    type filter hook input priority filter - 10; policy accept;",
			"    iifname \"$dev\" tcp flags & (syn | ack) == syn tcp option mptcp subtype 1 counter drop",
			"  }",
			"}", ''));
		$lab->run($host, 'nft', '-f', $file);
	}
	note "$self->{title}: nftables table inet $table drops MP_JOIN SYNs arriving on path $path";
}

# Packets the MP_JOIN rule dropped, per host.
sub mp_join_drops
{
	my ($self) = @_;
	my %n;
	for my $host (@{ $self->{nft} })
	{
		my $out = eval { $self->{lab}->run($host, 'nft', 'list', 'table', 'inet', $self->{nft_table}) } // '';
		$n{$host} = $out =~ /counter packets (\d+)/ ? $1 : 0;
	}
	return \%n;
}

sub cleanup
{
	my ($self) = @_;
	return if $self->{cleaned};
	$self->{cleaned} = 1;
	for my $w (@{ $self->{writers} })
	{
		eval { $w->{h}->kill_kill } if $w->{h};
	}
	for my $host (@{ $self->{nft} })
	{
		eval { $self->{lab}->run($host, 'nft', 'delete', 'table', 'inet', $self->{nft_table}) };
	}
	$self->{nft} = [];
	$self->{lab}->down;
	@live = grep { $_ != $self } @live;
}

END
{
	my $rc = $?;
	$_->cleanup for @live;
	$? = $rc;
}

1;
