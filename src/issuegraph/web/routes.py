"""The web UI's routes: read the form, call one service, render a page.

Pages live under `/-/` (and the home page at `/`), so they never meet a SourceCraft or GitLab
path. A refusal from a service is shown in words beside the form that caused it; an issue or
project the user cannot read is the 404 page, with the APIs' message.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, unquote

import orjson
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import escape
from sqlalchemy.orm import Session

from issuegraph.accounts import passwords
from issuegraph.accounts import repository as accounts_repo
from issuegraph.accounts.service import ANONYMOUS, Actor
from issuegraph.api.deps import get_session
from issuegraph.api.routing import FaceRouter
from issuegraph.db.engine import Database
from issuegraph.domain.errors import DomainError, Forbidden, NotFound, Unauthenticated
from issuegraph.domain.links import LinkType
from issuegraph.graph import export as graph_export
from issuegraph.graph import service as graph
from issuegraph.issues import service as issues
from issuegraph.issues.service import IssueFields
from issuegraph.links import service as links
from issuegraph.projects import service as projects
from issuegraph.web import markdown, sessions, views

HERE = Path(__file__).parent
CSRF_COOKIE = "issuegraph_csrf"  # before sign-in: the sign-in form's token (double submit)

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,  # package files: no stat() of every template on every page
)
templates.filters["markdown"] = markdown.render
templates.globals["link_groups"] = views.LINK_GROUPS
templates.globals["link_type_words"] = [(t.value, w) for t, w in views.LINK_TYPE_WORDS.items()]

home_router = APIRouter(include_in_schema=False)
router = FaceRouter(prefix="/-", include_in_schema=False)


# ---------------------------------------------------------------- who is asking


@dataclass
class Web:
    """The signed-in user (or anonymous) and the CSRF token every form of this page carries."""

    actor: Actor
    csrf: str
    cookie: str | None
    mint_csrf_cookie: bool
    secure: bool

    @property
    def user(self) -> Any:
        return self.actor.user

    def check_csrf(self, token: str | None) -> None:
        if not token or not secrets.compare_digest(token, self.csrf):
            raise Forbidden(
                "csrf_failed", "The form was stale or forged (CSRF token mismatch): reload the page"
            )

    def require_user(self) -> None:
        if not self.actor.authenticated:
            raise Unauthenticated("sign_in_required", "Sign in to do that")


def web_context(request: Request, session: Session = Depends(get_session)) -> Web:
    settings = request.app.state.settings
    secure = settings.base_url().startswith("https://")
    raw = request.cookies.get(sessions.COOKIE)
    found = sessions.lookup(session, raw)
    if found is not None:
        csrf, user = found
        actor = Actor(user=user, scopes=frozenset({"api"}))
        web = Web(actor, csrf, raw, False, secure)
    else:
        token = request.cookies.get(CSRF_COOKIE)
        minted = not token or len(token) > 100
        web = Web(ANONYMOUS, secrets.token_urlsafe(32) if minted else str(token), None, minted, secure)
    request.state.web = web
    return web


WebDep = Annotated[Web, Depends(web_context)]
SessionDep = Annotated[Session, Depends(get_session)]


def page(request: Request, web: Web, template: str, status: int = 200, **data: Any) -> HTMLResponse:
    html = templates.get_template(template).render(
        request=request, web=web, user=web.user, csrf=escape(web.csrf), path=request.url.path, **data
    )
    response = HTMLResponse(html, status_code=status)
    if web.mint_csrf_cookie:
        response.set_cookie(CSRF_COOKIE, web.csrf, httponly=True, samesite="lax", secure=web.secure, path="/")
    return response


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


# ---------------------------------------------------------------- errors


def render_error(request: Request, error: DomainError) -> Response:
    """The web face's one error renderer (registered for /-/ by the app)."""
    from issuegraph.api.errors import status_for

    if isinstance(error, Unauthenticated) and request.method == "GET":
        return _redirect(f"/-/sign_in?next={quote(request.url.path)}")
    web = getattr(request.state, "web", None) or Web(ANONYMOUS, "", None, False, False)
    status = status_for(error)
    titles = {404: "Not found", 403: "Forbidden", 401: "Sign in required", 400: "Bad request"}
    return page(request, web, "error.html", status, title=titles.get(status, "Error"), error=error)


# ---------------------------------------------------------------- home, sign in, sign out


