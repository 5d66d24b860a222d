"""A look at the submitted source, outside every sandbox (nothing of it is run here).

Two things are read from the cells a student wrote (answer cells and cells they added):

* copies of minikeras's kernels: each cell is compiled (not executed) and every code object
  in it is compared *by contents* with the library's (:func:`guard.code_key`), so pasted or
  re-typed library source is recognised even under another name. Such a function fails
  the task it is graded for;
* attempts on the grader: interpreter hooks (input transformers, ``set_custom_exc``,
  trace functions), reaching into other frames or code objects, the gradebook, the
  file system above the working folder, processes, sockets. These never change a grade
  (the grade does not depend on the student's interpreter), but they flag the submission
  for review in the gradebook and the CSV.
"""
import ast
import re

from . import guard

TAMPER_ATTRIBUTES = {
    "set_custom_exc": "replaces IPython's exception handler",
    "input_transformers_post": "installs an IPython input transformer",
    "input_transformers_cleanup": "installs an IPython input transformer",
    "ast_transformers": "installs an IPython AST transformer",
    "register": None,  # only with events (checked below)
    "settrace": "installs a trace function",
    "setprofile": "installs a profile function",
    "__code__": "reads or replaces a function's code object",
    "f_globals": "reaches into another frame",
    "f_back": "reaches into another frame",
    "f_locals": "reaches into another frame",
    "meta_path": "changes the import system",
    "get_referrers": "walks the garbage collector",
    "get_objects": "walks the garbage collector",
    "_exit": "ends the process",
    "kill": "sends signals to processes",
    "killpg": "sends signals to processes",
    "fork": "starts processes",
    "setrlimit": "changes resource limits",
}
TAMPER_MODULES = {
    "sqlite3": "opens a database", "ctypes": "calls C functions directly", "socket": "opens network sockets",
    "subprocess": "runs other programs", "multiprocessing": "starts processes", "signal": "handles signals",
    "urllib": "reaches the network", "http": "reaches the network", "requests": "reaches the network",
    "importlib": "imports by computed name", "gc": "walks the garbage collector", "inspect": "inspects the grader",
    "shutil": "copies or removes files", "builtins": "changes the builtins",
    **{name: "imports a deep-learning library other than minikeras" for name in ("keras", "torch", "tensorflow", "jax")},
}
STUDENT_FACING = ("plug", "data")  # the parts of minikeras.grading a notebook may use
TAMPER_TEXT = [
    (re.compile(r"gradebook|nbgrader_config|solutions/|\.\./\.\.|/proc/|autograded|submitted/|"
                r"MINIKERAS_JUDGE_DIR|/judge\b"), "refers to the grader's files"),
    (re.compile(r"minikeras\.grading\.(?!plug\b|data\b)\w+"), "reaches into the grader (minikeras.grading)"),
    (re.compile(r"\bos\.(system|popen|exec\w*|spawn\w*)\b"), "runs other programs"),
    (re.compile(r"\bget_ipython\b"), "uses the IPython shell"),
    (re.compile(r"\b_student_kernel\b"), "forges the kind of a plugged layer (minikeras.grading.plug)"),
]


def python_source(cell_source):
    """The cell as plain Python (IPython magics turned into calls); None if it does not parse."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        source = TransformerManager().transform_cell(cell_source)
    except Exception:  # noqa: BLE001
        source = cell_source
    try:
        ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return source


def _code_objects(code):
    stack = [code]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(c for c in current.co_consts if hasattr(c, "co_code"))


def library_copies(source):
    """[(name of the student's function, library function it copies)] in one cell."""
    try:
        code = compile(source, "<student cell>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    found = []
    keys = guard.library_code_keys()
    for obj in _code_objects(code):
        if obj is code:
            continue
        if guard._long_enough(obj) and guard.code_key(obj) in keys:
            found.append((obj.co_name, keys[guard.code_key(obj)]))
    return found


def defined_names(source):
    """The names a cell binds at its top level (functions, classes, assignments, imports)."""
    python = python_source(source)
    if python is None:
        return set()
    names = set()
    for node in ast.parse(python).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def tamper_signs(source, original=None):
    """Sentences describing what in ``source`` (``original``: the cell as written, before
    IPython's syntax was translated) looks like an attempt on the grader."""
    signs = set()
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            why = TAMPER_ATTRIBUTES.get(node.attr)
            if node.attr == "register" and isinstance(node.value, ast.Attribute) and node.value.attr == "events":
                why = "registers an IPython event callback"
            if why:
                signs.add(why)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            if isinstance(node, ast.ImportFrom) and node.module == "minikeras.grading" and \
                    any(a.name not in STUDENT_FACING for a in node.names):
                signs.add("reaches into the grader (minikeras.grading)")
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                why = TAMPER_MODULES.get(name.split(".")[0])
                if why:
                    signs.add(why)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in (
                "__import__", "exec", "eval", "compile", "globals", "breakpoint"):
            signs.add(f"calls {node.func.id}()")
        elif isinstance(node, ast.Name) and node.id == "__builtins__":
            signs.add("changes the builtins")
    for pattern, why in TAMPER_TEXT:
        if pattern.search(original if original is not None else source):
            signs.add(why)
    return sorted(signs)


def scan(cells):
    """``cells``: [(label, source)] of the student's code. Returns (copies, signs) where
    copies = [(label, student function, library function)], signs = [(label, sentence)]."""
    copies, signs = [], []
    for label, source in cells:
        python = python_source(source)
        if python is None:
            continue
        copies += [(label, mine, theirs) for mine, theirs in library_copies(python)]
        signs += [(label, why) for why in tamper_signs(python, source)]
    return copies, signs
