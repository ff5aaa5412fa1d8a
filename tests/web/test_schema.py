"""schemathesis against the app's own OpenAPI document: every GET route, with generated
parameters, as an admin (who may call them all), answers without a 500 and as documented."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import positive_data_acceptance
from webtools import fill

from provscan.store.db import normalise_db_arg, open_store
from provscan.web.app import create_app

#: Examples per route: enough to reach each parameter's edges, small enough for the suite.
EXAMPLES = 25


@pytest.fixture(scope="module")
def admin_headers_and_schema(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[dict[str, str], schemathesis.Schema]]:
    url = normalise_db_arg(str(Path(tmp_path_factory.mktemp("schema")) / "web.db"))
    fill(url)
    with open_store(url) as store:
        token = store.accounts().issue_token("admin", actor="test", address="cli")
    app = create_app(url)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    # spelt as the security scheme names it: schemathesis's ignored_auth check removes the
    # header by that name to see the 401 (the operations declare their security schemes)
    yield {"Authorization": f"Bearer {token}"}, schema
    app.state.store.close()


def test_get_routes_follow_their_schema(
    admin_headers_and_schema: tuple[dict[str, str], schemathesis.Schema],
) -> None:
    headers, schema = admin_headers_and_schema
    # GET only: the writes change the store under the other examples (and are covered by
    # the API tests); /reports renders a whole report per example.
    operations = [
        result.ok()
        for result in schema.include(method="GET")
        .exclude(path_regex="/reports/")
        .get_all_operations()
    ]
    assert len(operations) >= 12
    for operation in operations:
        _property(operation, headers)()


def _property(operation: Any, headers: dict[str, str]) -> Callable[[], None]:
    """A hypothesis test of one operation: generated requests, each response validated."""

    @given(data=st.data())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def check(data: st.DataObject) -> None:
        case = data.draw(operation.as_strategy())
        # Opaque values (cursors, scan and device ids) cannot be generated valid, so a 400 or
        # 404 for a well-formed one is right; everything else is checked (no 500s, status
        # codes, content types, headers and bodies as documented).
        case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

    result: Callable[[], None] = check
    return result
