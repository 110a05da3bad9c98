"""A fault-injecting HTTP/1.1 proxy between vpcflow-ipfix and moto (AWS_ENDPOINT_URL points at it).

    with FaultProxy(moto.endpoint, rate=0.2, seed=7) as proxy:
        proxy.endpoint                 # http://127.0.0.1:PORT
        proxy.counts                   # {(service, fault): n}

The first request of each service gets a fault, every other one with probability `rate`, at
random (so a retry can fail again, several times in a row; a fixed pattern would hit the same
call of a periodic client every time); the faults take turns through this list, so all of them
happen once a few requests failed:
  ok         forwarded to moto, its answer returned
  throttle   not forwarded; the service's own throttling error:
               CloudWatch Logs  400 JSON ThrottlingException
               Kinesis          400 JSON ProvisionedThroughputExceededException (GetRecords),
                                LimitExceededException (control plane)
               SQS              JSON protocol: 400 com.amazonaws.sqs#RequestThrottled with
                                x-amzn-query-error; query protocol: 403 XML RequestThrottled
               S3               503 XML SlowDown
               EC2              503 XML RequestLimitExceeded;  STS 400 XML Throttling
  http500    not forwarded; 500 InternalError / InternalFailure in the service's shape
  http503    not forwarded; 503 ServiceUnavailable in the service's shape
  reset      not forwarded; the connection is reset (RST) without an answer
  lost       forwarded (moto acts on it), then the connection is reset: the answer is lost
  truncated  forwarded; the answer's head promises Content-Length N, fewer bytes follow, then close

`lost` and `truncated` are the hard ones: the request took effect (an SQS receive made messages
invisible, a delete happened) and the client cannot know. The shapes follow
fixtures/aws/responses/*_error_* (captured from AWS documentation and botocore).
"""

from __future__ import annotations

import http.client
import json
import random
import re
import socket
import struct
import threading
import uuid
from collections import Counter
from urllib.parse import urlsplit

FAULTS = ("throttle", "http500", "http503", "reset", "lost", "truncated")
MAX_HEAD = 64 * 1024
UPSTREAM_TIMEOUT = 60.0  # s: an SQS long poll is 20 s