@home_router.get("/", response_class=HTMLResponse)
def home(request: Request, web: WebDep, session: SessionDep) -> Response:
    project_rows, group_rows = views.home(session, web.actor)
    return page(request, web, "home.html", projects=project_rows, groups=group_rows)


# GitLab's `web_url`s, where the API's answers point (python-gitlab's `issue.web_url`,
# `group.web_url`, ...): redirects to the page, for readers; everyone else gets the web face's
# not-found page. A project's bare `{base}/{full_path}` is not served: a catch-all at the root
# would turn every other unknown path into this face's (and a POST's into a 405).
@home_router.get("/{full_path:path}/-/issues/{iid}", response_class=HTMLResponse)
def gitlab_issue_url(
    request: Request, full_path: str, iid: str, web: WebDep, session: SessionDep
) -> Response:
    def page_of_issue() -> str:  # readable: a confidential issue is not found for others
        if not iid.isdigit():
            raise NotFound("not_found", "404 Not found")
        issue, access = issues.resolve_issue_in(session, web.actor, _project_path(full_path), int(iid))
        return f"/-/projects/{access.project.id}/issues/{issue.iid}"

    return _redirect_to(request, page_of_issue)


@home_router.get("/{full_path:path}/-/issues", response_class=HTMLResponse)
def gitlab_issues_url(request: Request, full_path: str, web: WebDep, session: SessionDep) -> Response:
    def page_of_project() -> str:
        access = projects.resolve_project(session, web.actor, _project_path(full_path))
        return f"/-/projects/{access.project.id}/issues"

    return _redirect_to(request, page_of_project)


@home_router.get("/groups/{full_path:path}", response_class=HTMLResponse)
def gitlab_group_url(request: Request, full_path: str, web: WebDep, session: SessionDep) -> Response:
    def page_of_group() -> str:
        group = projects.resolve_group_by_path(session, web.actor, unquote(full_path).strip("/"))
        return f"/-/groups/{group.id}"

    return _redirect_to(request, page_of_group)


def _project_path(full_path: str) -> str:
    return unquote(full_path).strip("/")


def _redirect_to(request: Request, page_of: Callable[[], str]) -> Response:
    """302 to the page; a refusal as this face's error page (these routes sit at the root,
    where errors would otherwise render as the SourceCraft face's)."""
    if request.url.path.startswith(("/api/", "/-/")):  # no web_url: the prefix's face answers 404
        raise NotFound("not_found", "404 Not found")
    try:
        return RedirectResponse(page_of(), status_code=302)
    except DomainError as error:
        return render_error(request, error)


