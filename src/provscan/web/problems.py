"""One line for a request that does not fit its route's schema: the API's one error shape
(``{"detail": "<one line>"}``) for FastAPI's validation errors, shared by the application's
handler and the routes that validate a body themselves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute

from provscan.web.auth import UNREADABLE_JSON, takes_form


def one_line(request: Request, errors: Sequence[Any]) -> tuple[int, str]:
    """The status and one-line ``detail`` of a request that does not fit the route's
    schema: 400 for a JSON body that cannot be read (:data:`UNREADABLE_JSON`) or a field the
    route does not take (named, with the ones it takes), else 422 naming each parameter or
    field at fault (at most three) and what is wrong with it. Never echoes a value back."""
    if any(error.get("type") == "json_invalid" for error in errors):
        return 400, UNREADABLE_JSON
    route = request.scope.get("route")
    form = isinstance(route, APIRoute) and takes_form(route)
    body = "form field" if form else "JSON field"
    unknown = [error for error in errors if error.get("type") == "extra_forbidden"]
    if unknown:
        names = ", ".join(repr(_where(error["loc"][1:])[:40]) for error in unknown[:5])
        takes = _body_fields(route)
        listed = f": it takes {', '.join(takes)}" if takes else ""
        plural = "s" if len(unknown) > 1 else ""
        return 400, f"unknown {body}{plural} {names}{listed}"
    said: list[str] = []
    for error in errors[:3]:
        loc = tuple(error.get("loc", ()))
        place, path = (loc[0], loc[1:]) if loc else ("body", ())
        if place == "body":
            what = f"{body} {_where(path)!r}" if path else "the body"
        else:
            kind = {"query": "query parameter", "path": "path parameter"}.get(str(place), place)
            what = f"{kind} {_where(path)!r}"
        message = " ".join(str(error.get("msg", "is not valid")).split())[:200]
        if error.get("type") == "missing":
            message = "required" if path else "required (none was sent)"
        elif not path and error.get("type") in _NOT_AN_OBJECT:
            message = "must be a JSON object" if not form else message
        said.append(f"{what}: {message[:1].lower()}{message[1:]}")
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return 422, "; ".join(said) + more


#: Pydantic's words for a body that is not an object (a list, a number, a text).
_NOT_AN_OBJECT = ("model_attributes_type", "model_type", "dict_type")


def _where(path: Sequence[Any]) -> str:
    """``("targets", 0)`` -> ``targets[0]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f"{'.' if text else ''}{part}"
    return text


def _body_fields(route: Any) -> list[str]:
    """The fields of ``route``'s body, for a message naming what it takes."""
    if not isinstance(route, APIRoute) or route.body_field is None:
        return []
    if takes_form(route):
        return [param.alias for param in route.dependant.body_params]
    model = route.body_field.field_info.annotation
    fields = getattr(model, "model_fields", None)
    return [field.alias or name for name, field in fields.items()] if fields else []
