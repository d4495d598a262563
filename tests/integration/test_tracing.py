"""One run is one trace: the gateway's request span, the executor's workflow and activity spans share it;
one plan likewise, from the webhook through the planner's workflow to its GitHub calls and the runs."""

from __future__ import annotations

import json

import httpx
import pytest

from paid_contracts.workflow_ids import execution_workflow_id
from paid_devstack import OtlpSink, SpanRecord, wait_until
from paid_devstack.demo_repo import MAINTAINER, DemoIssue, fix_diff
from paid_devstack.sandbox import EmulatedPaid
from paid_llm_emulator import LLMEmulator

from .conftest import ADMIN_TOKEN

pytestmark = pytest.mark.integration


def test_gateway_request_and_executor_workflow_and_activities_share_one_trace(
    paid: EmulatedPaid, issue: DemoIssue, spans: OtlpSink
) -> None:
    workflow_id = execution_workflow_id(f"{issue.owner}/{issue.repo}", issue.number)
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
    workflow_id = execution_workflow_id(f"{issue.owner}/{issue.repo}", issue.number)
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


PLAN_PATH_EDGES = {("gateway", "planner"), ("planner", "executor")}
"""Service hops of a labeled `paid-plan` issue: webhook -> plan, task ready -> run."""


class Tree:
    """A trace's spans by id, to follow parent links."""

    def __init__(self, trace: list[SpanRecord]) -> None:
        self.spans = trace
        self.by_id = {span.span_id: span for span in trace}

    def parent(self, span: SpanRecord) -> SpanRecord | None:
        return self.by_id.get(span.parent_span_id or "")

    def ancestors(self, span: SpanRecord) -> list[SpanRecord]:
        found = []
        while (parent := self.parent(span)) is not None:
            found.append(parent)
            span = parent
        return found

    def reaches_a_root(self, span: SpanRecord) -> bool:
        """Every ancestor of `span` is here, up to a span without a parent."""
        top = ([span, *self.ancestors(span)])[-1]
        return not top.parent_span_id

    def named(self, service: str, name: str) -> list[SpanRecord]:
        return [s for s in self.spans if s.service_name == service and s.name == name]

    def one(self, service: str, name: str) -> SpanRecord:
        [span] = self.named(service, name)
        return span

    def client_calls(self, parent: SpanRecord, base_url: str) -> list[str]:
        """`METHOD url` of the HTTP requests made directly under `parent` to `base_url`."""
        calls = [s for s in self.spans if s.parent_span_id == parent.span_id and s.kind == "CLIENT"]
        urls = [(s.name, str(s.attributes.get("url.full") or s.attributes.get("http.url"))) for s in calls]
        return [f"{method} {url}" for method, url in urls if url.startswith(base_url)]


def test_the_plan_path_is_one_trace_linked_from_the_webhook_to_the_github_calls(
    paid: EmulatedPaid, issue: DemoIssue, spans: OtlpSink, llm: LLMEmulator
) -> None:
    title = f"Trace the plan ({issue.repo})"
    parent = paid.github.create_issue(
        issue.owner, issue.repo, title=title, body="Fix add().", as_user=MAINTAINER
    )
    task = {
        "id": "fix-add",
        "title": "Make add() add",
        "description": f"```diff\n{fix_diff()}```\n",
        "acceptance_criteria": ["test_add passes"],
        "depends_on": [],
    }
    llm.reply(json.dumps({"summary": "Fix add().", "tasks": [task]}), contains=title)
    paid.label(DemoIssue(issue.owner, issue.repo, parent["number"], parent["html_url"]), "paid-plan")
    workflow_id = f"plan:{issue.owner}/{issue.repo}#{parent['number']}"
    workflow_span = spans.wait_for_span(
        lambda s: s.attributes.get("temporalWorkflowID") == workflow_id and s.name.startswith("RunWorkflow:"),
        timeout=90,
    )

    def reaches_the_executor(all_spans: list[SpanRecord]) -> bool:
        """Both ends are exported, and so is every span up to the trace's root: services export in
        batches, at their own pace, so a child (the executor's consumer) may arrive before its parents
        (the publish, and the gateway's webhook request at the root)."""
        in_trace = Tree([s for s in all_spans if s.trace_id == workflow_span.trace_id])
        consumers = in_trace.named("executor", "paid.plan.task_ready process")
        activities = in_trace.named("planner", "RunActivity:planner.ensure_sub_issue")
        ends = [*consumers, *activities]
        return bool(consumers and activities) and all(in_trace.reaches_a_root(span) for span in ends)

    spans.wait_for(reaches_the_executor, timeout=90)
    tree = Tree(spans.spans_for_trace(workflow_span.trace_id))

    # gateway: the webhook request starts the trace and publishes the plan request.
    request = tree.one("gateway", "POST /webhooks/github")
    assert request.kind == "SERVER"
    assert tree.parent(request) is None, "the webhook request is the trace's root"
    # NATS: the planner's consumer span is a child of the gateway's publish.
    consumer = tree.one("planner", "paid.github.plan_requested process")
    assert consumer.kind == "CONSUMER"
    published = tree.parent(consumer)
    assert published is not None
    assert (published.service_name, published.kind) == ("gateway", "PRODUCER")
    assert request in tree.ancestors(consumer)
    # Temporal: the consumer starts the workflow, whose run and activities hang under that start.
    start = tree.one("planner", "SignalWithStartWorkflow:PlanningWorkflow")
    assert tree.parent(start) == consumer
    assert workflow_span.name == "RunWorkflow:PlanningWorkflow"
    assert tree.parent(workflow_span) == start
    activities = {}
    # The webhook pins the issue's text, so the planner reads its context through the pinned check.
    for name in ("fetch_pinned_context", "draft_plan", "ensure_sub_issue"):
        run = tree.one("planner", f"RunActivity:planner.{name}")
        scheduled = tree.parent(run)
        assert scheduled is not None
        assert scheduled.name == f"StartActivity:planner.{name}"
        assert start in tree.ancestors(run), f"{name} is outside the workflow's trace"
        activities[name] = run
    # GitHub (and the model): each call is a child of the activity that makes it.
    repo_api = f"{paid.github.api_url}/repos/{issue.owner}/{issue.repo}"
    reads = tree.client_calls(activities["fetch_pinned_context"], repo_api)
    assert f"GET {repo_api}/issues/{parent['number']}" in reads, reads
    assert f"POST {repo_api}/issues" in tree.client_calls(activities["ensure_sub_issue"], repo_api)
    assert tree.client_calls(activities["draft_plan"], llm.url), "the model call is not in the trace"
    # And on: the released task's run is a child of the planner's publish.
    task_consumer = tree.one("executor", "paid.plan.task_ready process")
    task_published = tree.parent(task_consumer)
    assert task_published is not None
    assert task_published.service_name == "planner"
    assert start in tree.ancestors(task_consumer)
    assert service_edges(tree.spans) >= PLAN_PATH_EDGES
