//! `SHOW SLAVE STATUS` / `SHOW REPLICA STATUS` rows from a hostile or broken server: any column
//! names and values (NULL or text), interpreted in each flavor; the default channel picked from
//! several rows.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use shardkeeper::mysql::status::{default_channel, is_read_column, parse_replica_status};
use shardkeeper::mysql::{Flavor, StatusRow};

/// The columns the parser reads, so that most rows get past "no column".
const COLUMNS: [&str; 17] = [
    "Master_Host", "Source_Host", "Master_Port", "Source_Port", "Slave_IO_Running", "Replica_IO_Running",
    "Slave_SQL_Running", "Replica_SQL_Running", "Last_IO_Error", "Last_SQL_Error", "Seconds_Behind_Master",
    "Seconds_Behind_Source", "Using_Gtid", "Gtid_IO_Pos", "Auto_Position", "Retrieved_Gtid_Set", "Channel_Name",
];

#[derive(Arbitrary, Debug)]
struct Column {
    /// An index into `COLUMNS` (its case changed when odd), or a name of its own.
    known: Option<u8>,
    name: String,
    value: Option<String>,
}

fn row(columns: &[Column]) -> StatusRow {
    columns
        .iter()
        .map(|column| {
            let name = match column.known {
                Some(index) => {
                    let name = COLUMNS[usize::from(index) % COLUMNS.len()];
                    if index % 2 == 1 { name.to_ascii_uppercase() } else { name.to_string() }
                }
                None => column.name.clone(),
            };
            (name, column.value.clone())
        })
        .collect()
}

fuzz_target!(|rows: Vec<Vec<Column>>| {
    let rows: Vec<StatusRow> = rows.iter().map(|columns| row(columns)).collect();
    for row in &rows {
        for name in row.keys() {
            let _ = is_read_column(name);
        }
        for flavor in [Flavor::MariaDb, Flavor::MySql80, Flavor::MySql84] {
            if let Ok(status) = parse_replica_status(flavor, "db:3306", row) {
                let _ = (status.source_addr(), status.io_running_or_connecting(), status.received_gtids.to_string());
            }
        }
    }
    let _ = default_channel(rows);
});
