"""Jinja2 templates that can render a single block for htmx requests."""

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2_fragments.fastapi import Jinja2Blocks

from app import vocabulary
from app.config import Settings


def make_templates(settings: Settings) -> Jinja2Blocks:
    """The template environment, with the filters every page uses."""
    templates = Jinja2Blocks(directory=str(settings.templates_dir))
    env = templates.env
    env.globals["level_labels"] = vocabulary.LEVEL_LABELS
    env.globals["vocab"] = vocabulary
    env.globals["client_config"] = vocabulary.client_config
    env.filters["level_label"] = lambda value: vocabulary.level_label(value, "—")
    env.filters["num"] = _format_number
    env.filters["pct"] = lambda value: "—" if value is None else f"{round(value * 100)} %"
    # jinja2-fragments renders a lone block without the page's top-level imports, so the
    # macros are a global rather than imported per template.
    env.globals["ui"] = env.get_template("macros/ui.html").module
    env.globals["timer_view"] = _timer_view
    env.globals["live"] = env.get_template("live/_live.html").module
    return templates


def _timer_view(session: Any) -> dict[str, Any]:
    # Imported on use: app.live.fragments imports the page modules, which import this one.
    from app.live.fragments import timer_view

    return timer_view(session)


def _format_number(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}f}"


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
) -> HTMLResponse:
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
