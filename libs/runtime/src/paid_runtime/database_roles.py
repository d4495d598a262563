"""One PostgreSQL role per service, owning that service's schema and granted nothing else.

A service connects as `paid_<service>`; its migrations run as that role, in the schema it owns. No
role gets USAGE on another's schema, so a bug or a compromise in the planner reads nothing of the
gateway's (`permission denied for schema gateway`). The dev stack runs `provision_roles` as the
superuser at each start; operators with their own server run `deploy/sql/roles.sql` (generated from
`roles_script`, a test fails when it drifts), compose's `provision` job runs the same statements.

Rotation with an overlap: PostgreSQL keeps one password per role, so each service has two logins,
`paid_<service>` (which owns the schema) and `paid_<service>_next`, a member of it whose sessions start
as `paid_<service>` (`ALTER ROLE ... SET role`), so whichever login a process uses, it acts as, and
creates objects owned by, the one owning role. A login given a password may log in; a login given none
is NOLOGIN, has no password, and its open sessions are ended.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import text

from paid_runtime.database import make_engine

SERVICE_SCHEMAS: dict[str, str] = {
    "gateway": "gateway",
    "poller": "poller",
    "planner": "planner",
    "executor": "executor",
    "evolution": "evolution",
    "notifier": "notifier",
}

# Objects an earlier, all-powerful role created in the schema move to the service's role, so that its
# migrations can alter them. Column-owned sequences follow their table.
_ADOPT_OBJECTS = """
DO $adopt$
DECLARE item record;
BEGIN
  FOR item IN
    SELECT format('ALTER %s %I.%I OWNER TO %I',
                  CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                 WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
                  n.nspname, c.relname, '{role}') AS statement
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = '{schema}' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i'))
    UNION ALL
    SELECT format('ALTER TYPE %I.%I OWNER TO %I', n.nspname, t.typname, '{role}')
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE n.nspname = '{schema}' AND t.typtype IN ('e', 'd')
    UNION ALL
    SELECT format('ALTER FUNCTION %s OWNER TO %I', p.oid::regprocedure, '{role}')
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = '{schema}'
  LOOP
    EXECUTE item.statement;
  END LOOP;
END
$adopt$;
"""


def role_for(service: str) -> str:
    """The role that owns the service's schema (and its first login)."""
    return f"paid_{service}"


def logins_of(service: str) -> tuple[str, str]:
    """The service's two logins: a password is rotated by moving from one to the other."""
    return role_for(service), f"{role_for(service)}_next"


def service_of(login: str) -> str:
    for service in SERVICE_SCHEMAS:
        if login in logins_of(service):
            return service
    raise ValueError(f"{login!r} is no service's database login")


def _create(role: str) -> str:
    return (
        f"DO $create$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') "
        f"THEN CREATE ROLE {role}; END IF; END $create$;"
    )


def schema_statements(service: str) -> list[str]:
    """The owning role, the second login acting as it, and the schema; no password is set here."""
    role, next_login = logins_of(service)
    schema = SERVICE_SCHEMAS[service]
    return [
        _create(role),
        _create(next_login),
        f"ALTER ROLE {role} NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;",
        f"ALTER ROLE {next_login} NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;",
        f"GRANT {role} TO {next_login};",
        f"ALTER ROLE {next_login} SET role = '{role}';",
        f"CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {role};",
        f"ALTER SCHEMA {schema} OWNER TO {role};",
        f"REVOKE ALL ON SCHEMA {schema} FROM PUBLIC;",
        _ADOPT_OBJECTS.format(role=role, schema=schema).strip(),
    ]


def allow_login(login: str, password_sql: str) -> str:
    """`password_sql` is a SQL literal or a psql `:'variable'`."""
    return f"ALTER ROLE {login} LOGIN PASSWORD {password_sql};"


def retire_login(login: str) -> list[str]:
    """The login can no longer connect, and its sessions still open (the old password's) are ended."""
    return [
        f"ALTER ROLE {login} NOLOGIN PASSWORD NULL;",
        f"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = '{login}';",  # noqa: S608 (a fixed login)
    ]


