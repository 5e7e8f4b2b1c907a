//! The operations `DbClient` offers, as sequences of statements on one `Session`: probe, fence,
//! promote, repoint, waits, replica discovery. Each step is idempotent, so a step interrupted by
//! a timeout can be retried from the start. Statement text comes from `dialect`; the session
//! bounds every step with the timeouts.

use std::time::Duration;

use mysql_async::{Params, Row};

use crate::mysql::dialect;
use crate::mysql::session::{row_map, row_values, Session};
use crate::mysql::status::{default_channel, is_read_column, join_host_port, parse_replica_status};
use crate::mysql::{
    DbError, GtidSet, MariaDbGtids, ReplicaStatus, ReplicationSource, ServerState,
    ER_NO_SUCH_THREAD, ER_UNKNOWN_SYSTEM_VARIABLE,
};

impl Session {
    /// `spare`: a session of ours besides this one, not counted as a client.
    pub(crate) async fn probe(&mut self, spare: Option<u32>) -> Result<ServerState, DbError> {
        // The statement only changes with `spare`: built once per session, not once per probe.
        let sql = match self.probe_sql.take() {
            Some((built_for, sql)) if built_for == spare => sql,
            _ => dialect::probe_with_replica_status(self.flavor, spare),
        };
        let result_sets = self.two_row_sets("probe", &sql).await;
        self.probe_sql = Some((spare, sql));
        let (probe_rows, replica_rows) = result_sets?;
        let row = probe_rows.first().map(row_values).unwrap_or_default();
        let vars = dialect::parse_probe(self.flavor, &self.addr, &row)?;
        let replica = self.interpret_replica_status(&replica_rows)?;
        Ok(ServerState {
            version: vars.version,
            flavor: self.flavor,
            server_id: vars.server_id,
            server_uuid: vars.server_uuid,
            read_only: vars.read_only,
            gtid_executed: vars.gtid_executed,
            replica,
            semi_sync_source_enabled: vars.semi_sync_source_enabled,
            semi_sync_source_active: vars.semi_sync_source_active,
            semi_sync_replica_enabled: vars.semi_sync_replica_enabled,
            client_count: vars.client_count,
            log_bin: vars.log_bin,
            log_replica_updates: vars.log_replica_updates,
        })
    }

    pub(crate) async fn replica_status(&mut self) -> Result<Option<ReplicaStatus>, DbError> {
        let rows = self.rows("replica status", dialect::replica_status(self.flavor)).await?;
        self.interpret_replica_status(&rows)
    }

    /// The default channel's row of a replica status answer, if replication is configured.
    fn interpret_replica_status(&self, rows: &[Row]) -> Result<Option<ReplicaStatus>, DbError> {
        let rows = rows.iter().map(|row| row_map(row, is_read_column)).collect();
        match default_channel(rows) {
            None => Ok(None),
            Some(row) => parse_replica_status(self.flavor, &self.addr, &row).map(Some),
        }
    }

    pub(crate) async fn gtid_executed(&mut self) -> Result<GtidSet, DbError> {
        let row = self
            .first_row("gtid executed", dialect::executed_gtids_query(self.flavor))
            .await?
            .unwrap_or_default();
        let col = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
        dialect::executed_gtids(self.flavor, &col(0), &col(1))
    }

    pub(crate) async fn set_read_only(&mut self, read_only: bool) -> Result<(), DbError> {
        self.execute_as(
            "set read_only",
            dialect::set_read_only(self.flavor, read_only),
        )
        .await?;
        tracing::info!(addr = %self.addr, read_only, "read_only set");
        Ok(())
    }

    /// Kills client sessions except this one and `spare` (another session of ours).
    pub(crate) async fn kill_client_sessions(
        &mut self,
        spare: Option<u32>,
    ) -> Result<u32, DbError> {
        let ids: Vec<u64> = self
            .rows("list sessions", &dialect::client_session_ids(spare))
            .await?
            .iter()
            .filter_map(|row| row.as_ref(0).and_then(crate::mysql::session::value_text))
            .filter_map(|id| id.trim().parse::<u64>().ok())
            .collect();
        let mut killed = 0u32;
        for id in ids {
            match self.execute_as("kill session", &dialect::kill(id)).await {
                Ok(()) => killed += 1,
                // The session ended on its own meanwhile.
                Err(e) if e.server_code() == Some(ER_NO_SUCH_THREAD) => {}
                Err(e) => return Err(e),
            }
        }
        if killed > 0 {
            tracing::info!(addr = %self.addr, killed, "client sessions killed");
        }
        Ok(killed)
    }

    pub(crate) async fn fence(&mut self, spare: Option<u32>) -> Result<u32, DbError> {
        let before = self.kill_client_sessions(spare).await?;
        self.set_read_only(true).await?;
        let after = self.kill_client_sessions(spare).await?;
        Ok(before + after)
    }

    pub(crate) async fn promote(&mut self, semi_sync: bool) -> Result<(), DbError> {
        let flavor = self.flavor;
        self.stop_replication().await?;
        self.execute_as("reset replication", dialect::reset_replication(flavor))
            .await?;
        if semi_sync {
            let names = dialect::semi_sync_names(flavor);
            self.execute_as(
                "enable semi-sync",
                &dialect::set_global_flag(names.source_enabled, true),
            )
            .await?;
            self.execute_as(
                "enable semi-sync",
                &dialect::set_global_flag(names.replica_enabled, false),
            )
            .await?;
        }
        self.execute_as("set read_only", dialect::set_read_only(flavor, false))
            .await?;
        tracing::info!(addr = %self.addr, semi_sync, "promoted to primary");
        Ok(())
    }

