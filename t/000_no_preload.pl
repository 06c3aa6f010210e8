# Without shared_preload_libraries walmptcp changes nothing and its functions
# say why they cannot work.
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

# Loading the library late does not define or reserve its parameters.
my ($ret, $out, $err) = $node->psql('postgres', "LOAD 'walmptcp'; SHOW walmptcp.listen");
isnt($ret, 0, 'walmptcp.listen is not defined without preload');

$node->stop;
done_testing();
