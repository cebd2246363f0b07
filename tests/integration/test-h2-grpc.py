"""gRPC through the interception, HTTP/2 on both sides (h2 <-> h2): a
grpcio server behind a name pinned with --resolve and --upstream-ca, a
grpcio client using airlock as its proxy with its token. Unary,
server-streaming and bidirectional calls succeed with the bearer injected
from a secret (the server sees it; the client never held it), the
server's trailing metadata and status arrive, and a method outside the
rule's paths fails with PERMISSION_DENIED carrying airlock's reason.
The origin side is HTTP/2 (grpcio serves nothing else); one decision line
per call."""
import hashlib
import os
import sys
from concurrent import futures

import airlock_harness as h
import mitmtest as mt
import origins
import proxytest as pt

try:
    import grpc
except ImportError:
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import grpc
    except ImportError:
        grpc = None

SECRET = mt.secret_value("grpc")
SEEN = []


def auth_hash(ctx):
    md = dict(ctx.invocation_metadata())
    a = md.get("authorization", "")
    SEEN.append(a)
    return hashlib.sha256(a.encode()).hexdigest().encode()


def unary(req, ctx):
    ctx.set_trailing_metadata((("x-trail", "t1"),))
    return b"unary:" + req + b":" + auth_hash(ctx)


def stream_out(req, ctx):
    h_ = auth_hash(ctx)
    for i in range(5):
        yield b"item%d:" % i + h_


def bidi(reqs, ctx):
    auth_hash(ctx)
    for r in reqs:
        yield b"echo:" + r


def denied(req, ctx):
    return b"should never run"


def main():
    if grpc is None:
        print("SKIP: python3-grpcio not installed")
        sys.exit(77)
    port = origins.free_port()
    s = mt.Setup(origin=False)
    ca = s.ca
    ident = lambda b: b
    handler = grpc.method_handlers_generic_handler("test.Svc", {
        "Unary": grpc.unary_unary_rpc_method_handler(unary, ident, ident),
        "Stream": grpc.unary_stream_rpc_method_handler(stream_out, ident, ident),
        "Bidi": grpc.stream_stream_rpc_method_handler(bidi, ident, ident),
        "Admin": grpc.unary_unary_rpc_method_handler(denied, ident, ident),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers((handler,))
    creds = grpc.ssl_server_credentials([(open(ca.leaf_key, "rb").read(), open(ca.leaf_cert, "rb").read())])
    server.add_secure_port("127.0.0.1:%d" % port, creds)
    server.start()
    s.flags += pt.pins("origin.test", port)
    try:
        with s:
            al = s.al
            tok = pt.client(al, "web-1")
            mt.secret(al, "grpc-key", "origin.test", SECRET)
            pt.allow(al, "web-1", "origin.test", "--port", str(port), "--method", "POST",
                     "--path", "/test.Svc/Unary", "--path", "/test.Svc/Stream", "--path", "/test.Svc/Bidi",
                     "--secret", "grpc-key")
            chan = grpc.secure_channel(
                "origin.test:%d" % port,
                grpc.ssl_channel_credentials(root_certificates=open(al.ca_cert, "rb").read()),
                options=[("grpc.http_proxy", "http://proxy:%s@127.0.0.1:%d" % (tok, al.http_port)),
                         ("grpc.enable_retries", 0)])
            want = hashlib.sha256(("Bearer " + SECRET).encode()).hexdigest().encode()
            md = (("authorization", "Bearer sandbox-placeholder"),)

            u = chan.unary_unary("/test.Svc/Unary")
            resp, call = u.with_call(b"hi", metadata=md, timeout=10)
            h.check_eq(resp, b"unary:hi:" + want, "unary call answered; the server saw the secret")
            h.check(("x-trail", "t1") in tuple(call.trailing_metadata() or ()),
                    "trailing metadata arrives: %r" % (call.trailing_metadata(),))
            h.check_eq(call.code(), grpc.StatusCode.OK, "status OK from the trailers")

            st = chan.unary_stream("/test.Svc/Stream")
            items = list(st(b"x", metadata=md, timeout=10))
            h.check_eq(items, [b"item%d:" % i + want for i in range(5)], "server-streaming: five items")

            bd = chan.stream_stream("/test.Svc/Bidi")
            out = list(bd(iter([b"a", b"b", b"c"]), metadata=md, timeout=10))
            h.check_eq(out, [b"echo:a", b"echo:b", b"echo:c"], "bidirectional stream")

            ad = chan.unary_unary("/test.Svc/Admin")
            try:
                ad(b"x", metadata=md, timeout=10)
                h.check(False, "a method outside the rule's paths is refused")
            except grpc.RpcError as e:
                h.check_eq(e.code(), grpc.StatusCode.PERMISSION_DENIED,
                           "outside the rule: PERMISSION_DENIED (%s)" % e.details())
                h.check("path-not-allowed" in (e.details() or ""),
                        "airlock's reason in the details: %r" % e.details())
            h.check(all(a == "Bearer " + SECRET for a in SEEN), "every call reached the server with the secret only")
            pt.wait_decision(al, lambda d: d.get("path") == "/test.Svc/Admin", "the deny line")
            ds = [d for d in pt.decisions(al) if d.get("path", "").startswith("/test.Svc/")]
            h.check_eq(sorted(d.get("path") + " " + d["verdict"] for d in ds),
                       sorted(["/test.Svc/Unary allow", "/test.Svc/Stream allow", "/test.Svc/Bidi allow",
                               "/test.Svc/Admin deny"]), "one decision line per call")
            chan.close()
            mt.check_no_secret(al, SECRET)
            al.check_alive()
    finally:
        server.stop(0)


h.run(main)
