"""The console's pages at /admin (server-rendered, every asset served here). Routes only read the
request, call app/console/service.py and render; sign-in and CSRF are checked once, as dependencies."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from app.api.deps import _count_failure, _refuse_if_locked_out
from app.api.state import get_state
from app.console import auth, charts
from app.console.analytics import MODES, LogFilter
from app.console.i18n import LANGS, texts
from app.console.service import Console
from app.errors import AskDeskError

HERE = Path(__file__).resolve().parent
PREFIX = "/admin"
UPLOAD_PATH = PREFIX + "/knowledge/files"  # app/api/main.py lets this path's body be an upload's size
CANDIDATE_GROUPS = 20  # queue groups that get their closest entries (one retrieval each)
templates = Jinja2Templates(directory=HERE / "templates")


class SignInRequired(Exception):
    pass


class CsrfRefused(Exception):
    pass


def session(request: Request) -> auth.ConsoleSession:
    sess = auth.read(get_state(request).settings, request.cookies.get(auth.COOKIE))
    if sess is None:
        raise SignInRequired()
    return sess


SessionDep = Annotated[auth.ConsoleSession, Depends(session)]


def checked(request: Request, sess: SessionDep, csrf: Annotated[str, Form()] = "") -> auth.ConsoleSession:
    """A changing request: signed in, and the form carries this session's CSRF token."""
    if not auth.csrf_ok(sess, csrf):
        raise CsrfRefused()
    return sess


CheckedDep = Annotated[auth.ConsoleSession, Depends(checked)]


def console(request: Request) -> Console:
    """One Console per app state, made on first use (its tables are created then)."""
    st = get_state(request)
    c = getattr(request.app.state, "console", None)
    if c is None or c.st is not st:
        c = request.app.state.console = Console(st)
    return c


ConsoleDep = Annotated[Console, Depends(console)]
router = APIRouter(prefix=PREFIX, include_in_schema=False)


def render(
    request: Request, name: str, sess: auth.ConsoleSession | None, code: int = 200, **ctx
) -> HTMLResponse:
    lang = (
        sess.lang
        if sess
        else (request.query_params.get("lang") if request.query_params.get("lang") in LANGS else "en")
    )
    t = texts(lang)
    return templates.TemplateResponse(request, name, {"t": t, "lang": lang, "sess": sess, "msg": request.query_params.get("msg"),
                                                      "err": request.query_params.get("err"), **ctx}, status_code=code)  # fmt: skip


def back(path: str, **params) -> RedirectResponse:
    q = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return RedirectResponse(path + ("?" + q if q else ""), status_code=303)


# --- sign-in --------------------------------------------------------------------------------------
@router.get("")
@router.get("/")
def home(_: SessionDep) -> RedirectResponse:
    return RedirectResponse(PREFIX + "/dashboard", status_code=303)


@router.get("/signin")
def signin_page(request: Request, next: str = "") -> HTMLResponse:
    s = get_state(request).settings
    return render(
        request, "signin.html", None, next=_local(next), demo=s.admin_key is None and not s.api_keys
    )


@router.post("/signin")
def signin(request: Request, key: Annotated[str, Form()] = "", name: Annotated[str, Form()] = "",
           lang: Annotated[str, Form()] = "en", next: Annotated[str, Form()] = "") -> Response:  # fmt: skip
    s = get_state(request).settings
    if key:
        _refuse_if_locked_out(request)  # the admin API's lockout: guessing here counts there too
    if not auth.key_matches(s, key):
        if key:
            _count_failure(request)
        return render(request, "signin.html", None, code=401, next=_local(next), failed=True,
                      demo=s.admin_key is None and not s.api_keys)  # fmt: skip
    cookie, sess = auth.issue(s, (name.strip() or "admin")[:64], lang if lang in LANGS else "en")
    console(request).audit(sess.who, "console.signin")
    r = RedirectResponse(_local(next) or PREFIX + "/dashboard", status_code=303)
    _set_cookie(r, s, cookie)
    return r


@router.post("/signout")
def signout(_: CheckedDep) -> RedirectResponse:
    r = back(PREFIX + "/signin", msg="signed_out")
    r.delete_cookie(auth.COOKIE, path=PREFIX)
    return r


@router.get("/lang/{code}")
def switch_lang(request: Request, code: str, sess: SessionDep, next: str = "") -> RedirectResponse:
    s = get_state(request).settings
    r = RedirectResponse(_local(next) or PREFIX + "/dashboard", status_code=303)
    if code in LANGS:  # the same session (who, CSRF token), another language
        cookie = auth.signer(s).dumps({"who": sess.who, "csrf": sess.csrf, "lang": code})
        _set_cookie(r, s, cookie)
    return r


