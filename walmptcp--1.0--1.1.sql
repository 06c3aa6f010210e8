/* walmptcp--1.0--1.1.sql */
-- Copyright (c) 2026, the walmptcp authors

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION walmptcp UPDATE TO '1.1'" to load this file. \quit

-- The event trigger's function runs as whoever issues CREATE/ALTER
-- SUBSCRIPTION, under their search_path: pg_dump's empty one (every
-- subscription of a restore failed with "function walmptcp_preloaded()
-- does not exist"), a schema of the extension's own that is not on it, or
-- one where another role put a function of the same name first
-- (CVE-2018-1058).  Everything it calls is now qualified and its
-- search_path pinned.
CREATE OR REPLACE FUNCTION walmptcp_check_subscription_conninfo()
RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT @extschema@.walmptcp_preloaded()
       AND pg_catalog.current_query() ~ '\mmptcp\s*=' THEN
        RAISE EXCEPTION 'the subscription''s connection string uses the option "mptcp", but walmptcp is not loaded in this server'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'libpq does not know the option "mptcp"; walmptcp removes it before connecting only when it is in shared_preload_libraries.',
                  HINT = 'Add walmptcp to shared_preload_libraries and restart, or remove the mptcp option from the connection string and set walmptcp.default_mode instead.';
    END IF;
END
$$;

-- walmptcp_parse_conninfo() reads the server OS user's service files for a
-- service name of the caller's choice and names the file and line that set
-- "mptcp": not for every role.  Superusers keep it; GRANT it to whom needs
-- it.
REVOKE EXECUTE ON FUNCTION walmptcp_parse_conninfo(text) FROM PUBLIC;

-- The views add walmptcp_connections()'s columns to pg_stat_replication and
-- pg_stat_wal_receiver, which every role may read (core masks their columns
-- per caller).  walmptcp_connections() masks per caller too, and a view
-- calls it as the caller, so a view shows no role more than the function
-- does.  In 1.0 only the views' owner could read them: not even pg_monitor.
GRANT SELECT ON walmptcp_stat_replication, walmptcp_stat_wal_receiver TO PUBLIC;
