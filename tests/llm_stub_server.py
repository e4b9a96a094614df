"""A stand-in for `python -m llama_cpp.server` in tests: same flags, answers /v1/models.

STUB_MODE=crash exits at start, STUB_MODE=hang never listens, STUB_MODE=segv lists its model and
dies on the first completion (as a llama.cpp built for CPU features the machine lacks does).
Not collected by pytest.
"""

import argparse
import http.server
import os
import sys
import time

p = argparse.ArgumentParser()
p.add_argument("--port", type=int)
p.add_argument("--host")
args, _ = p.parse_known_args()
mode = os.environ.get("STUB_MODE", "ok")
print("stub starting", flush=True)
if mode == "crash":
    print("error: failed to load model", flush=True)
    sys.exit(3)
if mode == "hang":
    time.sleep(600)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"data": []}')

    def do_POST(self) -> None:  # noqa: N802
        if mode == "segv":
            os.kill(os.getpid(), 11)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"choices": [{"text": "ok"}]}')

    def log_message(self, *a: object) -> None:
        pass


http.server.HTTPServer((args.host, args.port), Handler).serve_forever()
