"""Real parts for delivery tests: an SMTP server and an HTTP receiver on 127.0.0.1."""

import json
import socket
import threading
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MailSink:
    """Collects every message; refuses recipients listed in ``refuse``."""

    def __init__(self):
        self.messages = []
        self.sessions = set()
        self.refuse = set()
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.sessions.add(id(session))
            self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted"


@pytest.fixture
def smtp_server(settings):
    sink = MailSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    sink.port = port
    yield sink
    controller.stop()


class HookReceiver:
    def __init__(self):
        self.requests = []
        self.status = 204


@pytest.fixture
def hook_receiver():
    receiver = HookReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            receiver.requests.append({"headers": self.headers, "body": body})
            self.send_response(receiver.status)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield receiver
    server.shutdown()
    server.server_close()


def decode_json(body: bytes):
    return json.loads(body.decode())


@pytest.fixture(autouse=True)
def default_templates(request):
    """Transactional tests empty every table; put the shipped templates back first."""
    # pytest-django's own autouse fixture has opened the database by now.
    if request.node.get_closest_marker("django_db") is None:
        return
    from notifications.models import NoticeTemplate
    from notifications.services import templates_load_defaults

    if not NoticeTemplate.objects.exists():
        templates_load_defaults()
