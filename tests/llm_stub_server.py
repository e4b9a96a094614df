"""A stand-in for `python -m llama_cpp.server` in tests: same flags, answers /v1/models.

Completions report token counts (a quarter of the prompt's characters, `max_tokens` written), as
llama.cpp's do, so the start-up speed measurement has something to time. STUB_MODE=crash exits at start, STUB_MODE=hang never listens, STUB_MODE=segv lists its model and
dies on the first completion (as a llama.cpp built for CPU features the machine lacks does).
Not collected by pytest.
"""

import argparse
import http.server
import json
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
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        usage = {"prompt_tokens": len(str(body.get("prompt", ""))) // 4, "completion_tokens": body.get("max_tokens", 1)}
        self.send_response(200)
        self.end_headers()
        self.wfile.write(json.dumps({"choices": [{"text": "ok"}], "usage": usage}).encode())

    def log_message(self, *a: object) -> None:
        pass


http.server.HTTPServer((args.host, args.port), Handler).serve_forever()
