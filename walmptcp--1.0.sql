/* walmptcp--1.0.sql */

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
