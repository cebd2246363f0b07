"""sdkreplay: the seed system's Go SDK (slicervm/sdk, proxy.go) replayed
byte for byte against airlock's API, for tests/integration/test-api-sdk-*.py.

What a Go program using the SDK puts on the wire, and how it reads the
answer, written down from proxy.go and client.go (their contract, not their
code):

- the path is path.Join()ed and then escaped the way net/url's
  URL.EscapedPath() does (`*` becomes %2A);
- a body is json.Marshal of the request struct: fields in struct order,
  `omitempty` ones left out when zero; CreateProxyClient marshals a map, so
  its keys come sorted; Content-Type: application/json only with a body;
- each call accepts exactly one status, anything else is an error carrying
  the status and the body;
- the answer is decoded with encoding/json into the SDK's types: unknown
  keys ignored, keys matched case-insensitively, every known key must have
  the field's JSON type (a number into a string field is an error), time.Time
  must be an RFC 3339 string (or null), slices must be arrays (or null).

    sdk = SDK(al.api_socket)
    c = sdk.create_proxy_client("web-1")       # {"name", "token", "created_at"}
    rules = sdk.list_proxy_rules("web-1")      # [ProxyAllowRule as a dict]
    sdk.calls                                  # the calls made, by SDK name
A call the SDK would report as an error raises SDKError(status, body).
"""

import datetime
import http.client
import json
import posixpath
import re
import socket

# ---- Go types, as encoding/json decodes into them ----

STRING, TIME, BOOL, INT = "string", "time.Time", "bool", "int"


class Slice:
    def __init__(self, elem):
        self.elem = elem

    def __repr__(self):
        return "[]%s" % (self.elem if isinstance(self.elem, str) else self.elem.name)


class Struct:
    def __init__(self, name, fields):
        self.name = name
        self.fields = fields   # [(json name, type)] in struct order


PROXY_CLIENT = Struct("ProxyClient", [("name", STRING), ("created_at", TIME)])
PROXY_CLIENT_CREATED = Struct("ProxyClientCreated",
                              [("name", STRING), ("token", STRING), ("created_at", TIME)])
PROXY_SECRET = Struct("ProxySecret", [("name", STRING), ("host", STRING), ("type", STRING),
                                      ("created_at", TIME), ("updated_at", TIME),
                                      ("adopted_at", TIME), ("refreshed_at", TIME)])
PROXY_ALLOW_RULE = Struct("ProxyAllowRule", [("host", STRING), ("secret", STRING),
                                             ("methods", Slice(STRING)), ("paths", Slice(STRING)),
                                             ("ports", Slice(INT)), ("expires", TIME),
                                             ("passthrough", BOOL)])


class DecodeError(Exception):
    """What json.Unmarshal would return (the SDK call fails with it)."""


_RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?"
                      r"(Z|[+-](\d{2}):(\d{2}))$")


def parse_time(s):
    """time.Time.UnmarshalJSON: strict RFC 3339. Returns an aware datetime."""
    m = _RFC3339.match(s)
    if not m:
        raise DecodeError("parsing time %r as RFC 3339" % s)
    y, mo, d, hh, mm, ss = (int(m.group(i)) for i in range(1, 7))
    try:
        t = datetime.datetime(y, mo, d, hh, mm, ss, tzinfo=datetime.timezone.utc)
    except ValueError as e:
        raise DecodeError("parsing time %r: %s" % (s, e))
    if m.group(8) != "Z":
        off = int(m.group(9)) * 60 + int(m.group(10))
        if int(m.group(9)) > 23 or int(m.group(10)) > 59:
            raise DecodeError("parsing time %r: bad zone" % s)
        t -= datetime.timedelta(minutes=off if m.group(8)[0] == "+" else -off)
    return t


def _zero(t):
    if isinstance(t, Struct):
        return {n: _zero(ft) for n, ft in t.fields}
    return {STRING: "", TIME: None, BOOL: False, INT: 0}.get(t) if isinstance(t, str) else None


