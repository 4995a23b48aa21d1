"""``jitsaw.report()`` / ``python -m jitsaw --report``: the HTML page, its
line classes and hover details, checked in the file and as Chromium renders
it."""

import re
import shutil
import subprocess
import sys

import pytest

from conftest import base_env

PY = sys.executable

PROGRAM = '''\
def hot(n):
    total = 0
    for i in range(n):
        total += i * 2
    return total


def once(x):
    y = x + 1
    return y


def twice(x):
    y = x + 1
    return y


def poly(a, b):
    return a + b


def fails(n):
    try:
        return 1 // n
    except ZeroDivisionError:
        return 0


print(hot(100000))
print(once(1))
print(twice(1), twice(2))
for k in range(300):
    poly(k, 1)
    poly(str(k), "x")
    poly(1.5, k)
print(sum(fails(k % 3) for k in range(100)))
'''

LINE = re.compile(
    r"<div id='file0-L(\d+)'(?: class='(\w+)' title='([^']*)')?><span class='ln'>\d+</span>"
    r"<span class='n'>(\d*)</span>"
)


def run(args, **env):
    return subprocess.run([PY, *args], capture_output=True, text=True, env=base_env(**env), timeout=120)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    (d / "prog.py").write_text(PROGRAM)
    out = d / "out.html"
    r = run(["-m", "jitsaw", "--report", str(out), str(d / "prog.py")], JITSAW_THRESHOLD="2")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "9999900000\n2\n2 3\n33\n"
    return out


def lines_of(page):
    return {int(m[1]): (m[2], m[3], m[4]) for m in LINE.finditer(page)}


def test_line_classes_and_details(report):
    lines = lines_of(report.read_text())
    kind = {n: v[0] for n, v in lines.items()}
    # The loop ran compiled, with its micro-ops on hover: all its 100 000
    # turns but the first few hundred, which the interpreter ran until the
    # long first call was entered at the loop in compiled code (`hook::osr`).
    # How many is a matter of time (the wait is about as long as compiling
    # is estimated to take): 1 500 with two busy loops beside the test.
    assert kind[4] == "jitted" and 90_000 <= int(lines[4][2]) <= 100_000
    runs = re.search(r"\nBINARY_OP\w* → [^\n]*_BINARY_OP_\w*MULTIPLY\w*[^\n]*  \[(\d+) runs\]", lines[4][1])
    assert runs and runs[1] == lines[4][2]
    # Called once: interpreted, not specialized; twice: specialized.
    assert kind[9] == "interpreted" and "BINARY_OP\n" in lines[9][1] + "\n"
    assert kind[14] == "specialized" and "BINARY_OP_ADD_INT" in lines[14][1]
    # A polymorphic add keeps failing its guard.
    assert kind[19] == "deopted" and "generic fallbacks" in lines[19][1]
    # Exceptions raised in compiled code are counted where they happen.
    assert kind[24] == "jitted" and "exceptions raised in compiled code: 3" in lines[24][1]
    # Blank lines and never-run code carry no class.
    assert kind[6] is None and kind[7] is None


def test_hottest_functions_table(report):
    page = report.read_text()
    table = page[page.index("<table class='hot'>"):page.index("</table>")]
    rows = re.findall(r"<tr><td class='name'>([^<]*)</td>", table)
    assert rows[0] == "hot"
    assert "poly" in rows and "&lt;module&gt;" in rows


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_renders_in_chromium(report):
    r = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", report.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    dom = r.stdout
    assert "<h1>jitsaw report</h1>" in dom
    # The browser parsed every line with its class and hover text.
    rendered = re.findall(r'<div id="file0-L(\d+)" class="(\w+)" title="([^"]*)"', dom)
    kinds = {int(n): k for n, k, _ in rendered}
    assert kinds[4] == "jitted" and kinds[14] == "specialized" and kinds[19] == "deopted"
    assert any("MULTIPLY" in t and "→" in t for _, _, t in rendered)


def test_report_api_needs_profiles(tmp_path):
    r = run(["-c", "import jitsaw; jitsaw.enable(); jitsaw.report('x.html')"])
    assert r.returncode == 1 and "JITSAW_PROFILE=1" in r.stderr
    out = tmp_path / "api.html"
    code = (
        "import jitsaw; jitsaw.enable()\n"
        "def f(n):\n"
        "    return sum(i for i in range(n))\n"
        "f(1000)\n"
        f"print(jitsaw.report({str(out)!r}))\n"
    )
    r = run(["-c", code], JITSAW_PROFILE="1")
    assert r.returncode == 0, r.stderr
    assert "jitsaw report" in out.read_text()
    r = run(["-c", "import jitsaw; jitsaw.report(3)"], JITSAW_PROFILE="1")
    assert "TypeError" in r.stderr and "file path" in r.stderr


def test_report_errors():
    r = run(["-m", "jitsaw", "--report"])
    assert r.returncode == 2 and "--report needs a file name" in r.stderr
    r = run(["-c", "pass"], JITSAW="1", JITSAW_PROFILE="yes")
    assert r.returncode == 2 and "JITSAW_PROFILE must be 1" in r.stderr