def _set_cookie(r: Response, s, value: str) -> None:
    r.set_cookie(auth.COOKIE, value, max_age=s.console_session_max_age_s, path=PREFIX, httponly=True,
                 samesite="strict", secure=s.console_cookie_secure)  # fmt: skip


def _local(path: str) -> str:
    """A redirect target inside the console only (never another site)."""
    return path if path.startswith(PREFIX + "/") and not path.startswith("//") and "\\" not in path else ""


# --- dashboard ------------------------------------------------------------------------------------
@router.get("/dashboard")
def dashboard(request: Request, sess: SessionDep, c: ConsoleDep,
              days: Annotated[int | None, Query(ge=1, le=366)] = None) -> HTMLResponse:  # fmt: skip
    days = days or c.s.console_days
    d = c.analytics.dashboard(days)
    t = texts(sess.lang)
    labels = [r["day"] for r in d.days]
    per_day = charts.stacked_bars(labels, {m: [r[m] for r in d.days] for m in MODES}, t["per_day"])
    latency = charts.lines(labels, {"p50": [r["p50"] for r in d.days], "p95": [r["p95"] for r in d.days]},
                           t["latency_over_time"], unit="")  # fmt: skip
    mix = charts.share_bar(d.totals["modes"], t["mode_mix"]) if d.totals["questions"] else None
    lat = [r["p50"] for r in d.days if r["p50"] is not None]
    lat95 = [r["p95"] for r in d.days if r["p95"] is not None]
    return render(request, "dashboard.html", sess, d=d, days=days, per_day=per_day, latency=latency, mix=mix,
                  modes=MODES, colors=charts.COLORS, open_tickets=c.analytics.ticket_counts().get("open", 0),
                  last_p50=lat[-1] if lat else None, last_p95=lat95[-1] if lat95 else None)  # fmt: skip


# --- conversations --------------------------------------------------------------------------------
@router.get("/conversations")
def conversations(request: Request, sess: SessionDep, c: ConsoleDep, q: str = "", mode: str = "", lang: str = "",
                  feedback: str = "", band: str = "", start: str = "", end: str = "",
                  page: Annotated[int, Query(ge=0, le=100000)] = 0) -> HTMLResponse:  # fmt: skip
    # the form sends empty dates as "": no bound (a typed date parameter would refuse the page)
    f = LogFilter(start=_day(start), end=_day(end), mode=mode if mode in MODES else "", lang=lang, text=q.strip()[:200],
                  feedback=feedback if feedback in ("up", "down", "any", "none") else "",
                  band=band if band in ("low", "mid", "high") else "",
                  low=c.no_answer_point(), high=c.s.faq_direct_threshold)  # fmt: skip
    rows, more = c.analytics.log(f, page, c.s.console_page_size)
    params = {k: v for k, v in request.query_params.items() if k != "page"}
    return render(request, "conversations.html", sess, rows=rows, more=more, page=page, f=f, modes=MODES,
                  params=params, qs=lambda p: urlencode({**params, "page": p}))  # fmt: skip


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.get("/conversations/{exchange_id}")
def exchange(request: Request, exchange_id: str, sess: SessionDep, c: ConsoleDep) -> HTMLResponse:
    row = c.analytics.exchange(exchange_id)
    if row is None:
        return render(request, "notfound.html", sess, code=404, what=exchange_id)
    return render(request, "exchange.html", sess, r=row)


# --- tickets --------------------------------------------------------------------------------------
@router.get("/tickets")
def tickets(request: Request, sess: SessionDep, c: ConsoleDep, status: str = "open") -> HTMLResponse:
    status = status if status in ("open", "resolved", "all") else "open"
    rows = c.analytics.tickets(None if status == "all" else status)
    return render(request, "tickets.html", sess, rows=rows, status=status, counts=c.analytics.ticket_counts())


@router.get("/tickets/{reference}")
def ticket(request: Request, reference: str, sess: SessionDep, c: ConsoleDep) -> HTMLResponse:
    tk = c.analytics.ticket(reference)
    if tk is None:
        return render(request, "notfound.html", sess, code=404, what=reference)
    return render(request, "ticket.html", sess, tk=tk, webhook_set=bool(c.s.handoff_webhook_url))


