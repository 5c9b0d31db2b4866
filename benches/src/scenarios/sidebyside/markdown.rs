//! The side-by-side section as Markdown: a table of first questions, one of follow-ups, and
//! the three goals.

use std::fmt::Write as _;

use super::{Row, SideBySide};
use crate::report::fmt_ms;
use crate::stats::Summary;

fn fmt_ratio(r: Option<f64>) -> String {
    r.map_or("—".into(), |r| format!("{r:.2}×"))
}

fn fmt_tps(s: &Summary) -> String {
    s.p50.map_or("—".into(), |t| format!("{t:.1}"))
}

fn fmt_count(s: &Summary) -> String {
    match (s.min, s.max) {
        (Some(a), Some(b)) if a == b => format!("{a:.0}"),
        (Some(a), Some(b)) => format!("{a:.0}–{b:.0}"),
        _ => "—".into(),
    }
}

/// "met on 7 of 8 (worst 1.12× on disk)": a goal over the scenarios' ratios.
fn goal_line(
    ratios: &[Option<f64>],
    rows: &[Row],
    ok: impl Fn(f64) -> bool,
    worst_is_max: bool,
) -> String {
    let known: Vec<(f64, &Row)> = ratios
        .iter()
        .zip(rows)
        .filter_map(|(r, row)| Some(((*r)?, row)))
        .collect();
    let met = known.iter().filter(|(r, _)| ok(*r)).count();
    let worst = known
        .iter()
        .copied()
        .reduce(|a, b| if (b.0 > a.0) == worst_is_max { b } else { a });
    let mut line = format!("met on {met} of {} scenarios", known.len());
    if let Some((r, row)) = worst {
        line.push_str(&format!(" (worst {r:.2}×, {})", row.scenario.intent));
    }
    if known.len() < rows.len() {
        line.push_str(&format!("; {} without figures", rows.len() - known.len()));
    }
    line
}

impl SideBySide {
    pub fn markdown(&self) -> String {
        let mut md = format!(
            "#### Side by side: our host, a bare llama-cpp-2 loop, llama-cpp-python (p50 of {} round{} per scenario)\n\n",
            self.rounds,
            if self.rounds == 1 { "" } else { "s" }
        );
        let _ = writeln!(
            md,
            "Same model file, and per answer the same rendered prompt (our host's, rebuilt from the \
             findings it streamed), token cap and temperature (strategy `{}`), and threads (the \
             host's choice for that answer; profile: {} threads, n_ctx {}, n_batch {}). Ours: the \
             release host over HTTP, time to first token measured by the client. Bare: \
             llama-cpp-2 {} in-process, KV cache cleared each time. llama-cpp-python {} (Python {}, \
             built with `{}`), one `Llama` kept loaded, `create_completion(stream=True)`, timed \
             inside its process; its llama.cpp: `{}`.\n",
            app::wire::name(&self.strategy),
            self.threads,
            self.n_ctx,
            self.n_batch,
            self.llama_cpp_2,
            self.venv.llama_cpp_python,
            self.venv.python,
            self.venv.cmake_args,
            self.python_system_info.replace('|', "/"),
        );
        md.push_str(
            "| scenario | prompt tokens | same prompt | cap | threads | first token: ours | llama-cpp-python | ours ÷ python | ours, reuse off | bare | tok/s: ours | bare | llama-cpp-python | ours ÷ bare |\n\
             |---|---:|:-:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for (i, r) in self.rows.iter().enumerate() {
            let prompt = Summary::of(r.ours.samples.iter().map(|s| f64::from(s.prompt_tokens)));
            let threads = Summary::of(r.ours.samples.iter().map(|s| f64::from(s.threads)));
            let _ = writeln!(
                md,
                "| {} | {} | {}/{} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.scenario.label(),
                fmt_count(&prompt),
                r.same_prompt,
                r.rebuilt,
                r.max_tokens,
                fmt_count(&threads),
                fmt_ms(r.ours.ttft_ms.p50),
                fmt_ms(r.python.ttft_ms.p50),
                fmt_ratio(self.goals.ttft_over_python[i]),
                fmt_ms(r.ours_no_reuse.ttft_ms.p50),
                fmt_ms(r.bare.ttft_ms.p50),
                fmt_tps(&r.ours.tokens_per_s),
                fmt_tps(&r.bare.tokens_per_s),
                fmt_tps(&r.python.tokens_per_s),
                fmt_ratio(self.goals.tps_over_bare[i]),
            );
        }
        md.push_str(
            "\nFollow-up in the same conversation (the next scenario's question, the first answer as history):\n\n\
             | scenario → follow-up | prompt tokens | reused: ours | first token: ours | ours, reuse off | ours ÷ reuse off | llama-cpp-python | reused: python |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for (i, r) in self.rows.iter().enumerate() {
            let prompt = Summary::of(
                r.follow_ours
                    .samples
                    .iter()
                    .map(|s| f64::from(s.prompt_tokens)),
            );
            let _ = writeln!(
                md,
                "| {} → “{}” | {} | {} | {} | {} | {} | {} | {} |",
                r.scenario.label(),
                r.follow_up.replace('|', "\\|"),
                fmt_count(&prompt),
                fmt_count(&r.follow_ours.reused_tokens),
                fmt_ms(r.follow_ours.ttft_ms.p50),
                fmt_ms(r.follow_ours_no_reuse.ttft_ms.p50),
                fmt_ratio(self.goals.follow_up_over_no_reuse[i]),
                fmt_ms(r.follow_python.ttft_ms.p50),
                fmt_count(&r.follow_python.reused_tokens),
            );
        }
        let errors: usize = self
            .rows
            .iter()
            .map(|r| {
                [
                    &r.ours,
                    &r.ours_no_reuse,
                    &r.bare,
                    &r.python,
                    &r.follow_ours,
                    &r.follow_ours_no_reuse,
                    &r.follow_python,
                ]
                .iter()
                .map(|c| c.errors.len())
                .sum::<usize>()
            })
            .sum();
        let _ = writeln!(
            md,
            "\nGoals: decode tokens/s ≥ 0.95× the bare loop: {}. Time to first token ≤ \
             llama-cpp-python's: {}. Follow-up time to first token ≤ 0.5× ours with prefix reuse \
             off: {}.{}\n",
            goal_line(&self.goals.tps_over_bare, &self.rows, |r| r >= 0.95, false),
            goal_line(&self.goals.ttft_over_python, &self.rows, |r| r <= 1.0, true),
            goal_line(
                &self.goals.follow_up_over_no_reuse,
                &self.rows,
                |r| r <= 0.5,
                true
            ),
            if errors > 0 {
                format!(" {errors} answers failed (listed in the JSON).")
            } else {
                String::new()
            }
        );
        md
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ratio, Goals, Sample};
    use super::*;
    use crate::python::VenvInfo;
    use crate::report::Scenario;
    use anyhow::anyhow;
    use app::chat::Strategy;

