//! The host's resident memory over many answers (a leak shows as a slope) and at its peak with
//! several clients asking at once while dashboards stream.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use app::chat::Strategy;

use super::client::{self, Run};
use super::report::{Concurrent, Growth, Scenario};
use super::stats::{slope, Summary};
use crate::common::Host;

/// `answers` answers cycling through the scenarios (cache bypassed, so each runs the model
/// when it explains), RSS sampled about twenty times along the way.
pub fn growth(
    host: &Host,
    scenarios: &[Scenario],
    answers: usize,
    strategy: Strategy,
) -> Result<Growth> {
    let step = (answers / 20).max(1);
    let start_kib = host.rss_kib()?;
    let mut samples = vec![(0, start_kib)];
    let (mut explained, mut errors, mut in_a_row) = (0, 0, 0);
    for k in 0..answers {
        let s = &scenarios[k % scenarios.len()];
        match client::ask(host.port, &s.question, Some(strategy), true) {
            Ok(r) => {
                in_a_row = 0;
                explained += usize::from(r.explained());
            }
            Err(e) => {
                errors += 1;
                in_a_row += 1;
                if in_a_row >= 3 {
                    bail!("three answers in a row failed (last: {e:#})");
                }
            }
        }
        if (k + 1) % step == 0 || k + 1 == answers {
            samples.push((k + 1, host.rss_kib()?));
            eprintln!(
                "[memory] {}/{answers} answers, {:.1} MiB",
                k + 1,
                samples.last().map_or(0, |s| s.1) as f64 / 1024.0
            );
        }
    }
    Ok(Growth {
        answers,
        strategy,
        start_kib,
        end_kib: samples.last().map_or(start_kib, |s| s.1),
        growth_kib_per_answer: growth_per_answer(&samples, answers),
        samples,
        explained,
        errors,
    })
}

/// KiB per answer: the least-squares slope of the samples after the first tenth of the
/// answers (the allocator's arenas and the engine's buffers settle there).
pub fn growth_per_answer(samples: &[(usize, u64)], answers: usize) -> Option<f64> {
    let settled: Vec<(f64, f64)> = samples
        .iter()
        .filter(|(k, _)| *k >= answers / 10)
        .map(|&(k, kib)| (k as f64, kib as f64))
        .collect();
    slope(&settled)
}

/// `clients` threads each asking `per_client` questions at the same moment while `streams`
/// dashboards hold `/api/v1/stream` open; RSS sampled every 20 ms for the peak.
pub fn concurrent(
    host: &Host,
    scenarios: &[Scenario],
    clients: usize,
    per_client: usize,
    streams: usize,
    strategy: Strategy,
) -> Result<Concurrent> {
    let port = host.port;
    let stop = Arc::new(AtomicBool::new(false));
    let events = Arc::new(AtomicU64::new(0));
    let dashboards: Vec<_> = (0..streams)
        .map(|_| {
            let (stop, events) = (stop.clone(), events.clone());
            thread::spawn(move || client::dashboard_stream(port, &stop, &events))
        })
        .collect();
    // Let every stream connect and get its first snapshot.
    thread::sleep(Duration::from_millis(1500));
    let before_kib = host.rss_kib()?;
    let mut peak_kib = before_kib;
    let t0 = Instant::now();
    let askers: Vec<_> = (0..clients)
        .map(|c| {
            // Client c takes every `clients`-th question from c: all ask different ones at once.
            let questions: Vec<String> = (0..per_client)
                .map(|k| {
                    scenarios[(c + k * clients) % scenarios.len()]
                        .question
                        .clone()
                })
                .collect();
            thread::spawn(move || {
                questions
                    .iter()
                    .map(|q| client::ask(port, q, Some(strategy), true))
                    .collect::<Vec<Result<Run>>>()
            })
        })
        .collect();
    while !askers.iter().all(|h| h.is_finished()) {
        peak_kib = peak_kib.max(host.rss_kib()?);
        thread::sleep(Duration::from_millis(20));
    }
    let seconds = t0.elapsed().as_secs_f64();
    let end_kib = host.rss_kib()?;
    peak_kib = peak_kib.max(end_kib);
    let results: Vec<Result<Run>> = askers
        .into_iter()
        .flat_map(|h| h.join().unwrap_or_default())
        .collect();
    stop.store(true, Ordering::Relaxed);
    let stream_errors = dashboards
        .into_iter()
        .map(|h| h.join())
        .filter(|r| !matches!(r, Ok(Ok(()))))
        .count();
    if stream_errors > 0 {
        eprintln!("[memory] {stream_errors} dashboard streams failed");
    }
    let runs: Vec<&Run> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    Ok(Concurrent {
        clients,
        questions_per_client: per_client,
        streams,
        before_kib,
        peak_kib,
        end_kib,
        stream_events: events.load(Ordering::Relaxed),
        answers: results.len(),
        queue_full: runs.iter().filter(|r| r.explanation == "busy").count(),
        errors: results.len() - runs.len() + runs.iter().filter(|r| r.error.is_some()).count(),
        total_ms: Summary::of(runs.iter().map(|r| r.total_ms)),
        seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_ignores_the_warm_up_tenth() {
        // +5 MiB during the first 20 answers, flat after: no leak.
        let samples: Vec<(usize, u64)> = (0..=20)
            .map(|i| {
                (
                    i * 10,
                    if i < 2 {
                        100_000 + i as u64 * 2_560
                    } else {
                        105_120
                    },
                )
            })
            .collect();
        assert_eq!(growth_per_answer(&samples, 200), Some(0.0));
        // 2 KiB per answer throughout: a leak.
        let leak: Vec<(usize, u64)> = (0..=20)
            .map(|i| (i * 10, 100_000 + i as u64 * 20))
            .collect();
        assert!((growth_per_answer(&leak, 200).unwrap() - 2.0).abs() < 1e-9);
    }
}