@router.post("/projects", response_class=HTMLResponse)
def create_project(
    request: Request,
    web: WebDep,
    session: SessionDep,
    name: Annotated[str, Form(max_length=255)] = "",
    visibility: Annotated[str, Form()] = "private",
    close_policy: Annotated[str, Form()] = "allow",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    web.check_csrf(csrf_token)
    web.require_user()
    try:
        with session.begin_nested():
            project = projects.create_project(
                session, web.actor, name=name.strip(), path=None, visibility=visibility
            )
            if close_policy != "allow":
                access = projects.resolve_project(session, web.actor, str(project.id))
                projects.update_project(session, access, {"close_policy": close_policy})
    except DomainError as error:
        project_rows, group_rows = views.home(session, web.actor)
        return page(
            request,
            web,
            "home.html",
            422,
            projects=project_rows,
            groups=group_rows,
            project_error=error.message,
            project_name=name,
        )
    return _redirect(f"/-/projects/{project.id}/issues")


def _safe_next(value: str | None) -> str:
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


@router.get("/sign_in", response_class=HTMLResponse)
def sign_in_form(request: Request, web: WebDep, next: str | None = None) -> Response:
    return page(request, web, "sign_in.html", next=_safe_next(next), error=None, username="")


@router.post("/sign_in", response_class=HTMLResponse)
def sign_in(
    request: Request,
    web: WebDep,
    session: SessionDep,
    username: Annotated[str, Form(max_length=255)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    web.check_csrf(csrf_token)
    target = _safe_next(next)
    wait = sessions.wait_seconds(session, username)
    if wait:
        message = f"Too many failed sign-ins for this username. Try again in {wait} seconds."
        return page(request, web, "sign_in.html", 429, next=target, error=message, username=username)
    user = accounts_repo.find_user_by_username(session, username)
    if not passwords.verify(user, password):
        sessions.record_failure(session, username)
        # The failure must count although the answer is an error: commit it here, the one
        # place where a refused request writes (several workers share the counter).
        session.commit()
        message = "Invalid username or password."
        return page(request, web, "sign_in.html", 401, next=target, error=message, username=username)
    assert user is not None
    sessions.clear_failures(session, username)
    sessions.end(session, web.cookie)  # a new session id on every sign-in
    raw, _ = sessions.start(session, user)
    response = _redirect(target)
    response.set_cookie(
        sessions.COOKIE,
        raw,
        max_age=int(sessions.LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=web.secure,
        path="/",
    )
    return response


@router.post("/sign_out")
def sign_out(web: WebDep, session: SessionDep, csrf_token: Annotated[str, Form()] = "") -> Response:
    web.check_csrf(csrf_token)
    sessions.end(session, web.cookie)
    response = _redirect("/")
    response.delete_cookie(sessions.COOKIE, path="/")
    return response


# ---------------------------------------------------------------- groups


def _list_filters(
    state: str = "opened",
    label: str = "",
    assignee: str = "",
    search: str = "",
    work: str = "",
    page: int = 1,
) -> views.ListFilters:
    return views.ListFilters(
        state=state if state in ("opened", "closed", "all") else "opened",
        label=label[:255],
        assignee=assignee[:255],
        search=search[:255],
        work=work if work in ("ready", "blocked") else "",
        page=max(1, min(page, 100_000)),
    )


FiltersDep = Annotated[views.ListFilters, Depends(_list_filters)]


@router.get("/groups/{group_id}", response_class=HTMLResponse)
def group_page(
    request: Request, group_id: str, web: WebDep, session: SessionDep, filters: FiltersDep
) -> Response:
    scope = graph.group_scope(session, web.actor, group_id)
    listing = views.group_issues(session, web.actor, scope, filters)
    counts = views.group_counts(session, web.actor, scope)
    return page(
        request,
        web,
        "issues.html",
        scope_kind="group",
        scope=scope,
        listing=listing,
        filters=filters,
        counts=counts,
        access=None,
    )


# ---------------------------------------------------------------- project issues


@router.get("/projects/{project_id}", response_class=HTMLResponse)
def project_home(project_id: str, web: WebDep, session: SessionDep) -> Response:
    access = projects.resolve_project(session, web.actor, project_id)
    return _redirect(f"/-/projects/{access.project.id}/issues")


def _issues_page(
    request: Request,
    web: Web,
    session: Session,
    access: Any,
    filters: views.ListFilters,
    status: int = 200,
    form_error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    listing = views.project_issues(session, access, filters)
    return page(
        request,
        web,
        "issues.html",
        status,
        scope_kind="project",
        scope=access.project,
        access=access,
        listing=listing,
        filters=filters,
        counts=views.project_counts(session, access),
        form_error=form_error,
        form=form or {},
    )


@router.get("/projects/{project_id}/issues", response_class=HTMLResponse)
def project_issues(
    request: Request, project_id: str, web: WebDep, session: SessionDep, filters: FiltersDep
) -> Response:
    access = projects.resolve_project(session, web.actor, project_id)
    return _issues_page(request, web, session, access, filters)


@router.post("/projects/{project_id}/issues", response_class=HTMLResponse)
def create_issue(
    request: Request,
    project_id: str,
    web: WebDep,
    session: SessionDep,
    title: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    labels: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    web.check_csrf(csrf_token)
    web.require_user()
    access = projects.resolve_project(session, web.actor, project_id)
    names = [x.strip() for x in labels.split(",") if x.strip()]
    fields = IssueFields(title=title, description=description or None, labels=names or None)
    try:
        with session.begin_nested():
            issue = issues.create_issue(session, access, fields)
    except DomainError as error:
        form = {"title": title, "description": description, "labels": labels}
        return _issues_page(request, web, session, access, views.ListFilters(), 422, error.message, form)
    return _redirect(views.issue_url(access.project.id, issue.iid))


# ---------------------------------------------------------------- the issue page


def _issue_page(
    request: Request, web: Web, session: Session, project_id: str, iid: int, status: int = 200, **notes: Any
) -> Response:
    everything = request.query_params.get("activity") == "all"
    data = views.issue_page(session, web.actor, project_id, iid, all_activity=everything)
    template = "issue.html"
    if _is_htmx(request) and notes.get("partial"):
        template = notes["partial"]
    return page(request, web, template, status, p=data, **{k: v for k, v in notes.items() if k != "partial"})


@router.get("/projects/{project_id}/issues/{iid}", response_class=HTMLResponse)
def issue_page(request: Request, project_id: str, iid: int, web: WebDep, session: SessionDep) -> Response:
    return _issue_page(request, web, session, project_id, iid)


@router.post("/projects/{project_id}/issues/{iid}/notes", response_class=HTMLResponse)
def add_comment(
    request: Request,
    project_id: str,
    iid: int,
    web: WebDep,
    session: SessionDep,
    body: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    web.check_csrf(csrf_token)
    web.require_user()
    issue, access = issues.resolve_issue_in(session, web.actor, project_id, iid)
    try:
        with session.begin_nested():
            issues.create_note(session, access, issue, body)
    except DomainError as error:
        return _issue_page(
            request, web, session, project_id, iid, 422, comment_error=error.message, comment=body
        )
    return _redirect(views.issue_url(access.project.id, iid) + "#timeline")


@router.post("/projects/{project_id}/issues/{iid}/state", response_class=HTMLResponse)
def change_state(
    request: Request,
    project_id: str,
    iid: int,
    web: WebDep,
    session: SessionDep,
    state_event: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    web.check_csrf(csrf_token)
    web.require_user()
    issue, access = issues.resolve_issue_in(session, web.actor, project_id, iid)
    if state_event not in ("close", "reopen"):
        return _issue_page(request, web, session, project_id, iid, 400, state_error="Choose close or reopen.")
    fields = IssueFields(status="closed" if state_event == "close" else "open")
    try:
        with session.begin_nested():
            result = issues.update_issue(session, access, issue, fields)
    except DomainError as error:
        still_open = views.describe_close_warnings(
            session, web.actor, access.project.id, list(error.details.get("open", []))
        )
        return _issue_page(
            request, web, session, project_id, iid, 409, state_error=error.message, still_open=still_open
        )
    if result.warnings:
        warnings = views.describe_close_warnings(session, web.actor, access.project.id, result.warnings)
        return _issue_page(request, web, session, project_id, iid, 200, close_warnings=warnings)
    return _redirect(views.issue_url(access.project.id, iid))


@router.post("/projects/{project_id}/issues/{iid}/links", response_class=HTMLResponse)
def add_link(
    request: Request,
    project_id: str,
    iid: int,
    web: WebDep,
    session: SessionDep,
    link_type: Annotated[str, Form()] = "",
    target: Annotated[str, Form(max_length=600)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    web.check_csrf(csrf_token)
    web.require_user()
    source, access = issues.resolve_issue_in(session, web.actor, project_id, iid)
    try:
        with session.begin_nested():
            kind = LinkType(link_type) if link_type in LinkType._value2member_map_ else None
            if kind is None:
                raise_invalid("Choose a link type.")
            assert kind is not None
            target_ref, target_iid = views.parse_target(target, access)
            other, other_access = issues.resolve_issue_in(session, web.actor, target_ref, target_iid)
            accesses = {access.project.id: access, other_access.project.id: other_access}
            links.create_link(session, web.actor, source, other, kind, accesses=accesses)
    except DomainError as error:
        message = _link_refusal(error, target)
        return _issue_page(
            request,
            web,
            session,
            project_id,
            iid,
            422,
            partial="_links.html",
            link_error=message,
            link_form={"link_type": link_type, "target": target},
        )
    if _is_htmx(request):
        return _issue_page(request, web, session, project_id, iid, partial="_links.html", link_added=target)
    return _redirect(views.issue_url(access.project.id, iid) + "#links")


def raise_invalid(message: str) -> None:
    from issuegraph.domain.errors import Invalid

    raise Invalid("invalid_link_type", message)


def _link_refusal(error: DomainError, target: str) -> str:
    """Every refusal in words; a target that cannot be read is 'not found', as on the APIs."""
    if error.code in ("issue_not_found", "project_not_found"):
        return f"{target.strip() or 'That issue'} was not found (or you cannot see it)."
    return error.message


@router.post("/projects/{project_id}/issues/{iid}/links/delete", response_class=HTMLResponse)
def remove_chosen_link(
    request: Request,
    project_id: str,
    iid: int,
    web: WebDep,
    session: SessionDep,
    link_id: Annotated[int, Form(ge=1, le=2**63 - 1)],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """The linked-items panel: one form per group, the pressed Remove button names the link."""
    return remove_link(request, project_id, iid, link_id, web, session, csrf_token)


@router.post("/projects/{project_id}/issues/{iid}/links/{link_id}/delete", response_class=HTMLResponse)
def remove_link(
    request: Request,
    project_id: str,
    iid: int,
    link_id: int,
    web: WebDep,
    session: SessionDep,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    web.check_csrf(csrf_token)
    web.require_user()
    issue, access = issues.resolve_issue_in(session, web.actor, project_id, iid)
    try:
        with session.begin_nested():
            link, source, target = links.resolve_link(session, web.actor, issue, link_id)
            links.delete_link(session, web.actor, link, source, target)
    except DomainError as error:
        return _issue_page(
            request, web, session, project_id, iid, 422, partial="_links.html", link_error=error.message
        )
    if _is_htmx(request):
        return _issue_page(request, web, session, project_id, iid, partial="_links.html")
    return _redirect(views.issue_url(access.project.id, iid) + "#links")


@router.get("/projects/{project_id}/issues/{iid}/link_targets", response_class=HTMLResponse)
def link_targets(
    request: Request,
    project_id: str,
    iid: int,
    web: WebDep,
    session: SessionDep,
    target: Annotated[str, Query(max_length=600)] = "",
) -> Response:
    """The picker's suggestions as the user types (htmx swaps them under the field)."""
    issue, access = issues.resolve_issue_in(session, web.actor, project_id, iid)
    items = (
        views.search_targets(session, web.actor, target, access, issue.id) if web.actor.authenticated else []
    )
    return page(request, web, "_picker.html", items=items, query=target)


# ---------------------------------------------------------------- graphs


@router.get("/projects/{project_id}/issues/{iid}/graph", response_class=HTMLResponse)
def issue_graph_page(
    request: Request,
    project_id: str,
    iid: int,
    web: WebDep,
    session: SessionDep,
    depth: Annotated[int, Query(ge=1, le=graph.MAX_DEPTH)] = 5,
    open_only: bool = False,
) -> Response:
    issue, access = issues.resolve_issue_in(session, web.actor, project_id, iid)
    return page(
        request,
        web,
        "issue_graph.html",
        issue=issue,
        access=access,
        depth=depth,
        open_only=open_only,
        reference=f"{access.project.full_path}#{issue.iid}",
    )


@router.get("/projects/{project_id}/issues/{iid}/graph.json")
def issue_graph_data(
    project_id: str,
    iid: int,
    web: WebDep,
    session: SessionDep,
    depth: Annotated[int, Query(ge=1, le=graph.MAX_DEPTH)] = 5,
    open_only: bool = False,
) -> Response:
    data = views.issue_graph(session, web.actor, project_id, iid, depth=depth, open_only=open_only)
    return Response(orjson.dumps(data), media_type="application/json")


@router.get("/projects/{project_id}/graph", response_class=HTMLResponse)
def project_graph_page(request: Request, project_id: str, web: WebDep, session: SessionDep) -> Response:
    access = projects.resolve_project(session, web.actor, project_id)
    return page(request, web, "project_graph.html", access=access, project=access.project)


@router.get("/projects/{project_id}/graph/marks.json")
def project_graph_marks(project_id: str, web: WebDep, session: SessionDep) -> Response:
    access = projects.resolve_project(session, web.actor, project_id)
    return Response(
        orjson.dumps(views.project_graph_marks(session, web.actor, access)), media_type="application/json"
    )


@router.get("/projects/{project_id}/graph/export")
def project_graph_export(
    request: Request,
    project_id: str,
    web: WebDep,
    session: SessionDep,
    fmt: Annotated[graph_export.ExportFormat, Query(alias="format")] = graph_export.ExportFormat.JSON,
    download: bool = False,
) -> Response:
    """The graph API's export, for the page (JSON) and its download buttons (JSON, DOT, Mermaid)."""
    scope = graph.project_scope(session, web.actor, project_id)
    database: Database = request.app.state.database

    def chunks() -> Iterator[bytes]:
        with database.session(write=False) as export_session:
            yield from graph_export.stream(export_session, scope, fmt)

    headers = {}
    if download:
        headers["Content-Disposition"] = f'attachment; filename="{graph_export.filename(scope, fmt)}"'
    return StreamingResponse(chunks(), media_type=graph_export.MEDIA_TYPES[fmt], headers=headers)
