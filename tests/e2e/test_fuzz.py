"""Random and malformed params to every method: always an answer, never a crash.

One server per editor takes all examples, so the property covers what
matters: each request is answered (a result or a deliberate error, never an
internal error) within the client timeout, and the server still serves after
the lot.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from pygls.exceptions import JsonRpcException

from scripts.gen_protocol import methods
from tests.e2e.conftest import Client, Connect

METHODS = {decl.name: decl for decl in methods()}

# Deliberate answers: invalid params / unknown ids, refusals, not initialized.
EXPECTED_CODES = {-32602, -32001, -32002}
# Creating branches and worktrees per example would make the run slow, not stronger.
SKIPPED_FIELDS = {"isolate", "worktree"}

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3)
    ),
    max_leaves=8,
)


def _fields(method: str) -> list[str]:
    model = METHODS[method].params
    return [f.alias or n for n, f in model.model_fields.items() if n not in SKIPPED_FIELDS]


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, Any]:
    """A method and params that are mostly shaped like its params, often wrong."""
    method = draw(st.sampled_from(sorted(METHODS)))
    names = [*_fields(method), "bogus"]
    params = draw(
        st.one_of(
            JSON,
            st.dictionaries(st.sampled_from(names), JSON, max_size=5),
            st.fixed_dictionaries(
                {},
                optional={
                    name: st.one_of(JSON, st.sampled_from(["", "x" * 300, "0" * 26, -1, True]))
                    for name in names
                },
            ),
        )
    )
    return method, params


@pytest.fixture
async def fuzz_client(connect: Connect) -> Client:
    """One server for all examples of a test."""
    return await connect()


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(request=requests())
async def test_every_method_answers_random_params(
    fuzz_client: Client, request: tuple[str, Any]
) -> None:
    method, params = request
    started = time.monotonic()
    try:
        result = await fuzz_client.request(method, params)
    except JsonRpcException as error:
        assert error.code in EXPECTED_CODES, f"{method} {params!r}: {error.code} {error.message}"
        assert error.message
    else:
        assert isinstance(result, dict)
    assert time.monotonic() - started < 10
    status = await fuzz_client.request("sidecar/status", {})
    assert status["version"]
