"""How ``lod serve --endpoint`` passes on the external store's errors: the client's mistakes as
4xx with the store's message, the store's failures as 502/504; never a 5xx for a client error."""

from __future__ import annotations

import pytest

from lod.serving.sparql import remote_error


@pytest.mark.parametrize("status, detail, ours", [
    (400, "Parser error: expected ...", 400),
    (404, "no such dataset", 400),
    (413, "too large", 413),
    (429, "slow down", 429),
    (408, "", 504),
    (504, "gateway timeout", 504),
    (500, "The custom function <http://example.org/f> is not supported", 400),  # Oxigraph's word for it
    (500, "Unknown function: http://example.org/f", 400),
    (500, "out of memory", 502),
    (503, "", 502),
])
def test_remote_error_statuses(status: int, detail: str, ours: int) -> None:
    assert remote_error(status, detail).status == ours


def test_remote_error_keeps_the_stores_message_on_one_line() -> None:
    err = remote_error(400, "Parser error\n  at line 1:\n   expected '}'")
    assert str(err) == "the external endpoint answered 400: Parser error at line 1: expected '}'"
    assert str(remote_error(503, "")) == "the external endpoint answered 503."
