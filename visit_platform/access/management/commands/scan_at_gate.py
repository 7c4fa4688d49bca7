"""``manage.py scan_at_gate --building demo --gate <id> --pass <id>``: present a pass to a
running gate agent as a QR reader would (one line over TCP), and print its answer."""

from __future__ import annotations

import socket
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import schema_context

from kernel.pass_tokens import TokenKind
from visit_platform.access.actions import pass_token
from visit_platform.access.models import Gate, Pass


def present(line: str, host: str = "127.0.0.1", port: int = 7000, timeout: float = 10) -> str:
    """Send one reader line to an agent and return its one-line answer."""
    with socket.create_connection((host, port), timeout=timeout) as connection:
        connection.sendall(line.encode() + b"\n")
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = connection.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.decode(errors="replace").strip()


class Command(BaseCommand):
    help = "Present a pass (or a raw token) to a running gate agent, as a QR reader would."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--building", required=True)
        parser.add_argument("--gate", required=True, help="the gate's id or name")
        parser.add_argument("--pass", dest="pass_id", type=int, help="a pass id: its slip token")
        parser.add_argument("--token", help="a token as the QR code carries it")
        parser.add_argument("--direction", choices=["in", "out"], default=None)
        parser.add_argument("--reader", default="127.0.0.1:7000", help="the agent's reader port")

    def handle(self, *args: Any, **options: Any) -> None:
        with schema_context(options["building"]):
            gate_ref = options["gate"]
            gates = Gate.objects.filter(pk=int(gate_ref)) if gate_ref.isdigit() else None
            gate = (gates or Gate.objects.filter(name=gate_ref)).first()
            if gate is None:
                raise CommandError(f"No gate {gate_ref!r}.")
            token = options["token"]
            if options["pass_id"] is not None:
                pass_record = Pass.objects.filter(pk=options["pass_id"]).first()
                if pass_record is None:
                    raise CommandError(f"No pass {options['pass_id']}.")
                token = pass_token(pass_record, TokenKind.SLIP)
            if not token:
                raise CommandError("Give --pass or --token.")
        host, _, port = options["reader"].rpartition(":")
        gate_part = f"{gate.pk}:{options['direction']}" if options["direction"] else str(gate.pk)
        try:
            answer = present(f"{gate_part} {token}", host or "127.0.0.1", int(port))
        except OSError as error:
            raise CommandError(f"No gate agent at {options['reader']}: {error}") from error
        self.stdout.write(answer)
