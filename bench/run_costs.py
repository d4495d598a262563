"""What one build run costs the engines it uses, for docs/scaling.md's capacity model: N issues labeled
at once (the shipped demo agent, the GitHub emulator), then per run: the services' CPU seconds, NATS
JetStream messages stored and all NATS messages, Temporal workflows, history events and billable-style
actions, PostgreSQL transactions, rows written and WAL bytes, and GitHub REST calls by Paid's bot, of
which content-creating ones (POST/PATCH/PUT/DELETE).

Temporal "actions" are counted from the histories as Temporal Cloud bills them, approximately: workflow
starts, activity schedules, timers, signals and child workflows (heartbeats, which Cloud also bills, are
not in a history). Prints `name value unit` lines. Usage: bench/run_costs.py [--runs N]"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
import urllib.request
from pathlib import Path

import asyncpg
from temporalio.client import Client

from paid_devstack.demo_repo import BOT
from paid_devstack.sandbox import EmulatedPaid

ACTION_EVENTS = (
    "workflow_execution_started_event_attributes",
    "activity_task_scheduled_event_attributes",
    "timer_started_event_attributes",
    "workflow_execution_signaled_event_attributes",
    "signal_external_workflow_execution_initiated_event_attributes",
    "start_child_workflow_execution_initiated_event_attributes",
)
WRITES = ("POST", "PATCH", "PUT", "DELETE")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes and their reaped children (agents, git), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return total / ticks


def nats_counts(monitor_url: str) -> tuple[int, int]:
    with urllib.request.urlopen(f"{monitor_url}/jsz?streams=true", timeout=5) as response:  # noqa: S310
        report = json.load(response)
    stored = sum(
        stream["state"]["messages"]
        for account in report.get("account_details", [])
        for stream in account.get("stream_detail", [])
    )
    with urllib.request.urlopen(f"{monitor_url}/varz", timeout=5) as response:  # noqa: S310
        in_msgs = int(json.load(response)["in_msgs"])
    return stored, in_msgs


async def database_counts(url: str) -> tuple[int, int, int]:
    """Committed transactions and rows inserted, updated or deleted in Paid's database since the server
    started, and the WAL position in bytes (every service's writes, as PostgreSQL counts them)."""
    connection = await asyncpg.connect(url)
    try:
        row = await connection.fetchrow(
            "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted AS rows,"
            " pg_current_wal_lsn() - '0/0'::pg_lsn AS wal"
            " FROM pg_stat_database WHERE datname = current_database()"
        )
    finally:
        await connection.close()
    assert row is not None
    return int(row["xact_commit"]), int(row["rows"]), int(row["wal"])


async def temporal_counts(target: str) -> tuple[int, int, int]:
    client = await Client.connect(target)
    workflows = events = actions = 0
    async for execution in client.list_workflows():
        history = await client.get_workflow_handle(execution.id, run_id=execution.run_id).fetch_history()
        workflows += 1
        events += len(history.events)
        actions += sum(1 for event in history.events for kind in ACTION_EVENTS if event.HasField(kind))
    return workflows, events, actions


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="paid-bench-costs-"))
    with EmulatedPaid(home, service_env={"executor": {"PAID_EXECUTOR_AGENT": "demo"}}) as paid:
        platform = paid.platform
        nats = platform.infra.nats
        assert nats is not None, "the bench starts its own NATS"
        pids = [pid for name in platform.supervisor.names if (pid := platform.supervisor.process(name).pid)]
        issues = [paid.create_repository("bench", f"costs-{n}") for n in range(args.runs)]
        log_start = len(paid.github.access_log())
        cpu_start = cpu_seconds(pids)
        stored_start, msgs_start = nats_counts(nats.monitor_url)
        database_start = asyncio.run(database_counts(platform.infra.database_url))
        for issue in issues:
            paid.label(issue)
        for issue in issues:
            paid.wait_for_pull(issue, timeout=60 + args.runs * 10)
            paid.wait_for_result_comment(issue, timeout=60 + args.runs * 5)
        cpu = cpu_seconds(pids) - cpu_start
        stored_end, msgs_end = nats_counts(nats.monitor_url)
        stored, msgs = stored_end - stored_start, msgs_end - msgs_start
        # An idle backend hands PostgreSQL its pending statistics within 10 s (PGSTAT_IDLE_INTERVAL).
        time.sleep(11)
        database_end = asyncio.run(database_counts(platform.infra.database_url))
        commits, rows, wal = (end - start for end, start in zip(database_end, database_start, strict=True))
        calls = [
            record for record in paid.github.access_log()[log_start:] if record.credential == f"user:{BOT}"
        ]
        workflows, events, actions = asyncio.run(temporal_counts(platform.infra.temporal_target))
    rest = [record for record in calls if ".git/" not in record.path and not record.path.endswith(".git")]
    runs = args.runs
    print(f"run_costs_runs {runs} runs")
    print(f"run_costs_service_cpu_per_run {cpu / runs:.2f} s")
    print(f"run_costs_nats_stored_messages_per_run {stored / runs:.1f} messages")
    print(f"run_costs_nats_messages_per_run {msgs / runs:.0f} messages")
    print(f"run_costs_temporal_workflows_per_run {workflows / runs:.2f} workflows")
    print(f"run_costs_temporal_history_events_per_run {events / runs:.0f} events")
    print(f"run_costs_temporal_actions_per_run {actions / runs:.0f} actions")
    print(f"run_costs_database_transactions_per_run {commits / runs:.0f} transactions")
    print(f"run_costs_database_rows_written_per_run {rows / runs:.0f} rows")
    print(f"run_costs_database_wal_per_run {wal / runs / 1024:.0f} KiB")
    print(f"run_costs_github_rest_calls_per_run {len(rest) / runs:.1f} calls")
    print(f"run_costs_github_content_calls_per_run {sum(r.method in WRITES for r in rest) / runs:.1f} calls")
    print(f"run_costs_github_git_requests_per_run {(len(calls) - len(rest)) / runs:.1f} requests")


if __name__ == "__main__":
    main()
