//! The report: totals from the usage store turned into rows, and the rows written as a table, NDJSON or
//! CSV. Pure over its input; the caller does the I/O.

use std::io::{self, Write};

use jiff::ToSpan as _;
use jiff::civil::Date;
use magi_core::format::thousands;
use magi_core::table::Table;
use magi_usage::usage::{GroupBy, Period, Total};
use serde::Serialize;

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// `day`, `week` or `month`.
    pub period: &'static str,
    /// The first day of the period.
    pub start: Date,
    /// The last day of the period.
    pub end: Date,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    pub requests: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub cost_usd: f64,
}

fn period_name(period: Period) -> &'static str {
    match period {
        Period::Day => "day",
        Period::Week => "week",
        Period::Month => "month",
    }
}

fn last_day(period: Period, start: Date) -> Date {
    let next = match period {
        Period::Day => start.saturating_add(1.day()),
        Period::Week => start.saturating_add(1.week()),
        Period::Month => start.first_of_month().saturating_add(1.month()),
    };
    next.saturating_sub(1.day())
}

/// The rows of `totals`, in their order.
pub fn rows(totals: Vec<Total>, period: Period, by: Option<GroupBy>) -> Vec<Row> {
    totals
        .into_iter()
        .map(|t| Row {
            period: period_name(period),
            start: t.period,
            end: last_day(period, t.period),
            model: t.key.clone().filter(|_| by == Some(GroupBy::Model)),
            user: t.key.filter(|_| by == Some(GroupBy::User)),
            requests: t.requests,
            prompt_tokens: t.prompt_tokens,
            completion_tokens: t.completion_tokens,
            total_tokens: t.prompt_tokens + t.completion_tokens,
            cost_usd: t.cost_usd,
        })
        .collect()
}

/// The sum of every row (the table's last line).
pub fn sum(rows: &[Row]) -> (u64, u64, u64, f64) {
    rows.iter().fold((0, 0, 0, 0.0), |(r, p, c, usd), row| {
        (
            r + row.requests,
            p + row.prompt_tokens,
            c + row.completion_tokens,
            usd + row.cost_usd,
        )
    })
}

/// Dollars with four decimals (a day of a small model is often under a cent).
pub fn dollars(usd: f64) -> String {
    format!("${usd:.4}")
}

fn label(row: &Row) -> String {
    match row.period {
        "day" => row.start.to_string(),
        "week" => format!("{} to {}", row.start, row.end),
        _ => row.start.strftime("%Y-%m").to_string(),
    }
}

/// The rows as an aligned table with a header and a total line.
pub fn table(out: &mut impl Write, rows: &[Row], by: Option<GroupBy>) -> io::Result<()> {
    let key = match by {
        Some(GroupBy::Model) => Some("MODEL"),
        Some(GroupBy::User) => Some("USER"),
        None => None,
    };
    let text_columns = if key.is_some() { 2 } else { 1 };
    let header = ["PERIOD"].into_iter().chain(key).chain([
        "REQUESTS",
        "PROMPT",
        "COMPLETION",
        "TOKENS",
        "COST",
    ]);
    let mut table = Table::new(header);
    table = table.right(text_columns..text_columns + 5);
    for row in rows {
        let mut line = vec![label(row)];
        if key.is_some() {
            line.push(row.model.clone().or(row.user.clone()).unwrap_or_default());
        }
        line.extend([
            thousands(row.requests),
            thousands(row.prompt_tokens),
            thousands(row.completion_tokens),
            thousands(row.total_tokens),
            dollars(row.cost_usd),
        ]);
        table.row(line);
    }
    let (requests, prompt, completion, usd) = sum(rows);
    let mut total = vec!["total".to_owned()];
    if key.is_some() {
        total.push(String::new());
    }
    total.extend([
        thousands(requests),
        thousands(prompt),
        thousands(completion),
        thousands(prompt + completion),
        dollars(usd),
    ]);
    table.row(total);
    table.write(out)
}

/// The rows as NDJSON, one object a line.
pub fn json(out: &mut impl Write, rows: &[Row]) -> io::Result<()> {
    for row in rows {
        serde_json::to_writer(&mut *out, row)?;
        writeln!(out)?;
    }
    Ok(())
}

/// The rows as CSV with a header line; the cost in full precision.
pub fn csv(out: &mut impl Write, rows: &[Row], by: Option<GroupBy>) -> io::Result<()> {
    let key = match by {
        Some(GroupBy::Model) => ",model",
        Some(GroupBy::User) => ",user",
        None => "",
    };
    writeln!(
        out,
        "period,start,end{key},requests,prompt_tokens,completion_tokens,total_tokens,cost_usd"
    )?;
    for row in rows {
        let key = match (&row.model, &row.user) {
            (Some(name), _) | (None, Some(name)) => {
                format!(",{}", magi_core::format::csv_field(name))
            }
            (None, None) if by.is_some() => ",".to_owned(),
            (None, None) => String::new(),
        };
        writeln!(
            out,
            "{},{},{}{key},{},{},{},{},{}",
            row.period,
            row.start,
            row.end,
            row.requests,
            row.prompt_tokens,
            row.completion_tokens,
            row.total_tokens,
            row.cost_usd
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn total(period: &str, key: Option<&str>, tokens: (u64, u64), usd: f64) -> Total {
        Total {
            period: period.parse().unwrap(),
            key: key.map(str::to_owned),
            requests: 2,
            prompt_tokens: tokens.0,
            completion_tokens: tokens.1,
            cost_usd: usd,
        }
    }

    #[test]
    fn periods_end_where_the_next_begins() {
        let rows = rows(
            vec![total("2026-02-01", None, (1, 2), 0.5)],
            Period::Month,
            None,
        );
        assert_eq!(rows[0].end.to_string(), "2026-02-28");
        let week = last_day(Period::Week, "2026-11-23".parse().unwrap());
        assert_eq!(week.to_string(), "2026-11-29");
    }

    #[test]
    fn the_table_aligns_and_totals() {
        let rows = rows(
            vec![
                total("2026-11-23", Some("gpt"), (1_000, 2_000), 0.125),
                total("2026-11-23", Some("claude-3"), (10, 20), 1.5),
            ],
            Period::Day,
            Some(GroupBy::Model),
        );
        let mut out = Vec::new();
        table(&mut out, &rows, Some(GroupBy::Model)).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].starts_with("PERIOD      MODEL"), "{text}");
        assert!(
            lines[1].contains("gpt") && lines[1].ends_with("$0.1250"),
            "{text}"
        );
        assert!(
            lines[3].starts_with("total") && lines[3].ends_with("$1.6250"),
            "{text}"
        );
        assert!(lines[3].contains("3,030"), "{text}");
        assert_eq!(lines[0].len(), lines[1].len(), "{text}");
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        let rows = rows(
            vec![total("2026-11-23", Some("ann, \"the\" admin"), (1, 2), 0.1)],
            Period::Day,
            Some(GroupBy::User),
        );
        let mut out = Vec::new();
        csv(&mut out, &rows, Some(GroupBy::User)).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text.lines().nth(1).unwrap(),
            "day,2026-11-23,2026-11-23,\"ann, \"\"the\"\" admin\",2,1,2,3,0.1"
        );
    }
}
