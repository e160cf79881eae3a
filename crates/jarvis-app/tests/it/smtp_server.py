"""A real SMTP server for the SMTP transport tests (aiosmtpd, from PyPI).

Usage: smtp_server.py PORT OUT_DIR CERT KEY USER PASSWORD

Listens on 127.0.0.1:PORT with STARTTLS (CERT/KEY) and AUTH PLAIN/LOGIN required after TLS.
Each accepted message is parsed with Python's own e-mail package and written to OUT_DIR as one
JSON file (envelope, headers, text and HTML parts, raw source) so the Rust test can assert on
what was really delivered. Recipients decide the answer, so one server covers every case:
  refuse@…   -> 550 (permanent: the transport must give up)
  later@…    -> 451 (transient: the transport must retry later)
Prints "ready" once listening; stops on SIGTERM or when stdin closes.
"""

import json
import os
import signal
import ssl
import sys
import threading
import uuid
from email import policy
from email.parser import BytesParser

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Handler:
    def __init__(self, out_dir):
        self.out_dir = out_dir

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local == "refuse":
            return "550 5.1.1 no such mailbox"
        if local == "later":
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        text = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": session.ssl is not None,
            "authenticated": bool(session.authenticated),
            "headers": {k.lower(): str(v) for k, v in msg.items()},
            "content_type": msg.get_content_type(),
            "text": text.get_content() if text is not None else None,
            "html": html.get_content() if html is not None else None,
            "raw": raw.decode("utf-8", "replace"),
        }
        path = os.path.join(self.out_dir, f"{uuid.uuid4()}.json")
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.replace(tmp, path)
        return "250 Message accepted"


def main():
    port, out_dir, cert, key, user, password = sys.argv[1:7]
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == user
            and auth_data.password.decode() == password
        )
        if ok:
            return AuthResult(success=True)
        return AuthResult(
            success=False, handled=False, message="535 5.7.8 Authentication credentials invalid"
        )

    controller = Controller(
        Handler(out_dir),
        hostname="127.0.0.1",
        port=int(port),
        tls_context=tls,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    print("ready", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    # The test holds stdin open; when it dies, stdin closes and the server goes with it.
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait()
    controller.stop()


if __name__ == "__main__":
    main()
