//! `crane verify`: renders [`crane_context::verify::run`], the checks a team
//! runs against a Crane Context server after every deploy (the steps and the
//! defaults are the library's; see there). Exit 0 when every step passed,
//! 1 otherwise.

use std::time::Duration;

use crane_context::verify::{self, StepResult, VerifyOptions, VerifyReport};
use crane_context::Client;

use crate::args::VerifyArgs;
use crate::checkout::hostname;
use crate::context::Ctx;
use crate::error::{CliResult, EXIT_FAILED, EXIT_OK};
use crate::output::{table, Style};

/// Runs `crane verify`.
pub async fn run(ctx: &Ctx, args: &VerifyArgs) -> CliResult<u8> {
    let config = verify::client_config(
        ctx.client_config()?,
        Duration::from_secs(args.timeout.max(1)),
    );
    let client = Client::with_config(config)?;
    let options = VerifyOptions {
        venture: args.venture.clone(),
        host: Some(hostname()),
    };
    let report = verify::run(&client, options).await;
    render(ctx, &report);
    Ok(if report.passed { EXIT_OK } else { EXIT_FAILED })
}

fn render(ctx: &Ctx, report: &VerifyReport) {
    let out = &ctx.out;
    if out.is_json() {
        out.emit_json(&serde_json::to_value(report).unwrap_or_default());
        return;
    }
    let rows: Vec<Vec<String>> = report
        .steps
        .iter()
        .map(|s| {
            let verdict = match s.result {
                StepResult::Pass => out.paint("PASS", Style::Green),
                StepResult::Fail => out.paint("FAIL", Style::Red),
                StepResult::Skip => out.paint("SKIP", Style::Yellow),
            };
            vec![
                s.name.clone(),
                verdict,
                s.latency_ms
                    .map(|ms| format!("{ms} ms"))
                    .unwrap_or_else(|| "-".into()),
                s.detail.clone(),
            ]
        })
        .collect();
    for line in table(&["STEP", "RESULT", "LATENCY", "DETAIL"], &rows) {
        out.line(line);
    }
    let n = report
        .steps
        .iter()
        .filter(|s| s.result == StepResult::Pass)
        .count();
    let generation = report
        .generation
        .map(|g| format!(", {g}"))
        .unwrap_or_default();
    out.line(format!(
        "\n{n}/{} passed against {}{generation} (throwaway repo {} / {})",
        report.steps.len(),
        report.url,
        report.venture,
        report.repo
    ));
}