@router.post("/tickets/{reference}")
def update_ticket(reference: str, sess: CheckedDep, c: ConsoleDep, status: Annotated[str, Form()] = "open",
                  note: Annotated[str, Form()] = "") -> Response:  # fmt: skip
    if status not in ("open", "resolved") or not c.update_ticket(
        reference, status, note.strip()[:4000], sess.who
    ):
        return back(f"{PREFIX}/tickets/{quote(reference)}", err="not saved")
    return back(f"{PREFIX}/tickets/{quote(reference)}", msg="saved_ticket")


# --- hit-testing ----------------------------------------------------------------------------------
@router.get("/hit-test")
def hit_test(request: Request, sess: SessionDep, c: ConsoleDep, q: str = "", lang: str = "") -> HTMLResponse:
    lang = lang if lang in ("en", "zh-Hans", "zh-Hant") else ""
    result, error = None, None
    if q.strip():
        try:
            result = c.hit_test(q[:2000], lang)
        except AskDeskError as e:
            error = str(e)
    return render(request, "hittest.html", sess, q=q, qlang=lang, r=result, error=error)


# --- curation queue -------------------------------------------------------------------------------
@router.get("/queue")
def queue(request: Request, sess: SessionDep, c: ConsoleDep,
          days: Annotated[int | None, Query(ge=1, le=366)] = None) -> HTMLResponse:  # fmt: skip
    days = days or c.s.console_days
    groups = c.queue(days)
    shown = groups[: c.s.console_page_size]  # the most asked first; acting on them brings up the next
    # the closest entries, the likely "add as related" targets: one retrieval per group, so only for
    # the first groups (the others take an entry id)
    for g in shown[:CANDIDATE_GROUPS]:
        g["candidates"] = c.candidates(g["representative"]["question"])
    return render(request, "queue.html", sess, groups=shown, more=len(groups) - len(shown), days=days)


def _items(item: list[str]) -> list[tuple[str, str]]:
    """The ticked questions of a queue group: (normalised form, as asked) pairs."""
    out = []
    for it in item:
        norm, _, question = it.partition("\t")
        if norm.strip() and question.strip():
            out.append((norm, question.strip()))
    return out


ItemsForm = Annotated[list[str], Form()]


@router.post("/queue/related")
def queue_related(sess: CheckedDep, c: ConsoleDep, key: Annotated[str, Form()] = "",
                  other_key: Annotated[str, Form()] = "", item: ItemsForm = ()) -> Response:  # fmt: skip
    try:
        c.add_related(_items(list(item)), (other_key or key).strip(), sess.who)
    except AskDeskError as e:
        return back(PREFIX + "/queue", err=str(e))
    return back(PREFIX + "/queue", msg="saved")


@router.post("/queue/create")
def queue_create(sess: CheckedDep, c: ConsoleDep, question: Annotated[str, Form()], item: ItemsForm = (),
                 answer: Annotated[str, Form()] = "", category: Annotated[str, Form()] = "",
                 lang: Annotated[str, Form()] = "", related: Annotated[str, Form()] = "") -> Response:  # fmt: skip
    try:
        c.create_from_queue(_items(list(item)), {"question": question, "answer": answer, "category": category,
                                                 "lang": lang, "related": related.splitlines()}, sess.who)  # fmt: skip
    except AskDeskError as e:
        return back(PREFIX + "/queue", err=str(e))
    return back(PREFIX + "/queue", msg="saved")


@router.post("/queue/out-of-scope")
def queue_out_of_scope(sess: CheckedDep, c: ConsoleDep, item: ItemsForm = ()) -> Response:
    c.out_of_scope(_items(list(item)), sess.who)
    return back(PREFIX + "/queue", msg="saved")


# --- knowledge ------------------------------------------------------------------------------------
@router.get("/knowledge")
def knowledge(request: Request, sess: SessionDep, c: ConsoleDep, q: str = "", kind: str = "") -> HTMLResponse:
    kind = kind if kind in ("faq", "doc") else ""
    rows, total = c.entries(q, kind, limit=c.s.console_page_size)
    return render(request, "knowledge.html", sess, rows=rows, total=total, q=q, kind=kind,
                  curated=c.knowledge.entries(), sources=c.sources(), managed=c.knowledge.source)  # fmt: skip