def role_statements(service: str, passwords_sql: dict[str, str]) -> list[str]:
    """Idempotent statements for one service: its logins in `passwords_sql` (at least one) may log
    in with those passwords, the other is retired."""
    if not passwords_sql.keys() & set(logins_of(service)):
        raise ValueError(f"{service} needs a password for one of {', '.join(logins_of(service))}")
    statements = schema_statements(service)
    for login in logins_of(service):
        if login in passwords_sql:
            statements.append(allow_login(login, passwords_sql[login]))
        else:
            statements += retire_login(login)
    return statements


def password_variable(login: str) -> str:
    """The psql variable of `login`'s password in roles.sql: planner_password, planner_next_password."""
    return login.removeprefix("paid_") + "_password"


def _script_logins(service: str) -> list[str]:
    first, second = (password_variable(login) for login in logins_of(service))
    lines = [
        f"\\if :{{?{first}}}",
        f"\\elif :{{?{second}}}",
        "\\else",
        f"DO $missing$ BEGIN RAISE EXCEPTION 'set {first} (or {second}) for {service}'; END $missing$;",
        "\\endif",
    ]
    for login in logins_of(service):
        lines += [
            f"\\if :{{?{password_variable(login)}}}",
            allow_login(login, f":'{password_variable(login)}'"),
            "\\else",
            *retire_login(login),
            "\\endif",
        ]
    return lines


def roles_script() -> str:
    """deploy/sql/roles.sql: `psql -v gateway_password=... -v poller_password=... -f roles.sql`."""
    lines = [
        "-- One role per Paid service, owning its schema, with no grant on any other schema.",
        "-- Run as a superuser (or a role with CREATEROLE that owns the database), once and after each",
        "-- upgrade; it is idempotent and also hands the schema's existing objects to the service's role:",
        '--   psql "$ADMIN_URL" -v ON_ERROR_STOP=1 -v gateway_password=... -v poller_password=... \\',
        "--        -v planner_password=... -v executor_password=... -v evolution_password=... \\",
        "--        -v notifier_password=... -f roles.sql",
        "-- Then give each service its own URL: PAID_<SERVICE>_DATABASE_URL=postgresql://paid_<service>:...@host/db",
        "-- Each service has a second login, paid_<service>_next, acting as paid_<service>. To rotate a",
        "-- password with an overlap: run again with <service>_next_password set beside <service>_password,",
        "-- move the service's replicas to postgresql://paid_<service>_next:NEW@..., then run again with",
        "-- only <service>_next_password: paid_<service> can no longer log in and its open sessions end.",
        "-- A login whose variable is not set is refused (NOLOGIN, no password). (docs/architecture.md)",
        "-- Generated by paid_runtime.database_roles.roles_script: do not edit.",
        "",
    ]
    for service in SERVICE_SCHEMAS:
        lines.append(f"-- {service}")
        lines += schema_statements(service)
        lines += _script_logins(service)
        lines.append("")
    return "\n".join(lines)


async def provision_roles(admin_url: str, passwords: Mapping[str, str]) -> None:
    """Creates or updates the role and schema of every service with a login in `passwords` (login ->
    password), as the superuser at `admin_url`; the service's login not in `passwords` is retired."""
    by_service: dict[str, dict[str, str]] = {}
    for login, password in passwords.items():
        by_service.setdefault(service_of(login), {})[login] = password
    engine = make_engine(admin_url, pool_size=1)
    try:
        # Statement by statement, as psql runs roles.sql: a retired login is NOLOGIN before its sessions
        # are ended, so none of them can come back with the old password in between.
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            for service, logins in by_service.items():
                literals = {
                    login: str(
                        await connection.scalar(
                            text("SELECT quote_literal(CAST(:p AS text))"), {"p": password}
                        )
                    )
                    for login, password in logins.items()
                }
                for statement in role_statements(service, literals):
                    await connection.exec_driver_sql(statement)
    finally:
        await engine.dispose()
