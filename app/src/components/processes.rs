//! The sortable top-process table (names and numbers only: the host never sends command lines).

use leptos::prelude::*;

use crate::format;
use crate::i18n::{t, Key};
use crate::live::LiveState;
use crate::model::{ProcessInfo, ProcessLists};
use crate::wire;

/// A sortable column; its serde name is the header button's `data-sort`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SortKey {
    Name,
    Pid,
    Cpu,
    Memory,
}

/// Union of the top-by-CPU and top-by-memory lists (each pid once), sorted by `key`.
pub fn rows(lists: &ProcessLists, key: SortKey, descending: bool) -> Vec<ProcessInfo> {
    let mut all: Vec<ProcessInfo> = lists.by_cpu.clone();
    for p in &lists.by_memory {
        if !all.iter().any(|q| q.pid == p.pid) {
            all.push(p.clone());
        }
    }
    all.sort_by(|a, b| {
        let ord = match key {
            SortKey::Name => a.name.to_lowercase().cmp(&b.name.to_lowercase()),
            SortKey::Pid => a.pid.cmp(&b.pid),
            SortKey::Cpu => a.cpu_pct.total_cmp(&b.cpu_pct),
            SortKey::Memory => a.memory_bytes.cmp(&b.memory_bytes),
        };
        if descending {
            ord.reverse()
        } else {
            ord
        }
    });
    all
}

#[component]
pub fn ProcessTable() -> impl IntoView {
    let live = expect_context::<LiveState>();
    let sort = RwSignal::new((SortKey::Cpu, true));
    let lang = live.lang;

    let header = move |key: SortKey, label: Key, class: &'static str| {
        let aria = move || match sort.get() {
            (k, true) if k == key => "descending",
            (k, false) if k == key => "ascending",
            _ => "none",
        };
        view! {
            <th class=class aria-sort=aria scope="col">
                <button
                    class="sort"
                    data-sort=wire::name(&key)
                    on:click=move |_| {
                        sort.update(|(k, desc)| {
                            if *k == key {
                                *desc = !*desc;
                            } else {
                                *k = key;
                                *desc = matches!(key, SortKey::Cpu | SortKey::Memory);
                            }
                        })
                    }
                >
                    {move || t(lang.get(), label)}
                    <span aria-hidden="true">
                        {move || match sort.get() {
                            (k, true) if k == key => " ▼",
                            (k, false) if k == key => " ▲",
                            _ => "",
                        }}
                    </span>
                </button>
            </th>
        }
    };

    let body = move || {
        let (key, desc) = sort.get();
        live.snapshot
            .with(|s| s.as_ref().map(|s| rows(&s.processes, key, desc)))
            .unwrap_or_default()
            .into_iter()
            .map(|p| {
                view! {
                    <tr>
                        <td class="name">{p.name}</td>
                        <td class="num">{p.pid}</td>
                        <td class="num">{format::pct(p.cpu_pct)}</td>
                        <td class="num">{format::bytes(p.memory_bytes)}</td>
                    </tr>
                }
            })
            .collect_view()
    };

    view! {
        <div class="table-wrap">
            <table class="processes" id="process-table">
                <thead>
                    <tr>
                        {header(SortKey::Name, Key::Name, "name")}
                        {header(SortKey::Pid, Key::Pid, "num")}
                        {header(SortKey::Cpu, Key::CpuShare, "num")}
                        {header(SortKey::Memory, Key::Resident, "num")}
                    </tr>
                </thead>
                <tbody>{body}</tbody>
            </table>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pid: u32, name: &str, cpu: f32, mem: u64) -> ProcessInfo {
        ProcessInfo {
            pid,
            name: name.into(),
            cpu_pct: cpu,
            memory_bytes: mem,
        }
    }

    #[test]
    fn rows_merge_without_duplicates_and_sort() {
        let lists = ProcessLists {
            by_cpu: vec![p(1, "b", 50.0, 10), p(2, "A", 20.0, 30)],
            by_memory: vec![p(3, "c", 1.0, 99), p(2, "A", 20.0, 30)],
            count: 3,
        };
        let by_cpu: Vec<u32> = rows(&lists, SortKey::Cpu, true)
            .iter()
            .map(|p| p.pid)
            .collect();
        assert_eq!(by_cpu, vec![1, 2, 3]);
        let by_mem: Vec<u32> = rows(&lists, SortKey::Memory, true)
            .iter()
            .map(|p| p.pid)
            .collect();
        assert_eq!(by_mem, vec![3, 2, 1]);
        let by_name: Vec<u32> = rows(&lists, SortKey::Name, false)
            .iter()
            .map(|p| p.pid)
            .collect();
        assert_eq!(by_name, vec![2, 1, 3]);
    }
}
