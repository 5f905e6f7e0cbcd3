"""A small HTTP file server on 127.0.0.1 for the URL-loading tests: serves the files put into
it, answers 404 for anything else, can break a transfer half way, counts requests, and stops
by itself (daemon thread, per-request socket timeout, shut down on exit)."""
import collections
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class CheckpointServer:
    """``with CheckpointServer() as server: server.add(path) -> url``."""

    def __init__(self):
        self.files = {}  # name -> bytes
        self.truncated = set()  # names whose transfer stops after half the bytes
        self.requests = collections.Counter()
        self._httpd = None
        self._thread = None

    def add(self, path, name=None, truncate=False) -> str:
        """Serve the file at ``path`` (as ``name``, default its own name); its URL."""
        name = name or os.path.basename(str(path))
        with open(path, 'rb') as f:
            self.files[name] = f.read()
        if truncate:
            self.truncated.add(name)
        return self.url(name)

    def url(self, name) -> str:
        host, port = self._httpd.server_address[:2]
        return f'http://{host}:{port}/{name}'

    def __enter__(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 20  # a client that stops reading cannot hold the server

            def do_GET(self):  # noqa: N802 (http.server's naming)
                name = self.path.lstrip('/')
                server.requests[name] += 1
                data = server.files.get(name)
                if data is None:
                    self.send_error(404, 'Not Found')
                    return
                self.send_response(200)
                self.send_header('Content-Type', 'application/octet-stream')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                if name in server.truncated:
                    self.wfile.write(data[:len(data) // 2])
                    self.close_connection = True  # the connection drops mid-file
                    return
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self._httpd = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs=dict(poll_interval=0.1), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)
