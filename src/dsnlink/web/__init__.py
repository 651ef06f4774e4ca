"""The Centre de maintenance: server-rendered pages in French and a JSON API (``dsnlink serve``).

:func:`dsnlink.web.app.create_app` builds the FastAPI application over an opened installation;
every area is a module of :mod:`dsnlink.web.routes` exposing a page router and an API router.
"""