def decode(value, t, where="$"):
    """Decode parsed JSON into Go type t; the result is plain Python (a
    struct becomes a dict holding exactly its fields, zero when absent)."""
    if value is None:          # null leaves the Go value at its zero
        return _zero(t)
    if t == STRING:
        if not isinstance(value, str):
            raise DecodeError("%s: cannot unmarshal %s into a Go string" % (where, type(value).__name__))
        return value
    if t == BOOL:
        if not isinstance(value, bool):
            raise DecodeError("%s: cannot unmarshal %s into a Go bool" % (where, type(value).__name__))
        return value
    if t == INT:
        if isinstance(value, bool) or not isinstance(value, int) or not -2**63 <= value < 2**63:
            raise DecodeError("%s: cannot unmarshal %r into a Go int" % (where, value))
        return value
    if t == TIME:
        if not isinstance(value, str):
            raise DecodeError("%s: time.Time wants a string, got %r" % (where, value))
        return parse_time(value)
    if isinstance(t, Slice):
        if not isinstance(value, list):
            raise DecodeError("%s: cannot unmarshal %s into Go value of type %r"
                              % (where, type(value).__name__, t))
        return [decode(v, t.elem, "%s[%d]" % (where, i)) for i, v in enumerate(value)]
    if isinstance(t, Struct):
        if not isinstance(value, dict):
            raise DecodeError("%s: cannot unmarshal %s into Go value of type %s"
                              % (where, type(value).__name__, t.name))
        out = _zero(t)
        for key, v in value.items():
            # exact name first, then Go's case-insensitive match; others ignored
            name = next((n for n, _ in t.fields if n == key), None) or \
                next((n for n, _ in t.fields if n.lower() == key.lower()), None)
            if name is not None:
                out[name] = decode(v, dict(t.fields)[name], "%s.%s" % (where, key))
        return out
    raise AssertionError("unknown Go type %r" % (t,))


# ---- what goes on the wire ----

def go_marshal(fields):
    """json.Marshal of a struct: [(name, value, omitempty)] in struct order."""
    parts = []
    for name, value, omitempty in fields:
        if omitempty and value in (None, "", 0, False, [], {}):
            continue
        parts.append(json.dumps(name) + ":" + json.dumps(value, separators=(",", ":")))
    return ("{" + ",".join(parts) + "}").encode()


def go_marshal_map(m):
    """json.Marshal of a map[string]any: keys sorted."""
    return json.dumps(m, sort_keys=True, separators=(",", ":")).encode()


_PATH_KEEP = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~$&+,/:;=@")


def go_path(endpoint):
    """path.Join("", endpoint), escaped as URL.EscapedPath() would."""
    p = posixpath.normpath(endpoint)
    return "".join(chr(b) if b in _PATH_KEEP else "%%%02X" % b for b in p.encode())


class SDKError(Exception):
    """proxyDo's error: "METHOD PATH: STATUS BODY"."""

    def __init__(self, method, path, status, body):
        super().__init__("%s %s: %d %s" % (method, path, status, body))
        self.status, self.body = status, body


