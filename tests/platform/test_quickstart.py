"""README.md's quickstart, run verbatim, so that it cannot drift from what runs.

The `sh` blocks of the Quickstart section run in order in one bash (they share variables, as in
the newcomer's terminal), against a server started here with `make serve`'s defaults (SQLite,
the offline model, mail to the outbox). The only change made to them: the README's address,
127.0.0.1:8000, becomes the free port the server listens on (AGENTDECK_PUBLIC_URL names it too,
so the mailed link points there). The first block, `make serve`, is that server.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.harness import ROOT, free_port, start_server

README = ROOT / "README.md"
ADDRESS = "127.0.0.1:8000"
MARK = "::quickstart step {}::"
TIMEOUT_SECONDS = 240  # the whole walk-through; it takes about 10 s


def quickstart_blocks(readme: str) -> list[str]:
    section = readme.split("\n## Quickstart\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```sh\n(.*?)^```\n", section, flags=re.S | re.M)


def script(blocks: list[str], port: int) -> str:
    lines = ["set -euo pipefail"]
    for number, block in enumerate(blocks, 1):
        lines += [f"printf '\\n{MARK.format(number)}\\n'", block.replace(ADDRESS, f"127.0.0.1:{port}")]
    lines.append(f"printf '\\n{MARK.format('done')}\\n'")
    return "\n".join(lines)


def test_the_quickstart_is_found_and_names_one_address():
    blocks = quickstart_blocks(README.read_text())
    assert blocks[0] == "make serve\n", "the first block starts the server (the test's stands in for it)"
    assert len(blocks) >= 10
    for block in blocks:
        others = set(re.findall(r"(?:127\.0\.0\.1|localhost):\d+", block)) - {ADDRESS}
        assert not others, f"only {ADDRESS} is replaced by the test's address: {others}"


def test_the_quickstart_runs_verbatim(tmp_path):
    blocks = quickstart_blocks(README.read_text())[1:]  # without `make serve`
    # The blocks run in a copy of the checkout's top level: `.venv` is this interpreter's
    # environment, README.md is uploaded by the vector-store step.
    work = tmp_path / "checkout"
    work.mkdir()
    (work / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    assert (work / ".venv" / "bin" / "agentdeck").exists(), "run the tests from the environment `make install` makes"
    shutil.copy(README, work / "README.md")

    port = free_port()
    (tmp_path / "server").mkdir()
    server = start_server(
        tmp_path / "server",
        port=port,
        env={
            "AGENTDECK_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "AGENTDECK_LOG_LEVEL": "info",  # as `make serve`: the mail and the ready lines are printed
        },
    )
    try:
        # server.env: the same settings (database, var dir) as the server, as in a newcomer's checkout.
        done = subprocess.run(
            ["bash", "-c", script(blocks, port)],
            cwd=work,
            env=server.env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
        )
        log = server.log()
    finally:
        server.stop()

    steps = dict(re.findall(r"::quickstart step (\w+)::\n(.*?)(?=\n::quickstart step |\Z)", done.stdout, re.S))
    reached = [name for name in steps if name != "done"]
    assert done.returncode == 0 and "done" in steps, (
        f"step {reached[-1] if reached else '?'} failed (exit {done.returncode}):\n"
        f"--- its block:\n{blocks[int(reached[-1]) - 1] if reached else ''}\n"
        f"--- stdout:\n{done.stdout[-3000:]}\n--- stderr:\n{done.stderr[-3000:]}"
    )
    for name, output in steps.items():
        assert '"errors":' not in output and '"success":false' not in output, (name, output)
    out = done.stdout
    # What each step is there to show.
    assert '"tenant_slug":"ada-labs-' in out and '"email_verified":false' in out  # registered
    assert "<h1>Email verified</h1>" in out  # the mailed link, followed
    assert '"response":"[offline model] You said: Hello! What can you do?"' in out  # chat
    assert '"kind":"message.delta"' in out and '"kind":"final"' in out  # SSE
    assert '"me":{"email":"ada@example.com","tenant":{"name":"Ada Labs"' in out and '"emailVerified":true' in out
    assert '"response":"[offline model] You said: Hello over GraphQL"' in out  # GraphQL mutation
    assert '"messageCount":2},"userErrors":[]' in out  # ...its payload: the conversation, no user errors
    assert "[offline model] You said: Stream me a reply over a WebSocket" in out  # subscription
    assert "[FinalEvent]" in out
    assert '"workflow_key":"analysis_code"' in out and '"final_output":' in out  # workflow
    assert '"status":"completed"' in out and '"filename":"README.md"' in out and '"score":' in out  # search
    # What the README says the `make serve` terminal shows.
    assert "agentdeck is ready" in log and f"GraphiQL (GraphQL IDE)   http://127.0.0.1:{port}/graphql" in log
    assert f"to ada@example.com: open http://127.0.0.1:{port}/verify-email?token=" in log
