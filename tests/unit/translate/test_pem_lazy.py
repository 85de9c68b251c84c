"""The X.509 stack (`cryptography`, ~8 MiB resident) is loaded only once a certificate is
checked: `serve` with a configuration without TLS never pays for it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

QUICKSTART = Path(__file__).parents[3] / "examples" / "quickstart" / "gateway.yaml"

_PROGRAM = """
import sys
import hatchway.cli.serve, hatchway.runtime.engine, hatchway.runtime.serve
from hatchway import xds
from hatchway.sources.files import load_paths
from hatchway.translate import translate

result = translate(load_paths([sys.argv[1]]).snapshot)
assert result.ir.listeners, "the quickstart serves something"
xds.validate(xds.build(result.ir))
print("cryptography" in sys.modules)
from hatchway.translate.pem import check_ca_bundle
assert check_ca_bundle(b"not a certificate") is not None
print("cryptography" in sys.modules)
"""


def test_plain_http_never_imports_the_x509_stack() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _PROGRAM, str(QUICKSTART)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stdout.split() == ["False", "True"]
