"""What a run costs Temporal, counted by the server: its gRPC requests by operation (`service_requests`
in the dev server's Prometheus metrics), e.g. workflow task completions, activity completions and
heartbeats. Used by throughput.py to print requests per run beside the server's CPU per run."""

from __future__ import annotations

import re
from collections import Counter

import httpx

SAMPLE = re.compile(r"^service_requests\{(?P<labels>[^}]*)\} (?P<value>[0-9.e+]+)$")
OPERATION = re.compile(r'operation="(?P<operation>[^"]+)"')


def requests_by_operation(metrics_url: str) -> Counter[str]:
    text = httpx.get(metrics_url, timeout=30).text
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        sample = SAMPLE.match(line)
        if sample is None:
            continue
        operation = OPERATION.search(sample["labels"])
        if operation is not None:
            counts[operation["operation"]] += round(float(sample["value"]))
    return counts
