"""docs/fixtures.md's pytest-recording example: a model call recorded once, then replayed.

A real HTTP server on 127.0.0.1 stands in for the model API; the second session runs with the
server gone and ``--record-mode=none``, so only the cassette can answer.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from tests.helpers import load_run

SUITE = """
import json
import urllib.request

import pytest

URL = "{url}"

@pytest.fixture(scope="module")
def vcr_config():
    return {{"filter_headers": ["authorization"], "record_mode": "once"}}

def call_model(question):
    request = urllib.request.Request(URL, data=question.encode(), headers={{"Authorization": "k"}})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["answer"]

@pytest.mark.vcr
@pytest.mark.parametrize("question", ["What is 2+2?"])
def test_answer(agentv, question):
    answer = call_model(question)
    agentv.outputs(answer=answer)
    agentv.score("correct", "4" in answer)
"""


class _Model(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        body = b'{"answer": "4"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def model_server() -> Iterator[http.server.HTTPServer]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Model)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_an_eval_suite_replays_its_cassette(
    pytester: pytest.Pytester, model_server: http.server.HTTPServer
) -> None:
    url = f"http://127.0.0.1:{model_server.server_address[1]}/v1/answer"
    pytester.makepyfile(test_qa=SUITE.format(url=url))
    pytester.runpytest("-p", "no:xdist").assert_outcomes(passed=1)
    cassettes = list(pytester.path.glob("cassettes/**/*.yaml"))
    assert len(cassettes) == 1
    assert "Authorization" not in cassettes[0].read_text()

    model_server.shutdown()
    model_server.server_close()
    pytester.runpytest("-p", "no:xdist", "--record-mode=none").assert_outcomes(passed=1)
    runs = sorted(pytester.path.glob(".agentv/runs/*/*"), key=lambda p: p.stat().st_mtime)
    assert len(runs) == 2
    outputs = [load_run(run)[0]["tests"][0]["outputs"] for run in runs]
    assert outputs == [{"answer": "4"}, {"answer": "4"}]
