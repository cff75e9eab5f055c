"""Schema fuzzing: schemathesis generates requests from the live /openapi.json (valid and
invalid bodies, odd strings, huge numbers) for every operation, and the server must never
answer 5xx. The count is bounded (FUZZ_EXAMPLES env: examples per operation and mode,
default 12) so CI stays quick; runs are derandomised, so a failure reproduces.

The operations are driven through schemathesis' strategies with hypothesis directly
(its pytest plugin does not load under this pytest); the requests go over real HTTP."""

from __future__ import annotations

import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from .conftest import ServerProcess

pytestmark = [pytest.mark.integration, pytest.mark.slow]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))


def test_no_server_error_on_any_operation(server: ServerProcess) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 10
    seen: Counter[int] = Counter()
    failures: list[str] = []
    for op in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=op.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case: schemathesis.Case) -> None:
                response = case.call(base_url=server.url, timeout=60)
                seen[response.status_code] += 1
                if response.status_code >= 500 or "Traceback" in response.text:
                    failures.append(
                        f"{case.method} {case.formatted_path} {case.query} {str(case.body)[:200]}"
                        f" -> {response.status_code}: {response.text[:300]}"
                    )

            try:
                run()
            except Unsatisfiable:  # nothing invalid to send (an operation without inputs)
                assert mode == GenerationMode.NEGATIVE
    total = sum(seen.values())
    print(f"\nschemathesis: {total} requests over {len(operations)} operations; statuses {dict(seen)}")
    assert not failures, "\n".join(failures[:10])
