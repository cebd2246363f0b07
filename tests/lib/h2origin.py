"""h2origin: an HTTP/2-only TLS origin (python3-h2) for the HTTP/2 tests that
look at upstream connections: it counts the TCP connections it accepts,
records for each request the connection it came on and its authorization
header, and answers each request after `delay` seconds (so that requests
sent together are open together), with the number of its connection in
the body. It advertises SETTINGS_MAX_CONCURRENT_STREAMS = max_streams and
records the most streams it ever saw open at once on one connection. A
request whose path ends in /die closes its TCP connection at once (every
stream open on it is cut).

    o = H2Origin(ca.leaf_cert, ca.leaf_key, max_streams=4)
    with o: ...     o.port, o.conns, o.requests, o.peak"""
import socket
import ssl
import sys
import threading
import time

try:
    import h2.config
    import h2.connection
    import h2.events
    import h2.exceptions
    import h2.settings
except ImportError:   # Debian's package, when the tests run on another python3
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import h2.config
        import h2.connection
        import h2.events
        import h2.exceptions
        import h2.settings
    except ImportError:
        h2 = None


def available():
    return h2 is not None


class H2Origin:
    def __init__(self, cert, key, max_streams=100, delay=0.5):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.ctx.set_alpn_protocols(["h2"])
        self.max_streams = max_streams
        self.delay = delay
        self.lock = threading.Lock()
        self.conns = 0
        self.requests = []     # (connection number, path, authorization)
        self.peak = 0          # most streams open at once on one connection
        self.stop = False
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        self.threads = []

    def __enter__(self):
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self.threads.append(t)
        return self

    def __exit__(self, *exc):
        self.stop = True
        self.ls.close()
        for t in self.threads:
            t.join(timeout=5)

    def _accept(self):
        self.ls.settimeout(0.2)
        while not self.stop:
            try:
                s, _ = self.ls.accept()
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                return
            with self.lock:
                self.conns += 1
                n = self.conns
            t = threading.Thread(target=self._serve, args=(s, n), daemon=True)
            t.start()
            self.threads.append(t)

    def _serve(self, raw, n):
        try:
            s = self.ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        c = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
        c.local_settings = h2.settings.Settings(client=False, initial_values={
            h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: self.max_streams})
        c.initiate_connection()
        s.sendall(c.data_to_send())
        pending = {}   # stream -> time it came
        s.settimeout(0.05)
        try:
            while not self.stop:
                try:
                    data = s.recv(65536)
                    if not data:
                        break
                    for ev in c.receive_data(data):
                        if isinstance(ev, h2.events.RequestReceived):
                            hd = dict(ev.headers)
                            with self.lock:
                                self.requests.append((n, hd.get(":path"), hd.get("authorization")))
                            pending[ev.stream_id] = time.monotonic()
                            with self.lock:
                                self.peak = max(self.peak, len(pending))
                            if (hd.get(":path") or "").endswith("/die"):
                                raise ConnectionAbortedError("asked to die")
                except (socket.timeout, TimeoutError):
                    pass
                now = time.monotonic()
                for sid in [k for k, t in pending.items() if now - t >= self.delay]:
                    del pending[sid]
                    body = b"conn=%d\n" % n
                    c.send_headers(sid, [(":status", "200"), ("content-length", str(len(body)))])
                    c.send_data(sid, body, end_stream=True)
                out = c.data_to_send()
                if out:
                    s.sendall(out)
        except (OSError, h2.exceptions.H2Error):
            pass
        finally:
            s.close()
