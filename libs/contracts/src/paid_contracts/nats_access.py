"""Who may publish and subscribe what on NATS: the one declaration the server's users are made from.

Each service connects as its own user (`paid-<service>`), with deny by default: a subject that is not
listed here is refused by nats-server. Streams are created by the provisioning user (`paid-admin`, used
by `paid up`, the dev stack, the tests and compose's `provision` job), never by a service; a service
may read the streams' info, create and read its own durable consumers and nothing else of the JetStream
API (no stream deletion or purge, no other service's consumer).

Replies: a requester's inboxes live under `_INBOX.<login>.` (the client's `inbox_prefix`), which only that
user may subscribe to; a service that answers requests gets `allow_responses`, which lets it publish
once to the reply subject of a request it received and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

from paid_contracts import subjects
from paid_contracts.subjects import (
    STREAM_ATTENTION,
    STREAM_BUDGET,
    STREAM_GITHUB,
    STREAM_PLAN,
    STREAM_PROJECT,
    STREAM_RUN,
)

ADMIN_USER = "paid-admin"
NEXT_LOGIN_SUFFIX = ".next"
JS_API = "$JS.API"


@dataclass(frozen=True)
class Durable:
    """A durable pull consumer: named `<service>-<name>` by `paid_runtime.subscriptions`."""

    stream: str
    name: str
    subject: str


@dataclass(frozen=True)
class ServiceAccess:
    service: str
    publishes: tuple[str, ...] = ()
    """Event subjects (JetStream) this service publishes; wildcards allowed."""
    durables: tuple[Durable, ...] = ()
    serves: tuple[str, ...] = ()
    """Core request-reply subjects this service answers (subscribes to, with allow_responses)."""
    requests: tuple[str, ...] = ()
    """Core request-reply subjects this service calls."""

    @property
    def user(self) -> str:
        return user_for(self.service)

    def publish_allow(self) -> list[str]:
        allowed = [*self.publishes, *self.requests, f"{JS_API}.INFO"]
        allowed += [f"{JS_API}.STREAM.INFO.{stream}" for stream in self.streams()]
        for durable in self.durables:
            consumer = f"{durable.stream}.{durable.name}"
            allowed += [
                f"{JS_API}.CONSUMER.INFO.{consumer}",
                # Only the form that carries the filter in the subject, so that a service cannot
                # re-create its own consumer over more of the stream (the legacy DURABLE.CREATE and
                # the filterless CREATE carry the filter in the body, which permissions cannot see).
                f"{JS_API}.CONSUMER.CREATE.{consumer}.{durable.subject}",
                f"{JS_API}.CONSUMER.MSG.NEXT.{consumer}",
                f"$JS.ACK.{consumer}.>",
                subjects.dead_letter_subject(durable.subject),
            ]
        return _unique(allowed)

    def subscribe_allow(self, login: str | None = None) -> list[str]:
        """`login`: one of `logins_of(self.user)`, whose inboxes are `_INBOX.<login>.`."""
        return _unique([*self.serves, f"_INBOX.{login or self.user}.>"])

    def streams(self) -> list[str]:
        """The streams this service publishes into or consumes from, which must exist before it starts."""
        published = {
            spec.name
            for spec in subjects.ALL_STREAMS
            for subject in self.publishes
            if any(subject.startswith(pattern.removesuffix(">")) for pattern in spec.subjects)
        }
        return sorted(published | {durable.stream for durable in self.durables})


def user_for(service: str) -> str:
    return f"paid-{service}"


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _durables(service: str, stream: str, **subjects_by_name: str) -> tuple[Durable, ...]:
    return tuple(
        Durable(stream, f"{service}-{name.replace('_', '-')}", subject)
        for name, subject in subjects_by_name.items()
    )


GITHUB = STREAM_GITHUB.name
SERVICE_ACCESS: tuple[ServiceAccess, ...] = (
    ServiceAccess(
        "gateway",
        publishes=("paid.github.>", "paid.project.>", "paid.attention.>"),
        durables=_durables("gateway", STREAM_RUN.name, run_projection="paid.run.>"),
        # The token minter (issue 20): only the gateway holds the GitHub App's key and answers these.
        # Requesters are listed here as each one starts asking (the scan refuses unused grants).
        serves=(subjects.GITHUB_APP_MINT, subjects.GITHUB_APP_REVOKE, subjects.GITHUB_APP_RELEASE_JOB),
        # Projects' budget caps, which the executor keeps (admins set them through the gateway's API).
        requests=(subjects.EXECUTOR_BUDGETS_LIST, subjects.EXECUTOR_BUDGETS_SET),
    ),
    ServiceAccess(
        "poller",
        publishes=("paid.github.>",),
        durables=_durables("poller", STREAM_PROJECT.name, projects="paid.project.>"),
        requests=(subjects.GITHUB_APP_MINT,),  # shared per-repository tokens, left to expire
    ),
    ServiceAccess(
        "planner",
        publishes=("paid.plan.>",),
        durables=(
            *_durables(
                "planner",
                GITHUB,
                plan_requested=subjects.GITHUB_PLAN_REQUESTED,
                issue_commented=subjects.GITHUB_ISSUE_COMMENTED,
                pull_request_closed=subjects.GITHUB_PULL_REQUEST_CLOSED,
            ),
            # Auto mode: a task's run ending (with a pull request or without) releases or stops the plan.
            *_durables("planner", STREAM_RUN.name, run_finished=subjects.RUN_FINISHED),
        ),
        requests=(
            subjects.GITHUB_APP_MINT,
            subjects.PROMPT_RESOLVE,
        ),  # tokens: read-only or issues-only, left to expire
    ),
    ServiceAccess(
        "executor",
        publishes=("paid.run.>", "paid.budget.>"),
        durables=(
            *_durables(
                "executor",
                GITHUB,
                build_requested=subjects.GITHUB_BUILD_REQUESTED,
                pull_request_reviewed=subjects.GITHUB_PULL_REQUEST_REVIEWED,
                issue_commented=subjects.GITHUB_ISSUE_COMMENTED,
                check_run_completed=subjects.GITHUB_CHECK_RUN_COMPLETED,
                pull_request_closed=subjects.GITHUB_PULL_REQUEST_CLOSED,
                base_branch_pushed=subjects.GITHUB_BASE_BRANCH_PUSHED,
                commit_status_changed=subjects.GITHUB_COMMIT_STATUS_CHANGED,
                check_suite_completed=subjects.GITHUB_CHECK_SUITE_COMPLETED,
                review_requested=subjects.GITHUB_REVIEW_REQUESTED,
            ),
            *_durables("executor", STREAM_PLAN.name, task_ready=subjects.PLAN_TASK_READY),
            # Projects' agent and model (paid_executor.project_agents).
            *_durables("executor", STREAM_PROJECT.name, projects="paid.project.>"),
        ),
        serves=(
            f"{subjects.EXECUTOR_CMD_PREFIX}.*",
            f"{subjects.EXECUTOR_BUDGETS_PREFIX}.*",
            f"{subjects.EXECUTOR_ALIVE_PREFIX}.*",
        ),
        # A run's own GitHub token, revoked (released) when the run ends; the liveness of the executor
        # process holding a run's worktree, asked by another executor process.
        requests=(
            subjects.PROMPT_RESOLVE,
            subjects.GITHUB_APP_MINT,
            subjects.GITHUB_APP_RELEASE_JOB,
            f"{subjects.EXECUTOR_ALIVE_PREFIX}.*",
        ),
    ),
    ServiceAccess(
        "evolution",
        publishes=("paid.evolution.>",),
        durables=(
            *_durables(
                "evolution",
                STREAM_RUN.name,
                run_finished=subjects.RUN_FINISHED,
                follow_up_finished=subjects.RUN_FOLLOW_UP_FINISHED,
            ),
            *_durables(
                "evolution",
                GITHUB,
                pull_request_closed=subjects.GITHUB_PULL_REQUEST_CLOSED,
                reaction_changed=subjects.GITHUB_REACTION_CHANGED,
            ),
        ),
        serves=(subjects.PROMPT_RESOLVE,),
    ),
    ServiceAccess(
        "notifier",
        durables=(
            *_durables(
                "notifier",
                STREAM_RUN.name,
                run_finished=subjects.RUN_FINISHED,
                pull_request_opened=subjects.RUN_PULL_REQUEST_OPENED,
            ),
            *_durables(
                "notifier",
                STREAM_BUDGET.name,
                budget_alerted=subjects.BUDGET_ALERTED,
                budget_exhausted=subjects.BUDGET_EXHAUSTED,
            ),
            *_durables("notifier", STREAM_PLAN.name, plan_needs_input=subjects.PLAN_NEEDS_INPUT),
            *_durables(
                "notifier", STREAM_ATTENTION.name, project_needs_attention=subjects.PROJECT_NEEDS_ATTENTION
            ),
        ),
    ),
)
ACCESS_BY_SERVICE = {access.service: access for access in SERVICE_ACCESS}
NATS_USERS: tuple[str, ...] = (ADMIN_USER, *(access.user for access in SERVICE_ACCESS))


def logins_of(user: str) -> tuple[str, str]:
    """A user's two logins, with the same permissions: during a rotation both are accepted (the new
    password goes to the login not in use, the services move to it, then the old login is removed)."""
    return user, f"{user}{NEXT_LOGIN_SUFFIX}"


def render_authorization(passwords: dict[str, str]) -> str:
    """The `authorization` block of nats-server's config: an entry per login given a password.

    `passwords` maps logins (`logins_of` each of `NATS_USERS`) to passwords, written as given: a quoted
    literal (`"..."`) or a `$VARIABLE` that nats-server reads from its environment (compose). A user
    with no login at all, or a login of no user, is refused here rather than left open or ignored.
    """
    missing = [user for user in NATS_USERS if not any(passwords.get(login) for login in logins_of(user))]
    if missing:
        raise ValueError(f"no NATS password for {', '.join(missing)}")
    known = {login for user in NATS_USERS for login in logins_of(user)}
    if unknown := sorted(set(passwords) - known):
        raise ValueError(f"no such NATS user: {', '.join(unknown)}")
    entries = [
        _user_entry(login, passwords[login], [">"], [">"], responses=False)
        for login in logins_of(ADMIN_USER)
        if passwords.get(login)
    ]
    for access in SERVICE_ACCESS:
        entries += [
            _user_entry(
                login,
                passwords[login],
                access.publish_allow(),
                access.subscribe_allow(login),
                responses=bool(access.serves),
            )
            for login in logins_of(access.user)
            if passwords.get(login)
        ]
    return "authorization {\n  users = [\n" + ",\n".join(entries) + "\n  ]\n}\n"


def _user_entry(
    user: str, password: str, publish: list[str], subscribe: list[str], *, responses: bool
) -> str:
    def listed(items: list[str]) -> str:
        return "[" + ", ".join(f'"{item}"' for item in items) + "]"

    permissions = f"publish: {{allow: {listed(publish)}}}, subscribe: {{allow: {listed(subscribe)}}}"
    if responses:
        permissions += ", allow_responses: true"
    return f'    {{user: "{user}", password: {password}, permissions: {{{permissions}}}}}'
