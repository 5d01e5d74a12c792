//! SQL from the controller to the nodes with tokio-postgres.
//!
//! The controller connects over the lab network as the `lab` role (md5/SCRAM password, allowed
//! by one pg_hba line for the lab network's gateway), so checks never depend on a shell or psql.
//! Values come back as text through the simple-query protocol, whatever the server version.

use indexmap::IndexMap;
use std::time::Duration;

use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

/// Why a connection or a statement failed, in the server's words where it sent any.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqlError {
    /// The server did not answer within the time given.
    #[error("{addr}: no answer in {timeout:?}")]
    NoAnswer {
        /// The node's address.
        addr: String,
        /// How long the controller waited.
        timeout: Duration,
    },
    /// The connection was refused or failed.
    #[error("{addr}: {message}")]
    Connect {
        /// The node's address.
        addr: String,
        /// The server's message (or the client's).
        message: String,
        /// The server's SQLSTATE, if it sent one.
        code: Option<SqlState>,
    },
    /// A statement failed.
    #[error("`{sql}`: {message}")]
    Statement {
        /// The statement.
        sql: String,
        /// The server's message (or the client's).
        message: String,
    },
}

/// The role the controller connects as.
pub const CONTROLLER_ROLE: &str = "lab";

/// A row: column name to text value (`None` for NULL), in column order.
pub type Row = Vec<(String, Option<String>)>;

impl SqlError {
    /// The server refused the connection with this SQLSTATE (`CANNOT_CONNECT_NOW`: a hot
    /// standby before consistency; `INVALID_PASSWORD`: not this lab's password).
    pub fn is(&self, state: &SqlState) -> bool {
        matches!(self, SqlError::Connect { code: Some(c), .. } if c == state)
    }
}

/// Connects to `addr:5432/db` as the controller, giving up after `timeout`.
pub async fn connect(
    addr: &str,
    db: &str,
    password: &str,
    timeout: Duration,
) -> Result<Client, SqlError> {
    let mut config = tokio_postgres::Config::new();
    config
        .host(addr)
        .port(5432)
        .user(CONTROLLER_ROLE)
        .password(password)
        .dbname(db)
        .application_name("pglab")
        .connect_timeout(timeout);
    let (client, connection) = tokio::time::timeout(timeout, config.connect(NoTls))
        .await
        .map_err(|_| SqlError::NoAnswer {
            addr: addr.to_string(),
            timeout,
        })?
        .map_err(|e| SqlError::Connect {
            addr: addr.to_string(),
            message: describe(&e),
            code: e.code().cloned(),
        })?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// Connects like [`connect`], retrying while the server answers that it is starting up (a
/// hot standby refuses connections until it reaches a consistent state), until `timeout`.
pub async fn connect_when_ready(
    addr: &str,
    db: &str,
    password: &str,
    timeout: Duration,
) -> Result<Client, SqlError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match connect(addr, db, password, timeout).await {
            Err(e)
                if e.is(&SqlState::CANNOT_CONNECT_NOW)
                    && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            done => return done,
        }
    }
}

/// The server's own message for an error it sent ("the database system is starting up"),
/// else the client's.
fn describe(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map_or(e.to_string(), |d| d.message().to_string())
}

/// Runs one statement and returns its rows as text.
pub async fn query(client: &Client, sql: &str) -> Result<Vec<Row>, SqlError> {
    let messages = client
        .simple_query(sql)
        .await
        .map_err(|e| SqlError::Statement {
            sql: sql.to_string(),
            message: describe(&e),
        })?;
    Ok(messages
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(
                row.columns()
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.name().to_string(), row.get(i).map(str::to_string)))
                    .collect(),
            ),
            _ => None,
        })
        .collect())
}

/// The first value of the first row.
pub async fn scalar(client: &Client, sql: &str) -> Result<Option<String>, SqlError> {
    Ok(query(client, sql)
        .await?
        .into_iter()
        .next()
        .and_then(|row| row.into_iter().next())
        .and_then(|(_, v)| v))
}

/// A row as a map, for JSON, its columns in the order the query names them.
pub fn row_map(row: &Row) -> IndexMap<String, Option<String>> {
    row.iter().cloned().collect()
}

/// The value of a column of a row.
pub fn get<'a>(row: &'a Row, column: &str) -> Option<&'a str> {
    row.iter()
        .find(|(c, _)| c == column)
        .and_then(|(_, v)| v.as_deref())
}
