"""Interface languages: Flask-Babel set-up and the locale choice (the switch itself: blueprints/language).

The locale comes from the `lang` cookie (set by the switch on every page), else from the
browser's Accept-Language, else English. Pages vary on both headers, so a shared cache never
serves one visitor's language to another. Images carry no text that depends on the locale.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, g, has_request_context, request
from flask_babel import Babel, get_locale, get_translations

from .formatting import FILTERS

LANGUAGES = {"en": "English", "ko": "한국어"}
DEFAULT_LANGUAGE = "en"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"

babel = Babel()


def select_locale() -> str:
    """The `lang` cookie if it names a language we have, else the browser's best match, else English.

    Outside a request (the command line, background threads) messages are English.
    """
    if not has_request_context():
        return DEFAULT_LANGUAGE
    chosen = request.cookies.get(COOKIE, "")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES, default=DEFAULT_LANGUAGE)


def current_language() -> str:
    return str(get_locale() or DEFAULT_LANGUAGE)


def language_links() -> list[tuple[str, str, bool]]:
    """(code, name, current) for the switch in the page header."""
    current = current_language()
    return [(code, name, code == current) for code, name in LANGUAGES.items()]


def here() -> str:
    """This page's path and query: where the language switch comes back to."""
    return request.full_path.rstrip("?") if request.query_string else request.path


def vary_on_language(response: Response) -> Response:
    """HTML and JSON answers depend on the language: say so to caches (images and static files do not)."""
    if response.mimetype in ("text/html", "application/json"):
        response.vary.add("Accept-Language")
        response.vary.add("Cookie")
    return response


def _translations():  # noqa: ANN202 - gettext.NullTranslations or babel.support.Translations
    """This request's catalogue, looked up once: Flask-Babel's own lookup costs ~20 µs a message."""
    translations = g.get("_translations")
    if translations is None:
        translations = g._translations = get_translations()
    return translations


def template_gettext(message: str) -> str:
    return _translations().gettext(message)


def template_ngettext(singular: str, plural: str, n: int) -> str:
    return _translations().ngettext(singular, plural, n)


def init_i18n(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "UTC")
    babel.init_app(app, locale_selector=select_locale, default_translation_directories=str(TRANSLATIONS))
    app.after_request(vary_on_language)
    app.jinja_env.policies["ext.i18n.trimmed"] = True  # as babel.cfg extracts {% trans %} blocks
    # Jinja's new-style gettext escapes and fills `%(name)s` itself; it only needs the lookup.
    app.jinja_env.install_gettext_callables(template_gettext, template_ngettext, newstyle=True)
    app.jinja_env.filters.update(FILTERS)
    app.jinja_env.globals.update(current_language=current_language, language_links=language_links, here=here)
