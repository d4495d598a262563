"""One run is one trace: the gateway's request span, the executor's workflow and activity spans share it."""

from __future__ import annotations

import httpx
import pytest

from paid_devstack import OtlpSink, SpanRecord, wait_until
from paid_devstack.demo_repo import DemoIssue
from paid_devstack.sandbox import EmulatedPaid

from .conftest import ADMIN_TOKEN

pytestmark = pytest.mark.integration


def test_gateway_request_and_executor_workflow_and_activities_share_one_trace(
    paid: EmulatedPaid, issue: DemoIssue, spans: OtlpSink
) -> None:
    workflow_id = f"exec:{issue.owner}/{issue.repo}#{issue.number}"
    paid.label(issue)
    paid.wait_for_result_comment(issue)

    def of_this_workflow(span: SpanRecord) -> bool:
        return span.attributes.get("temporalWorkflowID") == workflow_id

    workflow_span = spans.wait_for_span(
        lambda s: of_this_workflow(s) and s.name.startswith("RunWorkflow:"), timeout=30
    )

    def complete(all_spans: list[SpanRecord]) -> bool:
        in_trace = [s for s in all_spans if s.trace_id == workflow_span.trace_id]
        return any(s.service_name == "gateway" and s.kind == "SERVER" for s in in_trace) and any(
            s.name.startswith("RunActivity:") for s in in_trace
        )

    spans.wait_for(complete, timeout=30)
    trace = spans.spans_for_trace(workflow_span.trace_id)
    by_service = {(s.service_name, s.name) for s in trace}

    gateway_request = [s for s in trace if s.service_name == "gateway" and s.kind == "SERVER"]
    assert gateway_request, by_service
    assert any("/webhooks/github" in s.name for s in gateway_request), by_service
    assert workflow_span.service_name == "executor"
    assert workflow_span.name == "RunWorkflow:AgentExecutionWorkflow"
    activities = {s.name for s in trace if s.name.startswith("RunActivity:") and s.service_name == "executor"}
    assert len(activities) >= 3, activities
    assert any(s.service_name == "executor" and s.kind == "CONSUMER" for s in trace), by_service


BUILD_PATH_EDGES = {("gateway", "executor"), ("executor", "evolution")}
"""Service hops of a labeled `paid-build` issue: webhook -> run, run finished -> run record.

Asynchronous hops are parent/child (not links) wherever one message causes the work: the consumer's
span is a child of the producer's publish span, so the whole run reads as one tree."""


def service_edges(trace: list[SpanRecord]) -> set[tuple[str, str]]:
    """(from, to) for every span whose parent, or a linked span, belongs to another service."""
    by_id = {span.span_id: span for span in trace}
    edges = set()
    for span in trace:
        sources = [by_id.get(span.parent_span_id or "")] + [by_id.get(link.span_id) for link in span.links]
        for source in sources:
            hop = (source.service_name, span.service_name) if source else (None, None)
            if None not in hop and hop[0] != hop[1]:
                edges.add((str(hop[0]), str(hop[1])))
    return edges


def test_the_build_path_crosses_the_expected_service_edges_in_one_trace(
    paid: EmulatedPaid, issue: DemoIssue, spans: OtlpSink
) -> None:
    workflow_id = f"exec:{issue.owner}/{issue.repo}#{issue.number}"
    paid.label(issue)
    paid.wait_for_result_comment(issue)
    workflow_span = spans.wait_for_span(
        lambda s: s.attributes.get("temporalWorkflowID") == workflow_id and s.name.startswith("RunWorkflow:"),
        timeout=30,
    )

    def edges_present(all_spans: list[SpanRecord]) -> bool:
        in_trace = [s for s in all_spans if s.trace_id == workflow_span.trace_id]
        return service_edges(in_trace) >= BUILD_PATH_EDGES

    spans.wait_for(edges_present, timeout=30)
    trace = spans.spans_for_trace(workflow_span.trace_id)
    assert service_edges(trace) >= BUILD_PATH_EDGES
    assert {"gateway", "executor", "evolution"} <= {s.service_name for s in trace}


def test_the_trace_id_the_api_shows_for_a_run_holds_every_service_on_its_path(
    paid: EmulatedPaid, issue: DemoIssue, spans: OtlpSink
) -> None:
    paid.label(issue)
    paid.wait_for_result_comment(issue)
    api = f"{paid.platform.url('gateway')}/api/runs"
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    query = {"repo": f"{issue.owner}/{issue.repo}", "issue": issue.number, "active": "false"}

    def finished_runs() -> list[dict[str, object]]:
        runs: list[dict[str, object]] = httpx.get(api, params=query, headers=headers, timeout=10).json()[
            "runs"
        ]
        return [run for run in runs if run.get("trace_id")]

    wait_until(
        lambda: bool(finished_runs()), timeout=30, what="the finished run with its trace id in the API"
    )
    [run] = finished_runs()
    trace_id = str(run["trace_id"])
    on_path = {"gateway", "executor", "evolution"}

    def whole(all_spans: list[SpanRecord]) -> bool:
        in_trace = [s for s in all_spans if s.trace_id == trace_id]
        return on_path <= {s.service_name for s in in_trace} and service_edges(in_trace) >= BUILD_PATH_EDGES

    spans.wait_for(whole, timeout=30)
    trace = spans.spans_for_trace(trace_id)
    assert on_path <= {s.service_name for s in trace}
    assert service_edges(trace) >= BUILD_PATH_EDGES, "one trace, linked hop by hop"
