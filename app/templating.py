"""The Jinja2 environment every page, fragment and report is rendered with.

Rendering itself (a page, or one block of it for htmx) is `app.web.render`.
"""

from typing import Any

from jinja2_fragments.fastapi import Jinja2Blocks

from app import vocabulary
from app.config import Settings
from app.i18n import format_date, format_integer, format_number, format_pct, install_in_jinja
from app.i18n_web import return_url


def make_templates(settings: Settings, extra_globals: dict[str, Any] | None = None) -> Jinja2Blocks:
    """The template environment, with the filters and globals every page uses (and
    `extra_globals`, functions of the features that the shared macros call)."""
    templates = Jinja2Blocks(directory=str(settings.templates_dir))
    env = templates.env
    install_in_jinja(env)
    env.globals.update(extra_globals or {})
    env.globals["level_labels"] = vocabulary.LEVEL_LABELS
    env.globals["vocab"] = vocabulary
    env.globals["client_config"] = vocabulary.client_config
    env.filters["level_label"] = lambda value: vocabulary.level_label(value, "—")
    # Numbers, percentages and dates in the language of the page (Babel, CLDR).
    env.filters["num"] = format_number
    env.filters["pct"] = format_pct
    env.filters["integer"] = format_integer
    env.filters["date"] = format_date
    # jinja2-fragments renders a lone block without the page's top-level imports, so the
    # macros are a global rather than imported per template.
    env.globals["ui"] = env.get_template("macros/ui.html").module
    env.globals["live"] = env.get_template("live/_live.html").module
    env.globals["i18n_ui"] = env.get_template("macros/i18n.html").module
    env.globals["language_return_url"] = return_url
    return templates