@router.get("/knowledge/entry")
def entry_form(
    request: Request, sess: SessionDep, c: ConsoleDep, key: str = "", question: str = ""
) -> HTMLResponse:
    """The edit form: a curated entry, a file's entry (saving makes a console copy) or a new one."""
    e = c.knowledge.get(key) if key else None
    from_file = None
    if key and e is None:
        from_file = c.entry(key)
        if from_file is None or from_file["kind"] != "faq":
            return render(request, "notfound.html", sess, code=404, what=key)
        e = {**from_file, "overrides": from_file["source"]}
    e = e or {
        "key": "",
        "question": question,
        "related": [],
        "answer": "",
        "category": "",
        "lang": "",
        "overrides": None,
    }
    return render(
        request,
        "entry.html",
        sess,
        e=e,
        from_file=from_file,
        versions=c.knowledge.versions(key) if key else [],
    )


@router.post("/knowledge/entry")
def save_entry(sess: CheckedDep, c: ConsoleDep, question: Annotated[str, Form()], answer: Annotated[str, Form()],
               key: Annotated[str, Form()] = "", related: Annotated[str, Form()] = "",
               category: Annotated[str, Form()] = "", lang: Annotated[str, Form()] = "",
               overrides: Annotated[str, Form()] = "") -> Response:  # fmt: skip
    data = {"key": key, "question": question, "answer": answer, "related": related.splitlines(),
            "category": category, "lang": lang, "overrides": overrides or None}  # fmt: skip
    try:
        key = c.save_entry(data, sess.who)
    except AskDeskError as e:
        return back(PREFIX + "/knowledge/entry", key=key, err=str(e))
    return back(PREFIX + "/knowledge/entry", key=key, msg="saved")


@router.post("/knowledge/delete")
def delete_entry(sess: CheckedDep, c: ConsoleDep, key: Annotated[str, Form()]) -> Response:
    try:
        c.delete_entry(key, sess.who)
    except AskDeskError as e:
        return back(PREFIX + "/knowledge", err=str(e))
    return back(PREFIX + "/knowledge", msg="deleted")


@router.get("/knowledge/history")
def history(request: Request, sess: SessionDep, c: ConsoleDep, key: str = "") -> HTMLResponse:
    return render(
        request, "history.html", sess, versions=c.knowledge.versions(key or None, limit=200), key=key
    )


@router.post("/knowledge/rollback")
def rollback(sess: CheckedDep, c: ConsoleDep, version: Annotated[int, Form()]) -> Response:
    try:
        key = c.rollback(version, sess.who)
    except AskDeskError as e:
        return back(PREFIX + "/knowledge/history", err=str(e))
    return back(PREFIX + "/knowledge/history", key=key, msg="saved")


@router.get("/knowledge/export.csv")
def export_csv(_: SessionDep, c: ConsoleDep) -> PlainTextResponse:
    return PlainTextResponse(c.knowledge.export_csv(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{c.knowledge.file_name}"'})  # fmt: skip


@router.post("/knowledge/files")
def upload(sess: CheckedDep, c: ConsoleDep, file: Annotated[UploadFile, File()]) -> Response:
    data = file.file.read(c.st.uploads.max_bytes + 1)  # one byte over says "too large" without reading it all
    try:
        result = c.upload(file.filename or "", data, sess.who)
    except AskDeskError as e:
        return back(PREFIX + "/knowledge", err=str(e))
    return back(PREFIX + "/knowledge", msg=f"{result.source}: {result.summary}")


@router.post("/knowledge/files/delete")
def delete_file(sess: CheckedDep, c: ConsoleDep, source: Annotated[str, Form()]) -> Response:
    try:
        n = c.delete_file(source, sess.who)
    except AskDeskError as e:
        return back(PREFIX + "/knowledge", err=str(e))
    return back(PREFIX + "/knowledge", msg=f"{source}: -{n}")


def install(app: FastAPI) -> None:
    """Mount the console on the service: its pages, its stylesheet, and its two refusals as pages."""
    app.include_router(router)
    app.mount(PREFIX + "/static", StaticFiles(directory=HERE / "static"), name="console-static")

    @app.exception_handler(SignInRequired)
    async def _signin(request: Request, _: SignInRequired) -> Response:
        target = request.url.path + (("?" + request.url.query) if request.url.query else "")
        if request.method != "GET":
            return PlainTextResponse("sign in first", status_code=401)
        return RedirectResponse(f"{PREFIX}/signin?{urlencode({'next': target})}", status_code=303)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, _: CsrfRefused) -> Response:
        return render(request, "refused.html", auth.read(get_state(request).settings, request.cookies.get(auth.COOKIE)),
                      code=403)  # fmt: skip
