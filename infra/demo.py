"""`make demo`: the whole story on the local runtime, over HTTP, each step checked; exits non-zero if one fails.

A root and a subordinate CA whose keys live in (embedded) KMS; one certificate of each kind, each verified
with `openssl verify`; a short-lived certificate associated with a real (embedded) ALB listener, renewed by
the sweep on its own and deployed to the listener, verified by serial; deletion refused while in use; an SNI
rotation that keeps the other SNI certificates; an association that scopes who may read the private key; a
real TLS handshake with the issued chain; and the refusals a platform team relies on.

The chapters live beside it: infra/demo_lifecycle.py (1-8) and infra/demo_trust.py (9-14); infra/demo_story.py
is the checked-step harness, infra/demo_proofs.py the relying party's proofs (TLS, openssl, CRL over HTTP),
infra/demo_customer.py what the customer brings (CSR, third-party certificate, its load balancer, consent), and
infra/demo_output.py the printing.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from infra import demo_output as output
from infra.demo_customer import (
    consent_by_tag,
    customer_csr,
    listener_serials,
    make_load_balancer,
    third_party_certificate,
)
from infra.demo_lifecycle import core_story, lifecycle_story
from infra.demo_proofs import root_pem_of, tls_handshake
from infra.demo_story import Story
from infra.demo_trust import trust_story
from infra.runtime import local_runtime

__all__ = [
    "Story",
    "consent_by_tag",
    "core_story",
    "customer_csr",
    "lifecycle_story",
    "listener_serials",
    "main",
    "make_load_balancer",
    "root_pem_of",
    "run",
    "third_party_certificate",
    "tls_handshake",
    "trust_story",
]


def run(story: Story) -> None:
    core = core_story(story)
    lifecycle_story(story, core)
    trust_story(story, core)


def main(steps: Callable[[Story], None] = run) -> int:
    sweep_seconds = float(os.environ.get("CERTWRIGHT_DEMO_SWEEP_SECONDS", "5"))
    # The router prints one readable line per delivery; the functions' own JSON logs stay quiet unless asked for.
    os.environ.setdefault("CERTWRIGHT_FUNCTION_LOG_LEVEL", "WARNING")
    output.show_router_log()
    with (
        tempfile.TemporaryDirectory(prefix="certwright-demo-") as workdir,
        # Revocations wait 2 s to be batched into one CRL rebuild (30 s by default) so the story moves on.
        local_runtime(
            aws_port=0, api_port=0, sweep_seconds=sweep_seconds, parameters={"CrlBatchSeconds": "2"}
        ) as runtime,
    ):
        output.banner(runtime.api_url, runtime.endpoint, sweep_seconds, workdir)
        story = Story(Path(workdir), runtime.api_url, runtime.session)
        try:
            steps(story)
        except (KeyError, TypeError) as err:
            story.check(f"the story stopped early: an answer lacked {err}", False)
        output.closing(story.summary, story.failures)
        return 1 if story.failures else 0


if __name__ == "__main__":
    sys.exit(main())
