"""The core distribution must not pull in Qt or napari."""

import subprocess
import sys


def test_import_mibgkit_pulls_in_no_gui():
    code = (
        "import sys, mibgkit, mibgkit.io, mibgkit.scoring, mibgkit.segments, mibgkit.cli;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('napari','PyQt5','PyQt6','PySide2','PySide6','qtpy','vispy')];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_cli_help_runs():
    out = subprocess.run([sys.executable, "-m", "mibgkit", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    assert "mibgkit" in out.stdout


def test_cli_parser_loads_no_heavy_packages():
    """``mibgkit --help`` builds every subparser without pydicom, numpy-heavy stacks or pandas."""
    code = (
        "import sys, mibgkit.cli; mibgkit.cli.build_parser();"
        "bad = [m for m in ('pydicom', 'SimpleITK', 'skimage', 'pandas', 'matplotlib', 'highdicom', 'dask')"
        " if m in sys.modules]; print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
