"""The gate agent's client of the platform API, without Django: what stopping does to a
request still waiting for its answer."""

from __future__ import annotations

import socket
import threading

import pytest

from integrations.modbus.platform_client import PlatformClient, PlatformUnavailableError


def test_closing_the_client_wakes_a_request_still_waiting_for_its_answer() -> None:
    """A platform that took the request and never answers: an upload would wait its whole
    30 s, and the agent's process, stopped already, would wait for that thread to exit."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    client = PlatformClient(f"http://127.0.0.1:{silent.getsockname()[1]}", "prefix.secret")
    outcome: list[BaseException] = []
    accepted = threading.Event()

    def accept() -> None:
        connection, _address = silent.accept()
        accepted.set()
        connection.recv(65536)  # the request arrives; no answer is ever sent
        threading.Event().wait(60)
        connection.close()

    def upload() -> None:
        try:
            client.request_sync("POST", "/events", {"events": []}, timeout=30.0)
        except BaseException as error:
            outcome.append(error)

    threading.Thread(target=accept, daemon=True).start()
    waiting = threading.Thread(target=upload, daemon=True)
    waiting.start()
    assert accepted.wait(10)
    while not client._opened:  # the connection is registered before the request goes out
        threading.Event().wait(0.01)

    client.close()
    waiting.join(10)  # a liveness bound, far under the request's own 30 s

    assert not waiting.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], PlatformUnavailableError)
    silent.close()


@pytest.mark.parametrize("url", ["ftp://platform", "http://", "platform:8000"])
def test_a_platform_url_must_be_http(url: str) -> None:
    with pytest.raises(ValueError, match="http"):
        PlatformClient(url, "prefix.secret")