def service_of(headers: dict[str, str]) -> str:
    """The signing name in the SigV4 credential scope (s3, sqs, logs, kinesis, ec2, sts, ...)."""
    m = re.search(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request", headers.get("authorization", ""))
    return m[1] if m else "unknown"


def _json(status: int, version: str, type_: str, message: str, extra: dict | None = None):
    headers = {"Content-Type": f"application/x-amz-json-{version}", "x-amzn-RequestId": str(uuid.uuid4())}
    headers.update(extra or {})
    return status, headers, json.dumps({"__type": type_, "message": message}).encode()


def _xml(status: int, body: str, content_type: str = "text/xml"):
    return status, {"Content-Type": content_type}, ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode()


def error_response(service: str, fault: str, headers: dict[str, str]) -> tuple[int, dict, bytes]:
    """(status, headers, body) of `fault` (throttle, http500, http503) as `service` answers it."""
    target = headers.get("x-amz-target", "")
    status = {"http500": 500, "http503": 503}.get(fault, 0)
    if service == "logs":
        code = {"throttle": "ThrottlingException", "http500": "InternalFailure", "http503": "ServiceUnavailableException"}
        return _json(status or 400, "1.1", code[fault], "Rate exceeded" if fault == "throttle" else "injected")
    if service == "kinesis":
        if fault == "throttle" and target.endswith(".GetRecords"):
            return _json(
                400,
                "1.1",
                "ProvisionedThroughputExceededException",
                "Rate exceeded for shard shardId-000000000000 in stream s under account 123456789012.",
            )
        code = {"throttle": "LimitExceededException", "http500": "InternalFailure", "http503": "ServiceUnavailable"}
        return _json(status or 400, "1.1", code[fault], "Rate exceeded for stream" if fault == "throttle" else "injected")
    if service == "sqs":
        code = {"throttle": "RequestThrottled", "http500": "InternalError", "http503": "ServiceUnavailable"}[fault]
        if "json" in headers.get("content-type", "") or target.startswith("AmazonSQS."):
            kind = "Sender" if fault == "throttle" else "Receiver"
            return _json(
                status or 400,
                "1.0",
                f"com.amazonaws.sqs#{code}",
                "Rate exceeded" if fault == "throttle" else "injected",
                {"x-amzn-query-error": f"{code};{kind}"},
            )
        return _xml(
            status or 403,
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>injected</Message></Error>"
            f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>",
        )
    if service == "s3":
        code = {"throttle": "SlowDown", "http500": "InternalError", "http503": "ServiceUnavailable"}[fault]
        msg = "Please reduce your request rate." if fault == "throttle" else "injected"
        return _xml(
            status or 503,
            f"<Error><Code>{code}</Code><Message>{msg}</Message><RequestId>1</RequestId><HostId>2</HostId></Error>",
            "application/xml",
        )
    if service == "sts":
        code = {"throttle": "Throttling", "http500": "InternalFailure", "http503": "ServiceUnavailable"}[fault]
        return _xml(
            status or 400,
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>injected</Message></Error>"
            f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>",
        )
    # ec2 and any other query service
    code = {"throttle": "RequestLimitExceeded", "http500": "InternalError", "http503": "Unavailable"}[fault]
    return _xml(
        status or 503,
        f"<Response><Errors><Error><Code>{code}</Code><Message>injected</Message></Error></Errors>"
        f"<RequestID>{uuid.uuid4()}</RequestID></Response>",
    )


class FaultProxy:
    def __init__(self, upstream: str, rate: float = 0.3, seed: int | None = None, faults: tuple = FAULTS):
        u = urlsplit(upstream)
        self.upstream = (u.hostname or "127.0.0.1", u.port or 80)
        self.rate = rate
        self.faults = faults
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.counts: Counter = Counter()
        self.seen: Counter = Counter()
        self.turn = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "FaultProxy":
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def summary(self) -> str:
        with self.lock:
            return ", ".join(f"{s}/{f}={n}" for (s, f), n in sorted(self.counts.items()))

    def faulted(self, fault: str | None = None) -> int:
        with self.lock:
            return sum(n for (_, f), n in self.counts.items() if f != "ok" and (fault is None or f == fault))

    def _pick(self, service: str) -> str:
        with self.lock:
            first = self.seen[service] == 0
            self.seen[service] += 1
            if not first and self.rng.random() >= self.rate:
                return "ok"
            self.turn += 1
            return self.faults[(self.turn - 1) % len(self.faults)]

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _reset(conn: socket.socket) -> None:
        # SO_LINGER 0: close() sends RST instead of FIN
        try:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        finally:
            conn.close()

    def _serve(self, conn: socket.socket) -> None:
        buf = b""
        try:
            while not self.stopped.is_set():
                while b"\r\n\r\n" not in buf:
                    chunk = conn.recv(65536)
                    if not chunk or len(buf) > MAX_HEAD:
                        conn.close()
                        return
                    buf += chunk
                head, buf = buf.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                raw_headers = [tuple(h.split(":", 1)) for h in lines[1:] if ":" in h]
                headers = {k.strip().lower(): v.strip() for k, v in raw_headers}
                length = int(headers.get("content-length", "0"))
                while len(buf) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        conn.close()
                        return
                    buf += chunk
                body, buf = buf[:length], buf[length:]
                service = service_of(headers)
                fault = self._pick(service)
                with self.lock:
                    self.counts[(service, fault)] += 1
                if fault == "reset":
                    self._reset(conn)
                    return
                if fault in ("throttle", "http500", "http503"):
                    status, h, b = error_response(service, fault, headers)
                    self._send(conn, status, list(h.items()), b)
                    continue
                status, resp_headers, resp_body = self._forward(method, target, raw_headers, body)
                if fault == "lost":
                    self._reset(conn)
                    return
                if fault == "truncated" and len(resp_body) > 1:
                    keep = self.rng.randrange(0, len(resp_body))
                    self._send(conn, status, resp_headers, resp_body, send_only=keep)
                    conn.shutdown(socket.SHUT_RDWR)
                    conn.close()
                    return
                self._send(conn, status, resp_headers, resp_body)
        except (OSError, ValueError):
            try:
                conn.close()
            except OSError:
                pass

    def _forward(self, method: str, target: str, raw_headers: list, body: bytes) -> tuple[int, list, bytes]:
        up = http.client.HTTPConnection(*self.upstream, timeout=UPSTREAM_TIMEOUT)
        try:
            up.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            for k, v in raw_headers:
                if k.strip().lower() not in ("connection", "content-length"):
                    up.putheader(k.strip(), v.strip())
            up.putheader("Content-Length", str(len(body)))
            up.putheader("Connection", "close")
            up.endheaders(body)
            resp = up.getresponse()
            data = resp.read()
            headers = [
                (k, v)
                for k, v in resp.getheaders()
                if k.lower() not in ("content-length", "transfer-encoding", "connection", "keep-alive")
            ]
            return resp.status, headers, data
        finally:
            up.close()

    @staticmethod
    def _send(conn, status: int, headers: list, body: bytes, send_only: int | None = None) -> None:
        reason = http.client.responses.get(status, "Unknown")
        head = f"HTTP/1.1 {status} {reason}\r\n"
        for k, v in headers:
            head += f"{k}: {v}\r\n"
        head += f"Content-Length: {len(body)}\r\n\r\n"
        conn.sendall(head.encode("latin-1") + (body if send_only is None else body[:send_only]))
