//! The summary table every run ends with: scenario, result, target, ratio to the ceiling.

use std::fmt::Write as _;

#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: String,
    pub result: String,
    pub target: String,
    /// The scenario's message rate over the ceiling's `Log::append` rate of the same run.
    pub ratio: Option<f64>,
    /// Whether the target was met (`None`: no target, or not measurable here).
    pub met: Option<bool>,
}

impl Row {
    pub fn new(scenario: impl Into<String>, result: impl Into<String>) -> Row {
        Row {
            scenario: scenario.into(),
            result: result.into(),
            target: "-".into(),
            ratio: None,
            met: None,
        }
    }

    pub fn target(mut self, target: impl Into<String>, met: Option<bool>) -> Row {
        self.target = target.into();
        self.met = met;
        self
    }

    /// `rate` over `ceiling` (both per second), when the ceiling is known.
    pub fn ratio_of(mut self, rate: f64, ceiling: Option<f64>) -> Row {
        self.ratio = ceiling.filter(|c| *c > 0.0).map(|c| rate / c);
        self
    }
}

/// A plain-text table, columns padded to their widest cell.
pub fn table(rows: &[Row]) -> String {
    let head = ["scenario", "result", "target", "met", "ratio to ceiling"];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.scenario.clone(),
                r.result.clone(),
                r.target.clone(),
                match r.met {
                    Some(true) => "yes".into(),
                    Some(false) => "NO".into(),
                    None => "-".into(),
                },
                r.ratio
                    .map(|x| format!("{x:.2}"))
                    .unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let mut widths = head.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, row: &[String]| {
        let parts: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        let _ = writeln!(out, "| {} |", parts.join(" | "));
    };
    line(&mut out, &head.map(String::from));
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    let _ = writeln!(out, "|-{}-|", rule.join("-|-"));
    for row in &cells {
        line(&mut out, row);
    }
    out
}

/// `12345.6` → `12,346`
pub fn thousands(x: f64) -> String {
    let n = x.round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let rows = vec![
            Row::new("ceiling", "100 /s").ratio_of(100.0, Some(100.0)),
            Row::new("send", "50 msg/s")
                .target("≥ 60", Some(false))
                .ratio_of(50.0, Some(100.0)),
        ];
        let t = table(&rows);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(
            lines[3].contains("| NO  |") && lines[3].contains("0.50"),
            "{t}"
        );
        let widths: Vec<usize> = lines.iter().map(|l| l.chars().count()).collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "{t}");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(0.0), "0");
    }
}