    fn sample(ttft_ms: f64, tps: f64, reused: u32) -> Sample {
        Sample {
            ttft_ms,
            tokens_per_s: Some(tps),
            total_ms: ttft_ms + 1000.0,
            tokens: 60,
            prompt_tokens: 200,
            reused_tokens: reused,
            threads: 2,
            engine_ttft_ms: None,
        }
    }

    fn scenario(intent: &str, q: &str) -> Scenario {
        Scenario {
            intent: intent.into(),
            question: q.into(),
            target_s: 3.0,
            lang: "en",
        }
    }

    #[test]
    fn rows_take_the_hosts_plan_and_goals_read_from_p50s() {
        let mut a = Row::new(
            scenario("status", "How is my system doing?"),
            "Why?",
            Strategy::Speed,
        );
        let urgent = scenario("urgent", "Urgent: is anything wrong with my system?");
        let mut b = Row::new(urgent, "How is my system doing?", Strategy::Quality);
        assert_eq!((a.max_tokens, a.temperature), (128, 0.2));
        assert_eq!(
            b.max_tokens, 128,
            "an urgent question gets the speed cap whatever was asked"
        );
        a.ours.push(Ok(sample(300.0, 60.0, 61)));
        a.bare.push(Ok(sample(400.0, 62.0, 0)));
        a.python.push(Ok(sample(330.0, 58.0, 61)));
        a.follow_ours.push(Ok(sample(200.0, 60.0, 61)));
        a.follow_ours_no_reuse.push(Ok(sample(500.0, 60.0, 0)));
        b.ours.push(Ok(sample(700.0, 50.0, 61)));
        b.bare.push(Ok(sample(600.0, 60.0, 0)));
        b.python.push(Err(anyhow!("boom")));
        a.summarize();
        b.summarize();
        let goals = Goals {
            tps_over_bare: vec![
                ratio(&a.ours.tokens_per_s, &a.bare.tokens_per_s),
                ratio(&b.ours.tokens_per_s, &b.bare.tokens_per_s),
            ],
            ttft_over_python: vec![
                ratio(&a.ours.ttft_ms, &a.python.ttft_ms),
                ratio(&b.ours.ttft_ms, &b.python.ttft_ms),
            ],
            follow_up_over_no_reuse: vec![
                ratio(&a.follow_ours.ttft_ms, &a.follow_ours_no_reuse.ttft_ms),
                None,
            ],
        };
        let rows = vec![a, b];
        assert_eq!(
            goal_line(&goals.tps_over_bare, &rows, |r| r >= 0.95, false),
            "met on 1 of 2 scenarios (worst 0.83×, urgent)"
        );
        assert_eq!(
            goal_line(&goals.ttft_over_python, &rows, |r| r <= 1.0, true),
            "met on 1 of 1 scenarios (worst 0.91×, status); 1 without figures"
        );
        let report = SideBySide {
            strategy: Strategy::Speed,
            rounds: 1,
            threads: 2,
            n_ctx: 2048,
            n_batch: 512,
            venv: VenvInfo {
                python: "3.11.7".into(),
                llama_cpp_python: "0.3.36".into(),
                glances: "4.5.8".into(),
                cmake_args: "-DGGML_NATIVE=OFF".into(),
                packages: Vec::new(),
            },
            python_system_info: "AVX2 = 1 | FMA = 1".into(),
            python_load_ms: 250.0,
            llama_cpp_2: "0.1.160",
            rows,
            goals,
        };
        let md = report.markdown();
        assert!(md.contains("| status (en) | 200 | 0/0 | 128 | 2 | 300 ms | 330 ms | 0.91× | — | 400 ms | 60.0 | 62.0 | 58.0 | 0.97× |"), "{md}");
        assert!(md.contains("| 61 | 200 ms | 500 ms | 0.40× |"), "{md}");
        assert!(md.contains("1 answers failed"), "{md}");
        assert!(
            !md.contains("AVX2 = 1 | FMA"),
            "pipes of the system info break the table: {md}"
        );
    }
}
