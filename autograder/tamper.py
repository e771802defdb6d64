"""What a student's code does to the libraries and to the grader, read from its syntax (never asked of the process).

A cell that rebinds or patches an attribute of torch or numpy (`nn.Linear = MyLayer`,
`torch.stack = ...`, `setattr(np.random, "randn", ...)`), that reaches into the
interpreter's modules or frames (`sys.modules`, `sys._getframe`, `gc`, `inspect`,
`ctypes`), or that imports the grader is not graded differently: its points still come
only from values the grader computes. It is flagged for the instructor to look at,
with what was found. Honest cells do none of this; the assignment's own cells are not
read here.
"""
import ast

LIBRARIES = ("torch", "numpy")  # whose attributes student code may use but not change
GRADER = "autograder"
INTROSPECTION = {"gc", "inspect", "ctypes"}  # modules that reach other code's objects and frames
FRAME_ATTRIBUTES = {"_getframe", "f_back", "f_globals", "f_locals", "tb_frame", "gi_frame", "cr_frame",
                    "__closure__", "__globals__", "__code__"}
MAX_FINDINGS = 5


def _aliases(nodes: "list[ast.AST]") -> "dict[str, str]":
    """Names bound to a library or to the grader by the cell's imports (np -> numpy, nn -> torch.nn)."""
    names = {"np": "numpy", "torch": "torch", "nn": "torch.nn", "F": "torch.nn.functional", "sys": "sys"}
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else \
                    alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _root(node: ast.AST) -> "ast.Name | None":
    """The name an attribute or subscript chain starts from: `nn` in nn.Linear.forward, `sys` in sys.modules[k]."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node if isinstance(node, ast.Name) else None


def _dotted(node: ast.AST, aliases: "dict[str, str]") -> str:
    parts = []
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        parts.append(node.attr if isinstance(node, ast.Attribute) else "[...]")
        node = node.value
    root = aliases.get(node.id, node.id) if isinstance(node, ast.Name) else "?"
    return ".".join([root, *reversed(parts)]).replace(".[", "[")


SETTINGS = ("torch.backends.",)  # switches a student may set (cudnn.benchmark): not the library's code


def _library(name: str) -> bool:
    return name.split(".")[0] in (*LIBRARIES, GRADER)


def _chain_names(node: ast.AST) -> "set[str]":
    """The names an attribute or subscript target is reached through (its slices aside): `torch` in
    getattr(torch, "nn").X, in [torch][0].X, in (t := torch).X; `H` alone in H[torch.arange(3)]."""
    if isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        return _chain_names(node.value)
    if isinstance(node, ast.Name):
        return {node.id}
    if isinstance(node, ast.NamedExpr):
        return _chain_names(node.value) | {node.target.id}
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


DYNAMIC = {"exec", "eval", "compile", "globals", "locals", "vars", "__import__"}
DYNAMIC_ATTRIBUTES = {"getattr", "setattr", "delattr"}


def findings(source: str) -> "list[str]":
    """What the Python `source` (a cell, as IPython transformed it) does to torch, numpy or the grader, in
    Portuguese for the instructor; empty for honest code and for code that does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    nodes = list(ast.walk(tree))  # (walked once: the passes below read it five times)
    aliases, found = _aliases(nodes), []

    def library(names: "set[str]") -> bool:
        return any(_library(aliases.get(name, "")) for name in names)

    # Names bound to a library by assignment (m = torch.nn, m = getattr(torch, "nn"), for m in [torch]).
    kinds = (ast.Assign, ast.NamedExpr, ast.For, ast.comprehension)
    binders: "list[ast.AST]" = [n for n in nodes if isinstance(n, kinds)]
    for _ in range(3):  # an alias of an alias
        for node in binders:
            value, targets = None, []
            if isinstance(node, ast.Assign):
                value, targets = node.value, node.targets
            elif isinstance(node, ast.NamedExpr):
                value, targets = node.value, [node.target]
            elif isinstance(node, (ast.For, ast.comprehension)):
                value, targets = node.iter, [node.target]
            if value is None:
                continue
            bound = (isinstance(value, (ast.Name, ast.Attribute)) and library(_chain_names(value))) or \
                (isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "getattr"
                 and bool(value.args) and library(_chain_names(value.args[0]))) or \
                (isinstance(value, (ast.List, ast.Tuple, ast.Set)) and library(_chain_names(value)))
            for target in targets:
                if bound and isinstance(target, ast.Name) and target.id not in aliases:
                    aliases[target.id] = _dotted(value, aliases) if isinstance(value, (ast.Name, ast.Attribute)) \
                        else next(aliases[n] for n in _chain_names(value) if _library(aliases.get(n, "")))

    def changed(target: ast.AST) -> None:
        root = _root(target)
        if root is not None and target is not root and _library(aliases.get(root.id, "")):
            dotted = _dotted(target, aliases)
            if not dotted.startswith(SETTINGS):
                found.append(f"altera {dotted}")
        elif root is None and library(_chain_names(target)):
            found.append("altera um atributo de torch ou numpy por um caminho indireto")

    for node in nodes:
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                for element in ast.walk(target):
                    if isinstance(element, (ast.Attribute, ast.Subscript)) and isinstance(element.ctx,
                                                                                          (ast.Store, ast.Del)):
                        changed(element)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = node.func.id
            if name in DYNAMIC:
                found.append(f"usa {name}()")
            elif name in DYNAMIC_ATTRIBUTES and node.args:
                attr = node.args[1] if len(node.args) > 1 else None
                if name != "getattr" and library(_chain_names(node.args[0])):
                    found.append(f"altera {_dotted(node.args[0], aliases)} com {name}")
                elif any(aliases.get(n) == "sys" for n in _chain_names(node.args[0])):
                    found.append(f"usa {name} em sys")
                elif not isinstance(attr, ast.Constant) or str(attr.value) in FRAME_ATTRIBUTES \
                        or str(attr.value).startswith("__"):
                    found.append(f"usa {name} com um nome calculado ou interno")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr in ("__setattr__", "__delattr__", "import_module", "update", "setdefault") and \
                (node.func.attr in ("__setattr__", "__delattr__", "import_module")
                 or library(_chain_names(node.func.value))):
            found.append(f"usa .{node.func.attr}()")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
                if module.split(".")[0] in (GRADER, "builtins", "importlib", *INTROSPECTION):
                    found.append(f"importa {module}")
        elif isinstance(node, ast.Attribute):
            if node.attr in FRAME_ATTRIBUTES:
                found.append(f"usa .{node.attr}")
            elif node.attr == "modules" and isinstance(node.value, ast.Name) and aliases.get(node.value.id) == "sys":
                found.append("usa sys.modules")
            elif node.attr == "__dict__" and library(_chain_names(node.value)):
                found.append(f"usa {_dotted(node, aliases)}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in FRAME_ATTRIBUTES:
            found.append(f"usa o nome {node.value} num texto")
    return list(dict.fromkeys(found))[:MAX_FINDINGS]
