"""HTML pieces repeated on every row of a list, built in Python.

A Jinja macro call costs a new context and a rendered sub-template: on a page of 50 rows with
two of them per row, more than everything else the row shows. These functions return the same
markup (every value escaped) for a fraction of it.
Registered as template globals by :func:`dsnlink.web.app.create_app`.
"""

from __future__ import annotations

from markupsafe import Markup, escape

_NOTHING = Markup("—")
_ANSWERS = {
    "AEE": Markup(
        '<span class="badge ok" title="Accusé d\'enregistrement électronique : dépôt accepté">'
        "AEE ✓</span>"
    ),
    "ARE": Markup(
        '<span class="badge ko" title="Avis de rejet électronique : dépôt refusé">ARE ✗</span>'
    ),
}
_WAITING = Markup('<span class="badge attente">en attente</span>')
_TIME = Markup('<time datetime="%s">%s/%s/%s %s</time>')


def when(value: str | None) -> Markup:
    """An ISO 8601 instant as ``JJ/MM/AAAA HH:MM`` in a ``<time>`` element; a dash if none."""
    if not value:
        return _NOTHING
    v = escape(str(value))  # escaped once; the slices below are of the escaped text
    if len(v) != len(str(value)):  # something to escape: not one of our ISO instants
        return _TIME % (value, "", "", "", "")
    return Markup(  # noqa: S704 - built only from the escaped value
        f'<time datetime="{v}">{v[8:10]}/{v[5:7]}/{v[0:4]} {v[11:16]}</time>'
    )


def answer(kind: str | None) -> Markup:
    """The badge of a deposit's own answer: AEE (accepted), ARE (refused) or still waiting."""
    return _ANSWERS.get(kind or "", _WAITING)
