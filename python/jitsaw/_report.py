"""``jitsaw.report(path)``: one self-contained HTML page showing how each
line of each file that ran was executed.

Each source line gets one of these classes, from the profiles jitsaw
records with ``JITSAW_PROFILE=1`` (``python -m jitsaw --report`` sets it):

- ``deopted``: ran in compiled code, but left it (deopt) or fell back to an
  instruction's generic form often (at least 10 times and 5 % of its runs);
- ``jitted``: ran in compiled code;
- ``specialized``: ran in the interpreter, which specialized some of its
  instructions (CPython's adaptive interpreter);
- ``interpreted``: ran in the interpreter without specialization (known for
  instructions with an inline cache, whose counter moves when they run);
- no class: did not run, or left no trace (lines of plain loads and stores
  in code that never compiled).

Hovering a line shows its instructions, the micro-ops they were compiled
to, and the counts. A table lists the hottest functions.
"""

import html
import linecache
import os
import sys
import time

# Exits at a line that make it "deopted often": at least this many...
DEOPTED_MIN = 10
# ...and at least this share of its compiled runs.
DEOPTED_SHARE = 0.05

CLASSES = {
    "jitted": ("jitted", "#b7e4b0"),
    "deopted": ("deopted often", "#f7b6a8"),
    "specialized": ("specialized by CPython", "#bcd7f5"),
    "interpreted": ("interpreted", "#f3e3a2"),
}

CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.5em; }
table.hot { border-collapse: collapse; font-size: 0.9em; }
table.hot td, table.hot th { border: 1px solid #ccc; padding: 2px 8px; text-align: right; }
table.hot td.name, table.hot th.name { text-align: left; font-family: monospace; }
.legend span { padding: 2px 8px; margin-right: 6px; border-radius: 3px; }
details { margin: 0.6em 0; } summary { cursor: pointer; font-family: monospace; }
pre.src { margin: 0.3em 0; font-size: 0.85em; line-height: 1.35; }
pre.src div { white-space: pre; }
pre.src .ln { display: inline-block; width: 5ch; color: #888; text-align: right;
              margin-right: 1.5ch; user-select: none; }
pre.src .n { display: inline-block; width: 9ch; color: #555; text-align: right;
             margin-right: 1.5ch; user-select: none; }
""" + "".join(f"pre.src div.{c}, .legend .{c} {{ background: {color}; }}\n"
              for c, (_, color) in CLASSES.items())


class Line:
    """What is known about one source line."""

    __slots__ = ("runs", "generic", "deopts", "raises", "ran", "specialized", "insts")

    def __init__(self):
        self.runs = self.generic = self.deopts = self.raises = 0
        self.ran = self.specialized = False
        self.insts = []

    def add(self, inst):
        _, _, opname, ran, specialized, runs, generic, deopts, raises, uops = inst
        self.runs = max(self.runs, runs + generic)
        self.generic += generic
        self.deopts += deopts
        self.raises += raises
        self.ran |= ran
        self.specialized |= specialized
        self.insts.append((opname, uops, runs, generic, deopts, raises))

    def kind(self):
        exits = self.deopts + self.generic
        if exits >= DEOPTED_MIN and exits >= DEOPTED_SHARE * max(self.runs, 1):
            return "deopted"
        if self.runs:
            return "jitted"
        if self.specialized:
            return "specialized"
        if self.ran:
            return "interpreted"
        return None

    def details(self, kind):
        lines = [CLASSES[kind][0]]
        if self.runs:
            lines[0] += f": ran {self.runs} times in compiled code"
        if self.deopts:
            lines.append(f"deopts (left for the interpreter): {self.deopts}")
        if self.generic:
            lines.append(f"generic fallbacks (a guard failed): {self.generic}")
        if self.raises:
            lines.append(f"exceptions raised in compiled code: {self.raises}")
        for opname, uops, runs, generic, deopts, raises in self.insts[:16]:
            text = opname or "(instrumented)"
            if uops:
                text += " \u2192 " + uops
            counts = [f"{n} {what}" for n, what in ((runs, "runs"), (generic, "generic"),
                                                    (deopts, "deopts"), (raises, "raises")) if n]
            if counts:
                text += "  [" + ", ".join(counts) + "]"
            lines.append(text)
        if len(self.insts) > 16:
            lines.append(f"... {len(self.insts) - 16} more instructions")
        return "\n".join(lines)


def _stdlib_dirs():
    import sysconfig

    paths = sysconfig.get_paths()
    return tuple({os.path.realpath(paths[k]) + os.sep for k in ("stdlib", "platstdlib", "purelib", "platlib")
                  if k in paths})


def build(profiles, argv=None):
    """The report's HTML text for ``_jitsaw.profiles()`` data."""
    files = {}
    for p in profiles:
        lines = files.setdefault(p["filename"], {})
        for inst in p["instructions"]:
            line = inst[1]
            if line is not None:
                lines.setdefault(line, Line()).add(inst)
    library = _stdlib_dirs()

    def is_library(filename):
        return os.path.realpath(filename).startswith(library)

    shown = [f for f in files if linecache.getlines(f)]
    shown.sort(key=lambda f: (is_library(f), f))
    anchors = {f: f"file{i}" for i, f in enumerate(shown)}

    out = []
    w = out.append
    w("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>")
    w("<title>jitsaw report</title><style>" + CSS + "</style></head><body>")
    w("<h1>jitsaw report</h1>")
    program = " ".join(argv if argv is not None else getattr(sys, "argv", []) or [])
    w(f"<p>Program: <code>{html.escape(program)}</code> &middot; "
      f"{html.escape(time.strftime('%Y-%m-%d %H:%M:%S'))} &middot; "
      f"Python {html.escape(sys.version.split()[0])}</p>")
    w("<p class='legend'>" + "".join(f"<span class='{c}'>{html.escape(label)}</span>"
                                     for c, (label, _) in CLASSES.items())
      + "<span>not run / no trace</span></p>")

    total_runs = sum(i[5] + i[6] for p in profiles for i in p["instructions"])
    compiled = sum(1 for p in profiles if p["compiles"])
    w(f"<p>{len(profiles)} code objects ran, {compiled} were compiled; "
      f"{total_runs} instructions ran in compiled code.</p>")

    w("<h2>Hottest functions</h2>")
    w("<table class='hot'><tr><th class='name'>function</th><th class='name'>where</th>"
      "<th>calls</th><th>compiled</th><th>instructions run compiled</th>"
      "<th>deopts</th><th>generic fallbacks</th><th>raises</th><th>code bytes</th></tr>")

    def heat(p):
        return (sum(i[5] + i[6] for i in p["instructions"]), p["calls"])

    for p in sorted(profiles, key=heat, reverse=True)[:15]:
        runs = sum(i[5] + i[6] for i in p["instructions"])
        deopts = sum(i[7] for i in p["instructions"])
        generic = sum(i[6] for i in p["instructions"])
        raises = sum(i[8] for i in p["instructions"])
        where = f"{os.path.basename(p['filename'])}:{p['firstlineno']}"
        if p["filename"] in anchors:
            where = f"<a href='#{anchors[p['filename']]}-L{p['firstlineno']}'>{html.escape(where)}</a>"
        else:
            where = html.escape(where)
        compiles = f"{p['compiles']}&times;" if p["compiles"] else "no"
        w(f"<tr><td class='name'>{html.escape(p['qualname'])}</td><td class='name'>{where}</td>"
          f"<td>{p['calls']}</td><td>{compiles}</td><td>{runs}</td><td>{deopts}</td>"
          f"<td>{generic}</td><td>{raises}</td><td>{p['code_bytes']}</td></tr>")
    w("</table>")

    w("<h2>Source</h2>")
    for f in shown:
        lines = files[f]
        counts = {}
        for entry in lines.values():
            kind = entry.kind()
            counts[kind] = counts.get(kind, 0) + 1
        summary = ", ".join(f"{counts[c]} {CLASSES[c][0]}" for c in CLASSES if counts.get(c))
        opened = "" if is_library(f) else " open"
        w(f"<details id='{anchors[f]}'{opened}><summary>{html.escape(f)}"
          f" <small>({html.escape(summary or 'no trace')})</small></summary>")
        # No whitespace between the lines: inside <pre> it would show.
        source = []
        for number, text in enumerate(linecache.getlines(f), 1):
            entry = lines.get(number)
            kind = entry.kind() if entry else None
            attrs = f" id='{anchors[f]}-L{number}'"
            runs = ""
            if kind:
                attrs += f" class='{kind}' title='{html.escape(entry.details(kind), quote=True)}'"
                if entry.runs:
                    runs = str(entry.runs)
            source.append(f"<div{attrs}><span class='ln'>{number}</span><span class='n'>{runs}</span>"
                          f"{html.escape(text.rstrip(chr(10)))}</div>")
        w("<pre class='src'>" + "".join(source) + "</pre></details>")
    w("</body></html>\n")
    return "\n".join(out)
