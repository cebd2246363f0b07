"""The two feeds that stream JSON lines, GET /proxy/v1/decisions?follow=1
and GET /proxy/v1/approvals?follow=1, each hold at most 16 followers at
once (AL_DECISIONS_FOLLOWERS, AL_APPROVAL_FOLLOWERS): the 17th is answered
503 "too many followers" and the other feed is not affected; a follower
that goes away gives its place back at once, even while its feed has
nothing to send (a suspended connection is watched for its other end
closing: the approvals feed can be silent for hours), and a new follower
is then accepted; a follow that is not a follow (?follow=0) is never
counted. Every open follower receives the line that woke them."""
import json
import socket
import time

import airlock_harness as h
import origins
import proxytest as pt

CAP = 16


def open_follow(al, path):
    """A raw follower on the API socket: returns (socket, status line)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(al.api_socket)
    s.sendall(("GET %s HTTP/1.1\r\nHost: airlock\r\n\r\n" % path).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        d = s.recv(4096)
        if not d:
            break
        head += d
    return s, head.split(b"\r\n", 1)[0].decode(), head.split(b"\r\n\r\n", 1)[-1]


def main():
    with origins.HTTPOrigin() as o, h.Airlock(extra_flags=pt.pins("origin.test", o.port)) as al:
        tok = pt.client(al, "web-1")
        pt.allow(al, "web-1", "origin.test", "--port", str(o.port))
        url = "http://origin.test:%d/x" % o.port
        socks = []
        try:
            for i in range(CAP):
                s, line, _ = open_follow(al, "/proxy/v1/decisions?follow=1")
                h.check(" 200 " in line, "decisions follower %d: %s" % (i + 1, line))
                socks.append(s)
            s, line, body = open_follow(al, "/proxy/v1/decisions?follow=1")
            h.check(" 503 " in line, "the 17th decisions follower: %s" % line)
            s.close()
            st, body = al.api("GET", "/proxy/v1/decisions?follow=0")
            h.check_eq(st, 200, "a read that does not follow is not counted")
            a, line, _ = open_follow(al, "/proxy/v1/approvals?follow=1")
            h.check(" 200 " in line, "the approvals feed has its own places: %s" % line)
            a.close()   # its place must come back with no approval event
            time.sleep(0.5)

            # one goes away; a decision wakes every follower, the broker
            # sees the closed one and gives its place back
            socks.pop().close()
            st = pt.RawConn(al.http_port).request("GET", url, token=tok)[0]
            h.check_eq(st, 200, "a request (a decision line)")
            for s in socks:
                got = b""
                while b"\n" not in got:
                    got += s.recv(65536)
                h.check(b'"verdict"' in got, "each open follower got the decision line")

            def accepted():
                s, line, _ = open_follow(al, "/proxy/v1/decisions?follow=1")
                if " 200 " in line:
                    socks.append(s)
                    return True
                s.close()
                return False
            h.wait_for(accepted, timeout=3, what="a new follower in the freed place")

            # the approvals feed's cap
            asocks = []
            try:
                for i in range(CAP):
                    s, line, _ = open_follow(al, "/proxy/v1/approvals?follow=1")
                    h.check(" 200 " in line, "approvals follower %d: %s" % (i + 1, line))
                    asocks.append(s)
                s, line, body = open_follow(al, "/proxy/v1/approvals?follow=1")
                h.check(" 503 " in line, "the 17th approvals follower: %s" % line)
                s.close()
            finally:
                for s in asocks:
                    s.close()
        finally:
            for s in socks:
                s.close()
        al.check_alive()


h.run(main)
