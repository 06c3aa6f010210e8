/* walmptcp--1.0.sql */
-- Copyright (c) 2026, the walmptcp authors

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION walmptcp" to load this file. \quit

CREATE FUNCTION walmptcp_parse_conninfo(
    conninfo text,
    OUT mode text,
    OUT explicit bool,
    OUT libpq_conninfo text)
RETURNS record
AS 'MODULE_PATHNAME', 'walmptcp_parse_conninfo_sql'
LANGUAGE C STRICT STABLE PARALLEL SAFE;

COMMENT ON FUNCTION walmptcp_parse_conninfo(text) IS
'MPTCP mode walmptcp uses for a connection string, and the string libpq gets';

CREATE FUNCTION walmptcp_status(
    OUT kernel_mptcp bool,
    OUT kernel_detail text,
    OUT listen_mptcp_sockets int,
    OUT listen_tcp_sockets int,
    OUT listen_detail text,
    OUT default_mode text)
RETURNS record
AS 'MODULE_PATHNAME', 'walmptcp_status'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION walmptcp_status() IS
'Whether this server''s kernel and listen sockets use Multipath TCP';

CREATE FUNCTION walmptcp_connections(
    pid int DEFAULT NULL,
    OUT pid int,
    OUT role text,
    OUT application_name text,
    OUT local_addr inet,
    OUT local_port int,
    OUT remote_addr inet,
    OUT remote_port int,
    OUT requested_mode text,
    OUT mptcp bool,
    OUT fallback_reason text,
    OUT subflows int,
    OUT subflows_max int,
    OUT add_addr_signal int,
    OUT add_addr_accepted int,
    OUT bytes_sent bigint,
    OUT bytes_received bigint,
    OUT bytes_acked bigint,
    OUT bytes_retrans bigint,
    OUT token text,
    OUT connected_at timestamptz,
    OUT kernel_detail text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'walmptcp_connections'
LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 10;

COMMENT ON FUNCTION walmptcp_connections(int) IS
'One row per replication connection of this node, with its MPTCP state from the kernel';

CREATE FUNCTION walmptcp_subflows(
    pid int DEFAULT NULL,
    OUT pid int,
    OUT role text,
    OUT local_addr inet,
    OUT local_port int,
    OUT remote_addr inet,
    OUT remote_port int,
    OUT local_id int,
    OUT remote_id int,
    OUT backup bool,
    OUT kind text,
    OUT state text,
    OUT rtt_us bigint,
    OUT cwnd int,
    OUT bytes_sent bigint,
    OUT bytes_received bigint,
    OUT bytes_acked bigint,
    OUT retrans bigint,
    OUT delivery_rate bigint,
    OUT fully_established bool)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'walmptcp_subflows'
LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 20;

COMMENT ON FUNCTION walmptcp_subflows(int) IS
'One row per TCP subflow of each replication connection of this node';

CREATE VIEW walmptcp_stat_replication AS
SELECT r.*,
       c.mptcp,
       c.fallback_reason,
       c.subflows,
       c.subflows_max,
       c.add_addr_signal,
       c.add_addr_accepted,
       c.bytes_sent AS mptcp_bytes_sent,
       c.bytes_acked AS mptcp_bytes_acked,
       c.bytes_retrans AS mptcp_bytes_retrans,
       c.token AS mptcp_token
  FROM pg_stat_replication r
  LEFT JOIN walmptcp_connections() c ON c.pid = r.pid;

CREATE VIEW walmptcp_stat_wal_receiver AS
SELECT w.*,
       c.requested_mode AS mptcp_mode,
       c.mptcp,
       c.fallback_reason,
       c.subflows,
       c.subflows_max,
       c.add_addr_accepted,
       c.bytes_received AS mptcp_bytes_received,
       c.token AS mptcp_token
  FROM pg_stat_wal_receiver w
  LEFT JOIN walmptcp_connections() c ON c.pid = w.pid;

-- A subscription whose connection string carries "mptcp" needs walmptcp
-- loaded: without it libpq rejects the unknown option.  This trigger turns
-- that into an error that says what to do (for instance when a dump is
-- restored on a server that does not preload walmptcp).
CREATE FUNCTION walmptcp_preloaded()
RETURNS bool
AS 'MODULE_PATHNAME', 'walmptcp_preloaded_sql'
LANGUAGE C STRICT STABLE PARALLEL SAFE;

COMMENT ON FUNCTION walmptcp_preloaded() IS
'Whether walmptcp is in shared_preload_libraries of this server';

CREATE FUNCTION walmptcp_check_subscription_conninfo()
RETURNS event_trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF NOT walmptcp_preloaded() AND current_query() ~ '\mmptcp\s*=' THEN
        RAISE EXCEPTION 'the subscription''s connection string uses the option "mptcp", but walmptcp is not loaded in this server'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'libpq does not know the option "mptcp"; walmptcp removes it before connecting only when it is in shared_preload_libraries.',
                  HINT = 'Add walmptcp to shared_preload_libraries and restart, or remove the mptcp option from the connection string and set walmptcp.default_mode instead.';
    END IF;
END
$$;

CREATE EVENT TRIGGER walmptcp_subscription_conninfo ON ddl_command_start
    WHEN TAG IN ('CREATE SUBSCRIPTION', 'ALTER SUBSCRIPTION')
    EXECUTE FUNCTION walmptcp_check_subscription_conninfo();

CREATE FUNCTION walmptcp_events(
    OUT event_time timestamptz,
    OUT pid int,
    OUT role text,
    OUT local_addr text,
    OUT remote_addr text,
    OUT event text,
    OUT detail text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'walmptcp_events'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION walmptcp_events() IS
'What the walmptcp supervisor saw and did: subflows lost and added, degraded connections, repairs';
