"""Sites and their sensors in the API (issue 17): who is silent and since when, what waits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi import Path as PathParam

from provscan.errors import StoreRequestError
from provscan.store.db import spelt_otherwise
from provscan.web.auth import ROLE_KEY, known_query, require, store_message, store_of
from provscan.web.responses import Problem

PREFIX = "/api/v1"
#: A sensor whose newest heartbeat is older than this is shown as silent.
SILENT_AFTER = timedelta(seconds=90)

#: Operation ids are the routes' names, as the rest of the API's.
router = APIRouter(prefix=PREFIX, generate_unique_id_function=lambda route: route.name)

#: The error answers of these routes (every one a viewer's read: no 403), in the API's one
#: shape (:class:`Problem`).
_PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": text}
    for status, text in (
        (400, "a query parameter the route does not take"),
        (401, "no or unknown credentials"),
        (404, "no such site or scan job"),
    )
}


def _route(
    method: str, path: str, role: str, summary: str, name: str | None = None
) -> Callable[[Any], Any]:
    return router.api_route(
        path,
        methods=[method],
        summary=summary,
        name=name,
        dependencies=[Depends(require(role)), Depends(known_query)],
        openapi_extra={ROLE_KEY: role},
        responses=_PROBLEMS,
    )


def _with_silence(sensor: dict[str, Any], now: datetime) -> dict[str, Any]:
    last = datetime.fromisoformat(sensor["last_heartbeat"])
    silent = now - last > SILENT_AFTER
    return {
        **sensor,
        "silent": silent,
        "silent_since": sensor["last_heartbeat"] if silent else None,
    }


@_route("GET", "/sites", "viewer", "Sites and their sensors", name="list_sites")
def sites_api(request: Request) -> dict[str, Any]:
    """Each site: its sensors (last heartbeat, version, knowledge version, queue depth,
    silent since), how many of its scans are queued or running, its schedules, and whether
    stored scans or inventory devices name it (``scanned``: a scan run with a site makes a
    site as a sensor or a schedule does). ``sensors_state``: ``answering`` (a sensor
    answers), ``silent`` (every sensor is silent), ``refusing`` (a sensor of the site sends
    messages signed with a key the central's key file for the site does not hold: it cannot
    verify the scans sent to it either, which fail; ``refusing`` says since when, which
    sensors and what to fix) or ``none`` (the site never had a sensor); ``silent`` is true
    or false for a site with sensors, null for one without."""
    found = list_sites(request)
    for site in found["sites"]:
        if site["refusing"] is not None:
            site["sensors_state"] = "refusing"
        elif not site["sensors"]:
            site["silent"] = None  # no sensor to be silent
            site["sensors_state"] = "none"
        else:
            site["sensors_state"] = "silent" if site["silent"] else "answering"
    return found


def list_sites(request: Request) -> dict[str, Any]:
    """The sites as :func:`sites_api` gives them, but ``silent`` true for a site without a
    sensor too (as the console shows it: nothing answers for it)."""
    now = datetime.now(UTC)
    store = store_of(request)
    sites = store.fleet().sites()
    scanned = set(store.sites())
    refusing = _refusing(request)
    for site in sites:
        trouble = refusing.get(site["name"])
        site["sensors"] = [
            {
                **_with_silence(sensor, now),
                "refusing": "key mismatch"
                if trouble is not None and sensor["name"] in trouble["sensors"]
                else None,
            }
            for sensor in site["sensors"]
        ]
        site["silent"] = not site["sensors"] or all(s["silent"] for s in site["sensors"])
        site["scanned"] = site["name"] in scanned
        site["refusing"] = trouble
    fleet = {site["name"] for site in sites}
    sites += [
        {
            "name": name,
            "sensors": [],
            "jobs": {"queued": 0, "running": 0},
            "schedules": [],
            "silent": True,
            "scanned": True,
            "refusing": refusing.get(name),
        }
        for name in scanned - fleet
    ]
    return {"sites": sorted(sites, key=lambda site: site["name"])}


def _refusing(request: Request) -> dict[str, dict[str, Any]]:
    """The sites whose sensors sign with a key the central does not hold, as the central
    (``serve --broker``) saw in the last SILENT_AFTER (none without a central)."""
    mismatches = getattr(getattr(request.app.state, "central", None), "key_mismatches", None)
    if mismatches is None:
        return {}
    found: dict[str, dict[str, Any]] = mismatches(SILENT_AFTER)
    return found


def unknown_site(request: Request, name: str) -> str | None:
    """Why ``name`` is no site, or None for a known one: a stored scan or device names it
    (the store's rule for ``site=`` on ``/devices`` and ``/cases``, whose words list those),
    or a sensor, a schedule or a scan sent to a site made it (listed after them)."""
    store = store_of(request)
    try:
        store.require_site(name)
    except StoreRequestError as exc:
        fleet = sorted({site["name"] for site in store.fleet().sites()} - set(store.sites()))
        if name in fleet:
            return None
        detail = store_message(exc, request)
        if fleet:
            detail += "; sites with a sensor or a schedule but no stored scan: " + ", ".join(fleet)
        same = spelt_otherwise(name, fleet)
        return detail + (f" (did you mean {same!r}?)" if same else "")
    return None


def require_site(request: Request, name: str | None) -> None:
    """404 for a site nothing names (:func:`unknown_site`): a mistyped site must not read as
    a quiet one."""
    detail = None if name is None else unknown_site(request, name)
    if detail is not None:
        raise HTTPException(404, detail)


@_route("GET", "/sensors", "viewer", "Sensors")
def list_sensors(
    request: Request, site: Annotated[str | None, Query(max_length=64)] = None
) -> dict[str, Any]:
    """The sensors (of one ``site``: 404 for a site nothing names, the known ones listed)."""
    require_site(request, site)
    now = datetime.now(UTC)
    return {"sensors": [_with_silence(s, now) for s in store_of(request).fleet().sensors(site)]}


@_route("GET", "/sites/{name}/jobs", "viewer", "Scans sent to a site")
def site_jobs(
    request: Request,
    name: Annotated[str, PathParam(min_length=1, max_length=64)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """The scans sent to a site, newest first (404 for a site nothing names, the known ones
    listed)."""
    require_site(request, name)
    jobs = store_of(request).fleet().jobs(site=name, limit=limit)
    return {"jobs": [job.to_json() for job in jobs]}


def site_job(request: Request, job_id: str) -> dict[str, Any]:
    """A scan sent to a site (``queued|running|done|failed|refused`` with counts), or 404."""
    job = store_of(request).fleet().job(job_id)
    if job is None:
        raise HTTPException(404, f"no scan job {job_id!r}")
    return job.to_json()
