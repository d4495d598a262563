"""`scripts/chaos`: N pipeline runs (or, with `--scenario review-rounds`, N review rounds on Paid's pull
requests) while random processes are SIGKILLed; prints runs, kills, lost, duplicated. Exits 1 when
anything was lost or done twice."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import nats
from nats.errors import Error as NatsError

from paid_devstack.chaos import ALL_VICTIMS, ChaosDriver, ChaosReport
from paid_devstack.chaos_rounds import ReviewRoundChaosDriver
from paid_devstack.postgres import libpq_url
from paid_devstack.sandbox import EmulatedPaid


def executor_env(heartbeat_seconds: float = 2.0) -> dict[str, str]:
    demo = Path(sys.executable).parent / "paid-demo-agent"
    return {
        "PAID_EXECUTOR_AGENT": "command",
        # The demo agent, a second slower, so that kills land while agents run.
        "PAID_EXECUTOR_AGENT_COMMAND": f"sh -c 'sleep 1; exec {demo}'",
        # Short, so that a killed executor's activities are retried soon; under load (many runs on two
        # cores) a slow event loop misses it too, and each miss costs the run one of its agent attempts.
        "PAID_EXECUTOR_HEARTBEAT_TIMEOUT_SECONDS": f"{heartbeat_seconds:g}",
    }


SCENARIOS = ("runs", "review-rounds")


def run_chaos(
    *,
    runs: int,
    seed: int,
    victims: tuple[str, ...],
    min_seconds: float,
    heartbeat_seconds: float = 2.0,
    scenario: str = "runs",
) -> ChaosReport:
    home = Path(tempfile.mkdtemp(prefix="paid-chaos-"))
    env = executor_env(heartbeat_seconds)
    if scenario == "review-rounds":  # a round whose worker died moves on sooner than the default 30 s
        env["PAID_EXECUTOR_HOME_START_TIMEOUT_SECONDS"] = "10"
    with EmulatedPaid(home, service_env={"executor": env}) as paid:
        driver: ChaosDriver | ReviewRoundChaosDriver
        if scenario == "review-rounds":
            driver = ReviewRoundChaosDriver(
                paid, pulls=runs, seed=seed, victims=victims, min_chaos_seconds=min_seconds
            )
        else:
            driver = ChaosDriver(paid, runs=runs, seed=seed, victims=victims, min_chaos_seconds=min_seconds)
        report = driver.run()
        return dataclasses.replace(report, refused_without_credentials=asyncio.run(refusals(paid)))


async def refusals(paid: EmulatedPaid) -> tuple[str, ...]:
    """The servers the services used during the chaos, as they stand after it: NATS without a user, and
    PostgreSQL with the planner's login and a wrong password."""
    refused: list[str] = []
    try:
        connection = await nats.connect(
            paid.platform.infra.nats_url, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=5
        )
    except (NatsError, OSError):
        refused.append("nats")
    else:
        await connection.close()
    planner_url = urlsplit(libpq_url(paid.platform.infra.service_database_url("planner")))
    wrong = planner_url._replace(
        netloc=f"{planner_url.username}:wrong@{planner_url.hostname}:{planner_url.port}"
    )
    try:
        await (await asyncpg.connect(urlunsplit(wrong), timeout=10)).close()
    except asyncpg.InvalidPasswordError:
        refused.append("postgres")
    return tuple(refused)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", choices=SCENARIOS, default="runs")
    parser.add_argument("--runs", type=int, default=20, help="issues labeled (runs) or reviewed (rounds)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--min-seconds", type=float, default=60.0, help="keep killing at least this long")
    parser.add_argument("--victims", default=",".join(ALL_VICTIMS))
    parser.add_argument(
        "--heartbeat-seconds", type=float, default=2.0, help="the executor's activity heartbeat timeout"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    report = run_chaos(
        runs=args.runs,
        seed=args.seed,
        victims=tuple(args.victims.split(",")),
        min_seconds=args.min_seconds,
        heartbeat_seconds=args.heartbeat_seconds,
        scenario=args.scenario,
    )
    print("\n".join(report.lines()))
    for problem in report.lost + report.duplicated:
        print(f"problem: {problem}", file=sys.stderr)
    for url, cause in report.causes.items():
        print(f"failed honestly: {url}: {cause}", file=sys.stderr)
    return 1 if report.lost or report.duplicated else 0


if __name__ == "__main__":
    raise SystemExit(main())
