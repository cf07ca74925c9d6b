#!/usr/bin/env python3
"""gwload_server.py PORT — answers in awkward but valid HTTP/1.1 shapes for bench/gwload_check.sh:
chunked SSE split across writes and chunk boundaries, chunk extensions and trailers, a delayed last
chunk, Content-Length bodies written byte by byte, read-until-close bodies, a stream without
[DONE], and a 500. Keep-alive unless the path says close. Standard library only."""
import socket, socketserver, sys, time

SSE = b"".join(b'data: {"choices":[{"index":0,"delta":{"content":"part %d"}}]}\n\n' % i for i in range(4))
DONE = b"data: [DONE]\n\n"
JSON = b'{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi"}}]}'


def chunk(b, ext=b""):
    return b"%x%s\r\n%s\r\n" % (len(b), ext, b)


class Handler(socketserver.BaseRequestHandler):
    def read_request(self, buf):
        while b"\r\n\r\n" not in buf:
            d = self.request.recv(65536)
            if not d:
                return None, b""
            buf += d
        head, rest = buf.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        path = lines[0].split(b" ")[1].decode()
        length = 0
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v.strip())
        while len(rest) < length:
            d = self.request.recv(65536)
            if not d:
                return None, b""
            rest += d
        return path, rest[length:]

    def send(self, *parts, pause=0.0):
        for p in parts:
            self.request.sendall(p)
            if pause:
                time.sleep(pause)

    def handle(self):
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = b""
        while True:
            path, buf = self.read_request(buf)
            if path is None:
                return
            sse_head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
            if path == "/chunked":  # first event at once, the rest 5 ms later, split mid-line and mid-chunk
                body = chunk(SSE[:40]) + chunk(SSE[40:], b";ext=1") + chunk(DONE) + b"0\r\n\r\n"
                self.send(sse_head + body[:30])
                time.sleep(0.005)
                self.send(body[30:77], body[77:], pause=0.001)
            elif path == "/trailer":
                self.send(sse_head, chunk(SSE), chunk(DONE), b"0\r\nX-Trailer: 1\r\n\r\n", pause=0.0005)
            elif path == "/nodone":
                self.send(sse_head + chunk(SSE) + b"0\r\n\r\n")
            elif path == "/split":
                msg = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(JSON) + JSON
                self.send(*[msg[i:i + 7] for i in range(0, len(msg), 7)], pause=0.0002)
            elif path == "/close":
                self.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n" + JSON)
                return
            elif path == "/interim":
                self.send(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            else:
                self.send(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\noops!")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 512


if __name__ == "__main__":
    Server(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