class _Unix(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("unix", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class SDK:
    """The ten proxy calls of the Go SDK, one method each (snake_case)."""

    def __init__(self, sock_path, token="sdk-bearer-token-unused", timeout=10.0):
        self.sock_path, self.token, self.timeout = sock_path, token, timeout
        self.calls = []       # SDK names of the calls that succeeded
        self.wire = []        # (method, path, body bytes or None, status) of every call

    def _do(self, call, method, endpoint, body, want, out_type):
        path = go_path(endpoint)
        conn = _Unix(self.sock_path, self.timeout)
        try:
            # net/http's header set for this request, in its order
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", "unix")
            conn.putheader("User-Agent", "slicer-sdk-replay")
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            if self.token:
                conn.putheader("Authorization", "Bearer " + self.token)
            if body is not None:
                conn.putheader("Content-Type", "application/json")
            conn.putheader("Accept-Encoding", "gzip")
            conn.endheaders(body)
            resp = conn.getresponse()
            raw = resp.read()
            status = resp.status
        finally:
            conn.close()
        self.wire.append((method, path, body, status))
        if status != want:
            raise SDKError(method, endpoint, status, raw.decode("utf-8", "replace"))
        if out_type is None:
            self.calls.append(call)
            return None
        try:
            # json.NewDecoder(...).Decode: the first JSON value of the body
            value, _ = json.JSONDecoder().raw_decode(raw.decode("utf-8").lstrip())
        except ValueError as e:
            raise DecodeError("%s: the body is not JSON: %s" % (call, e))
        out = decode(value, out_type)
        self.calls.append(call)
        return out

    # -- clients --

    def create_proxy_client(self, name, set_token=""):
        body = {"name": name}
        if set_token:
            body["token"] = set_token
        return self._do("CreateProxyClient", "POST", "/proxy/v1/clients", go_marshal_map(body),
                        201, PROXY_CLIENT_CREATED)

    def list_proxy_clients(self):
        return self._do("ListProxyClients", "GET", "/proxy/v1/clients", None, 200,
                        Slice(PROXY_CLIENT))

    def delete_proxy_client(self, name):
        return self._do("DeleteProxyClient", "DELETE", "/proxy/v1/clients/" + name, None, 204,
                        None)

    # -- secrets --

    def create_proxy_secret(self, name, host, value, type="", source_file="", force=False):
        body = go_marshal([("name", name, False), ("host", host, False), ("type", type, True),
                           ("value", value, False), ("source_file", source_file, True),
                           ("force", force, True)])
        return self._do("CreateProxySecret", "POST", "/proxy/v1/secrets", body, 201, None)

    def list_proxy_secrets(self):
        return self._do("ListProxySecrets", "GET", "/proxy/v1/secrets", None, 200,
                        Slice(PROXY_SECRET))

    def delete_proxy_secret(self, name):
        return self._do("DeleteProxySecret", "DELETE", "/proxy/v1/secrets/" + name, None, 204,
                        None)

    # -- rules --

    @staticmethod
    def _tuple(client, host, secret, methods, paths, ports):
        return [("client", client, False), ("host", host, False), ("secret", secret, True),
                ("methods", list(methods or []), True), ("paths", list(paths or []), True),
                ("ports", list(ports or []), True)]

    def add_proxy_allow(self, client, host, secret="", methods=None, paths=None, ports=None,
                        ttl_seconds=0, passthrough=False):
        body = go_marshal(self._tuple(client, host, secret, methods, paths, ports) +
                          [("ttl_seconds", ttl_seconds, True), ("passthrough", passthrough, True)])
        return self._do("AddProxyAllow", "POST", "/proxy/v1/allows", body, 201, None)

    def remove_proxy_allow(self, client, host):
        return self._do("RemoveProxyAllow", "DELETE", "/proxy/v1/allows/%s/%s" % (client, host),
                        None, 204, None)

    def remove_proxy_allow_by_tuple(self, client, host, secret="", methods=None, paths=None,
                                    ports=None, passthrough=False):
        body = go_marshal(self._tuple(client, host, secret, methods, paths, ports) +
                          [("passthrough", passthrough, True)])
        return self._do("RemoveProxyAllowByTuple", "POST", "/proxy/v1/allows/revoke", body, 204,
                        None)

    def list_proxy_rules(self, client):
        return self._do("ListProxyRules", "GET", "/proxy/v1/clients/" + client, None, 200,
                        Slice(PROXY_ALLOW_RULE))


ALL_CALLS = ("CreateProxyClient", "ListProxyClients", "DeleteProxyClient", "CreateProxySecret",
             "ListProxySecrets", "DeleteProxySecret", "AddProxyAllow", "RemoveProxyAllow",
             "RemoveProxyAllowByTuple", "ListProxyRules")