    pub(crate) async fn repoint(
        &mut self,
        source: &ReplicationSource,
        semi_sync: bool,
    ) -> Result<(), DbError> {
        let flavor = self.flavor;
        self.execute_as("set read_only", dialect::set_read_only(flavor, true))
            .await?;
        self.stop_replication().await?;
        if flavor.is_mariadb() {
            self.align_slave_pos().await?;
        }
        self.execute_secret("change source", &dialect::change_source(flavor, source))
            .await?;
        let names = dialect::semi_sync_names(flavor);
        self.set_semi_sync_flag(names.replica_enabled, semi_sync)
            .await?;
        self.set_semi_sync_flag(names.source_enabled, false).await?;
        self.execute_as("start replication", dialect::start_replication(flavor))
            .await?;
        tracing::info!(
            addr = %self.addr,
            source = %join_host_port(&source.host, source.port),
            semi_sync,
            "replication repointed"
        );
        Ok(())
    }

    /// MariaDB: when the server wrote transactions of its own beyond its slave position (it was
    /// a primary), replication must resume after them: per domain, the slave position becomes
    /// the binlog position where that one is further along.
    async fn align_slave_pos(&mut self) -> Result<(), DbError> {
        let row = self
            .first_row("read positions", dialect::MARIADB_POSITIONS)
            .await?
            .unwrap_or_default();
        let col = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
        let binlog_pos = MariaDbGtids::parse(&col(0))?.domain_positions();
        let slave_pos = MariaDbGtids::parse(&col(1))?.domain_positions();
        if !binlog_pos.is_ahead_of(&slave_pos) {
            return Ok(());
        }
        let mut merged = MariaDbGtids::new();
        for gtid in slave_pos.iter().chain(binlog_pos.iter()) {
            merged.insert(gtid);
        }
        let merged = merged.domain_positions();
        self.execute_as("set gtid_slave_pos", &dialect::set_gtid_slave_pos(&merged))
            .await?;
        tracing::info!(
            addr = %self.addr,
            old = %slave_pos,
            new = %merged,
            "gtid_slave_pos moved to the server's own binlog position"
        );
        Ok(())
    }

    /// Sets a semi-sync flag; turning one off where the plugin is not loaded (MySQL) is a no-op.
    async fn set_semi_sync_flag(&mut self, name: &str, on: bool) -> Result<(), DbError> {
        match self
            .execute_as("set semi-sync", &dialect::set_global_flag(name, on))
            .await
        {
            Err(e) if !on && e.server_code() == Some(ER_UNKNOWN_SYSTEM_VARIABLE) => Ok(()),
            other => other,
        }
    }

    pub(crate) async fn wait_for_gtids(
        &mut self,
        target: &GtidSet,
        timeout: Duration,
    ) -> Result<bool, DbError> {
        let executed = self.gtid_executed().await?;
        if target.is_subset_of(&executed) {
            return Ok(true);
        }
        if timeout.is_zero() {
            return Ok(false);
        }
        self.wait_position(&target.wait_position(), timeout).await
    }

    /// Runs the flavor's wait function for a position in its own form.
    async fn wait_position(&mut self, position: &str, timeout: Duration) -> Result<bool, DbError> {
        let flavor = self.flavor;
        let seconds = dialect::wait_timeout_arg(flavor, timeout);
        let params = Params::Positional(vec![position.into(), seconds.into()]);
        let extra = Duration::from_secs_f64(seconds);
        let answer = self
            .exec_int(
                "wait for gtids",
                dialect::wait_for_gtids(flavor),
                params,
                extra,
            )
            .await?;
        dialect::wait_reached(flavor, answer).ok_or_else(|| {
            DbError::unexpected(
                &self.addr,
                "wait for gtids",
                format!("wait answered {answer:?}"),
            )
        })
    }

    pub(crate) async fn wait_relay_log_applied(
        &mut self,
        timeout: Duration,
    ) -> Result<bool, DbError> {
        let Some(status) = self.replica_status().await? else {
            return Ok(true);
        };
        let received = status.received_gtids;
        let executed = self.gtid_executed().await?;
        if received.is_subset_of(&executed) {
            return Ok(true);
        }
        if !status.sql_running || timeout.is_zero() {
            return Ok(false);
        }
        self.wait_position(&received.wait_position(), timeout).await
    }

    pub(crate) async fn replica_addresses(&mut self) -> Result<Vec<String>, DbError> {
        let rows = self
            .row_maps("replica hosts", dialect::replica_hosts(self.flavor), |_| true)
            .await?;
        let mut out = Vec::new();
        for row in rows {
            let get = |name: &str| {
                row.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .and_then(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let host = get("Host");
            let port = get("Port").trim().parse::<u16>().unwrap_or(0);
            if host.trim().is_empty() || port == 0 {
                tracing::debug!(addr = %self.addr, server_id = %get("Server_id"), "replica reports no address");
                continue;
            }
            out.push(join_host_port(host.trim(), port));
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    pub(crate) async fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        self.execute_as("execute", sql).await
    }

    pub(crate) async fn query_text(
        &mut self,
        sql: &str,
    ) -> Result<Vec<Vec<Option<String>>>, DbError> {
        Ok(self
            .rows("query", sql)
            .await?
            .iter()
            .map(crate::mysql::session::row_values)
            .collect())
    }
}
