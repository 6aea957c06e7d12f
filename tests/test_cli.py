import json
import subprocess
import sys

from mediaopt.cli import main


def test_info_json(capsys):
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["compiled"] is True


def test_python_dash_m_runs_the_cli():
    out = subprocess.run(
        [sys.executable, "-m", "mediaopt", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("mediaopt ")
