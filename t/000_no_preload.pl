# Without shared_preload_libraries walmptcp changes nothing and its functions
# say why they cannot work.
#
# Copyright (c) 2026, the walmptcp authors
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('nopreload');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION walmptcp');

for my $call ('SELECT * FROM walmptcp_status()',
	"SELECT * FROM walmptcp_parse_conninfo('host=x mptcp=1')")
{
	my ($ret, $out, $err) = $node->psql('postgres', $call);
	isnt($ret, 0, "$call fails without preload");
	like($err, qr/walmptcp must be loaded via shared_preload_libraries/,
		'error says what is wrong');
	like($err, qr/HINT:\s+Add walmptcp to shared_preload_libraries/,
		'hint says what to do');
}

# A subscription with mptcp in its connection string (a restored dump, say)
# gets walmptcp's explanation instead of libpq's "invalid connection option".
my ($r, $o, $e) = $node->psql('postgres',
	"CREATE SUBSCRIPTION s CONNECTION 'host=/nonexistent dbname=app mptcp=1' PUBLICATION p WITH (connect = false)");
isnt($r, 0, 'CREATE SUBSCRIPTION with mptcp fails without preload');
like($e, qr/the subscription's connection string uses the option "mptcp", but walmptcp is not loaded in this server/,
	'error names the option and the cause');
like($e, qr/HINT:\s+Add walmptcp to shared_preload_libraries and restart, or remove the mptcp option/,
	'hint says what to do');
$node->safe_psql('postgres',
	"CREATE SUBSCRIPTION s CONNECTION 'host=/nonexistent dbname=app' PUBLICATION p WITH (connect = false)");
pass('CREATE SUBSCRIPTION without mptcp is untouched');
$node->safe_psql('postgres', 'ALTER SUBSCRIPTION s DISABLE; ALTER SUBSCRIPTION s SET (slot_name = NONE); DROP SUBSCRIPTION s');
is($node->safe_psql('postgres', 'SELECT walmptcp_preloaded()'), 'f', 'walmptcp_preloaded() is false');

# Loading the library late does not define or reserve its parameters.
my ($ret, $out, $err) = $node->psql('postgres', "LOAD 'walmptcp'; SHOW walmptcp.listen");
isnt($ret, 0, 'walmptcp.listen is not defined without preload');

$node->stop;
done_testing();
