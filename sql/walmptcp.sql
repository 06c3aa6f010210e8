-- walmptcp: what can be checked inside one server
CREATE EXTENSION walmptcp;

-- GUCs: defaults, reserved prefix, bad values
SHOW walmptcp.listen;
SHOW walmptcp.default_mode;
SET walmptcp.default_mode = 'require';      -- reloadable only
SET walmptcp.listen = off;                  -- postmaster only
SET walmptcp.no_such_setting = 1;           -- prefix is reserved
SELECT set_config('walmptcp.default_mode', 'maybe', false);
SHOW walmptcp.supervisor;
SHOW walmptcp.check_interval;
SHOW walmptcp.repair;
-- invalid values are rejected before they reach postgresql.auto.conf
ALTER SYSTEM SET walmptcp.repair = 'sometimes';
SELECT min_val, max_val, unit, context FROM pg_settings WHERE name = 'walmptcp.check_interval';
ALTER SYSTEM SET walmptcp.check_interval = 'soon';
ALTER SYSTEM SET walmptcp.default_mode = 'maybe';
ALTER SYSTEM SET walmptcp.listen = 'perhaps';
SET walmptcp.check_interval = '2s';          -- reloadable only

-- the mptcp keyword, key=value form
SELECT * FROM walmptcp_parse_conninfo('host=primary mptcp=1 user=repl');
SELECT * FROM walmptcp_parse_conninfo('host=primary user=repl mptcp=0');
SELECT * FROM walmptcp_parse_conninfo('mptcp = require host=a,b port=5432,5433');
SELECT * FROM walmptcp_parse_conninfo('host=x mptcp=PREFER');
SELECT * FROM walmptcp_parse_conninfo('host=x mptcp=Yes');
SELECT * FROM walmptcp_parse_conninfo('host=x mptcp=off');
SELECT * FROM walmptcp_parse_conninfo('host=x mptcp=false');
SELECT * FROM walmptcp_parse_conninfo('host=x mptcp=no');
SELECT * FROM walmptcp_parse_conninfo('host=x mptcp=true');
SELECT * FROM walmptcp_parse_conninfo('host=x mptcp=on');
SELECT * FROM walmptcp_parse_conninfo($$host=x mptcp='require'$$);
-- last one wins, as in libpq
SELECT * FROM walmptcp_parse_conninfo('mptcp=maybe host=x mptcp=1');
-- quoted values with blanks and escapes are kept byte for byte
SELECT * FROM walmptcp_parse_conninfo($$password='a b\'c' mptcp=1 application_name='mptcp=0'$$);
-- without the keyword: walmptcp.default_mode (off here)
SELECT * FROM walmptcp_parse_conninfo('host=primary user=repl');
SELECT * FROM walmptcp_parse_conninfo('');
-- keywords are case-sensitive in libpq: MPTCP is not ours, libpq will reject it
SELECT * FROM walmptcp_parse_conninfo('host=x MPTCP=1');
-- a string libpq cannot parse is passed on untouched for libpq to report
SELECT * FROM walmptcp_parse_conninfo($$host='x mptcp=1$$);

-- URI form
SELECT * FROM walmptcp_parse_conninfo('postgresql://repl@a,b:5432/db?mptcp=1&sslmode=require');
SELECT * FROM walmptcp_parse_conninfo('postgres://h/db?sslmode=require&mptcp=require');
SELECT * FROM walmptcp_parse_conninfo('postgresql://h/db?mptcp=%72equire');
SELECT * FROM walmptcp_parse_conninfo('postgresql://h/db?mptcp=0');
SELECT * FROM walmptcp_parse_conninfo('postgresql://h/db');

-- invalid values
SELECT * FROM walmptcp_parse_conninfo('host=x mptcp=maybe');
SELECT * FROM walmptcp_parse_conninfo($$host=x mptcp=''$$);
SELECT * FROM walmptcp_parse_conninfo('host=x mptcp=2');
SELECT * FROM walmptcp_parse_conninfo('postgresql://h/db?mptcp=');
SELECT * FROM walmptcp_parse_conninfo('postgresql://h/db?mptcp=%zz');
SELECT * FROM walmptcp_parse_conninfo(NULL);

-- status: shape only, the values depend on the kernel
SELECT kernel_mptcp IS NOT NULL AS has_kernel_answer,
       listen_mptcp_sockets + listen_tcp_sockets >= 0 AS has_listen_counts,
       default_mode
  FROM walmptcp_status();

-- CREATE SUBSCRIPTION sees the keyword through walrcv_check_conninfo
CREATE SUBSCRIPTION bad CONNECTION 'host=x mptcp=maybe' PUBLICATION p
  WITH (connect = false);
SET client_min_messages = error;  -- the connect = false WARNING differs by major
CREATE SUBSCRIPTION ok CONNECTION 'host=x dbname=postgres mptcp=1' PUBLICATION p
  WITH (connect = false, slot_name = NONE, enabled = false, create_slot = false);
RESET client_min_messages;
SELECT subname, subconninfo FROM pg_subscription;
DROP SUBSCRIPTION ok;

-- observability: signatures, empty results without replication, arguments
SELECT proname, pronargs, proretset, provolatile, prorettype::regtype
  FROM pg_proc WHERE proname LIKE 'walmptcp%' ORDER BY 1;
SELECT * FROM walmptcp_connections() WHERE false;
SELECT * FROM walmptcp_subflows() WHERE false;
SELECT walmptcp_preloaded();
SELECT count(*) FROM walmptcp_connections();
SELECT count(*) FROM walmptcp_subflows();
SELECT count(*) FROM walmptcp_connections(NULL);
SELECT count(*) FROM walmptcp_connections(pg_backend_pid());
SELECT count(*) FROM walmptcp_subflows(pg_backend_pid());
SELECT * FROM walmptcp_connections(0);
SELECT * FROM walmptcp_subflows(-5);
SELECT * FROM walmptcp_connections('x');
SELECT count(*) FROM walmptcp_stat_replication;
SELECT count(*) >= 0 AS events_readable FROM walmptcp_events();
SELECT count(*) FROM walmptcp_stat_wal_receiver;
-- an unprivileged role may call them (masking is tested with live rows in TAP)
CREATE ROLE walmptcp_nobody;
SET ROLE walmptcp_nobody;
SELECT count(*) FROM walmptcp_connections();
SELECT count(*) FROM walmptcp_subflows();
SELECT count(*) FROM walmptcp_stat_replication;
SELECT count(*) FROM walmptcp_stat_wal_receiver;
SELECT count(*) >= 0 AS events_readable FROM walmptcp_events();
SELECT default_mode FROM walmptcp_status();
SELECT walmptcp_preloaded();
-- ... but not walmptcp_parse_conninfo(), which reads the server's service files
SELECT * FROM walmptcp_parse_conninfo('service=anything');
RESET ROLE;
-- pg_monitor: the same, and walmptcp_parse_conninfo() still not (reading
-- service files is not monitoring)
CREATE ROLE walmptcp_monitor IN ROLE pg_monitor;
SET ROLE walmptcp_monitor;
SELECT count(*) FROM walmptcp_stat_replication;
SELECT * FROM walmptcp_parse_conninfo('service=anything');
RESET ROLE;
-- the whole privileges table (README "Privileges")
SELECT * FROM (
  SELECT p.oid::regprocedure::text AS object,
         has_function_privilege('walmptcp_nobody', p.oid, 'EXECUTE') AS any_role,
         has_function_privilege('walmptcp_monitor', p.oid, 'EXECUTE') AS pg_monitor
    FROM pg_proc p WHERE proname LIKE 'walmptcp%'
  UNION ALL
  SELECT c.oid::regclass::text,
         has_table_privilege('walmptcp_nobody', c.oid, 'SELECT'),
         has_table_privilege('walmptcp_monitor', c.oid, 'SELECT')
    FROM pg_class c WHERE relname LIKE 'walmptcp%') privileges
 ORDER BY object COLLATE "C";
DROP ROLE walmptcp_nobody;
DROP ROLE walmptcp_monitor;

-- The event trigger works under any search_path: pg_dump's empty one, and
-- with the extension in a schema of its own that is not on the path.
SET search_path = '';
SET client_min_messages = error;
CREATE SUBSCRIPTION emptypath CONNECTION 'host=x dbname=postgres mptcp=1' PUBLICATION p
  WITH (connect = false, slot_name = NONE, enabled = false, create_slot = false);
ALTER SUBSCRIPTION emptypath CONNECTION 'host=y dbname=postgres';
RESET client_min_messages;
DROP SUBSCRIPTION emptypath;
RESET search_path;
DROP EXTENSION walmptcp;
CREATE SCHEMA walmptcp_own;
CREATE EXTENSION walmptcp SCHEMA walmptcp_own;
SELECT extversion FROM pg_extension WHERE extname = 'walmptcp';
SET search_path = '';
SET client_min_messages = error;
CREATE SUBSCRIPTION ownschema CONNECTION 'host=x dbname=postgres' PUBLICATION p
  WITH (connect = false, slot_name = NONE, enabled = false, create_slot = false);
ALTER SUBSCRIPTION ownschema DISABLE;
RESET client_min_messages;
DROP SUBSCRIPTION ownschema;
-- a function of the same name earlier on the issuer's path is not called
RESET search_path;
CREATE FUNCTION public.walmptcp_preloaded() RETURNS bool
  LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the shadowing public.walmptcp_preloaded() was called'; END $$;
SET search_path = public, walmptcp_own;
SET client_min_messages = error;
CREATE SUBSCRIPTION shadowed CONNECTION 'host=x dbname=postgres' PUBLICATION p
  WITH (connect = false, slot_name = NONE, enabled = false, create_slot = false);
RESET client_min_messages;
DROP SUBSCRIPTION shadowed;
RESET search_path;
DROP FUNCTION public.walmptcp_preloaded();
DROP EXTENSION walmptcp;
DROP SCHEMA walmptcp_own;

-- 1.0 -> 1.1: the update script leaves the same objects as a new install
CREATE EXTENSION walmptcp VERSION '1.0';
ALTER EXTENSION walmptcp UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'walmptcp';
SELECT proconfig FROM pg_proc WHERE proname = 'walmptcp_check_subscription_conninfo';
SELECT has_function_privilege('public', 'walmptcp_parse_conninfo(text)', 'EXECUTE') AS public_may_parse;
SELECT has_table_privilege('public', 'walmptcp_stat_replication', 'SELECT') AS public_may_read_views;
DROP EXTENSION walmptcp;
