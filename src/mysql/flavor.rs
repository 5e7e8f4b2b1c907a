//! `Flavor`: which SQL dialect and GTID format a server speaks, decided from its version string.
//! Pure; owns nothing else.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The server families shardkeeper drives. MySQL 8.0 means 8.0.26 or later (see `dialect`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Flavor {
    /// MariaDB 10.x / 11.x: `domain-server-seq` GTIDs, `SLAVE` / `MASTER` statements.
    #[serde(rename = "mariadb")]
    MariaDb,
    /// MySQL 8.0 (8.0.26+): `uuid:interval` GTIDs, `REPLICA` / `SOURCE` statements.
    #[serde(rename = "mysql-8.0")]
    MySql80,
    /// MySQL 8.4 LTS and later (9.x): as 8.0, the old `SLAVE` / `MASTER` statements are gone.
    #[serde(rename = "mysql-8.4")]
    MySql84,
}

impl Flavor {
    /// Decides the flavor from `@@version` (or the handshake version). Anything that names
    /// MariaDB is MariaDB; otherwise MySQL: 8.0.x is `MySql80`, 8.1 and later (8.4 LTS, 9.x) are
    /// `MySql84`. Versions older than 8.0 are not supported and map to `MySql80`, the closest;
    /// an unparsable version maps to `MySql84`, the current dialect.
    pub fn from_version(version: &str) -> Flavor {
        if version.to_ascii_lowercase().contains("mariadb") {
            return Flavor::MariaDb;
        }
        let mut parts = version
            .trim()
            .split(|c: char| !c.is_ascii_digit())
            .map(|p| p.parse::<u32>().ok());
        match (parts.next().flatten(), parts.next().flatten()) {
            (Some(major), _) if major < 8 => Flavor::MySql80,
            (Some(8), Some(0)) => Flavor::MySql80,
            _ => Flavor::MySql84,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Flavor::MariaDb => "mariadb",
            Flavor::MySql80 => "mysql-8.0",
            Flavor::MySql84 => "mysql-8.4",
        }
    }

    pub fn is_mariadb(self) -> bool {
        self == Flavor::MariaDb
    }
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_version() {
        let cases = [
            ("10.11.6-MariaDB-0+deb12u1", Flavor::MariaDb),
            ("10.11.19-MariaDB-0+deb12u1-log", Flavor::MariaDb),
            ("5.5.5-10.6.12-MariaDB", Flavor::MariaDb),
            ("11.4.2-MariaDB-ubu2404", Flavor::MariaDb),
            ("8.0.36", Flavor::MySql80),
            ("8.0.26-log", Flavor::MySql80),
            ("8.0.39-0ubuntu0.22.04.1", Flavor::MySql80),
            ("5.7.44", Flavor::MySql80),
            ("8.4.0", Flavor::MySql84),
            ("8.4.3-commercial", Flavor::MySql84),
            ("8.1.0", Flavor::MySql84),
            ("9.1.0", Flavor::MySql84),
            ("", Flavor::MySql84),
            ("garbage", Flavor::MySql84),
        ];
        for (version, want) in cases {
            assert_eq!(Flavor::from_version(version), want, "{version}");
        }
    }

    #[test]
    fn names_and_serde() {
        for (flavor, name) in [
            (Flavor::MariaDb, "mariadb"),
            (Flavor::MySql80, "mysql-8.0"),
            (Flavor::MySql84, "mysql-8.4"),
        ] {
            assert_eq!(flavor.as_str(), name);
            assert_eq!(flavor.to_string(), name);
            let json = serde_json::to_string(&flavor).unwrap();
            assert_eq!(json, format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<Flavor>(&json).unwrap(), flavor);
        }
    }
}
