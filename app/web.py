"""What every HTML route shares: reading forms, rendering a page (or one block of it for
htmx), and answering a form that worked.

Refusals are not answered here: routes let `AppError`s through to the one handler in
`app.errors` (see `on_refusal` there for showing a refused form again).
"""

import json
import math
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from jinja2_fragments.fastapi import Jinja2Blocks
from starlette.datastructures import FormData

from app.errors import toast_headers
from app.models_base import DB_INT_MAX


async def read_form(request: Request) -> FormData:
    """The submitted form; read in a dependency so the routes themselves stay synchronous."""
    return await request.form()


FormDep = Annotated[FormData, Depends(read_form)]


def form_text(form: FormData, name: str, default: str = "") -> str:
    """A text field of the form (files and missing fields give `default`)."""
    value = form.get(name)
    return value if isinstance(value, str) else default


def form_flag(form: FormData, name: str) -> bool:
    """A checkbox: ticked when sent with any value other than an explicit off."""
    return form_text(form, name, "").lower() not in ("", "0", "false", "off", "no")


def parse_int(value: str | None) -> int | None:
    """An integer a database column can hold, from a query or form value; None when it is
    not one."""
    try:
        number = int(value) if value is not None and value.strip() else None
    except ValueError:
        return None
    return number if number is not None and abs(number) <= DB_INT_MAX else None


def parse_float(value: str | None) -> float | None:
    """A finite number from a query or form value, or None when it is not one."""
    try:
        number = float(value) if value is not None and value.strip() else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


def is_htmx(request: Request) -> bool:
    """An htmx request that wants a fragment (history restores want the whole page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
        and request.headers.get("HX-Boosted") != "true"
    )


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    block: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """Render a page, or just `block` of it when htmx asks; varies on HX-Request."""
    templates: Jinja2Blocks = request.app.state.templates
    block_name = block if block and is_htmx(request) else None
    response = templates.TemplateResponse(
        request, template, context, status_code=status_code, block_name=block_name
    )
    response.headers["Vary"] = "HX-Request"
    if headers:
        response.headers.update(headers)
    return response


def see_other(request: Request, url: str, headers: dict[str, str] | None = None) -> Response:
    """After a successful POST: 303 for plain forms, `HX-Redirect` for htmx (which would
    otherwise follow the redirect itself and swap the next page into the form)."""
    if is_htmx(request):
        response: Response = Response(status_code=200, headers={"HX-Redirect": url})
    else:
        response = RedirectResponse(url, status_code=303)
    if headers:
        response.headers.update(headers)
    return response


def toast(message: str, level: str = "success") -> dict[str, str]:
    """Headers that make app.js show a toast (announced by the polite #toasts region)."""
    return toast_headers(message, level)


def board_status(message: str, *, clear: bool = False) -> dict[str, str]:
    """Headers that make board.js announce a change on the clustering board."""
    detail: dict[str, Any] = {"message": message}
    if clear:
        detail["clear"] = True
    return {"HX-Trigger": json.dumps({"boardStatus": detail})}


def no_store(response: Response) -> Response:
    """Pages carrying secrets or per-person state must not be cached."""
    response.headers["Cache-Control"] = "no-store"
    return response
