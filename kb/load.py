"""Reading YAML files safely, keeping where every value came from.

PyYAML happily accepts things that hurt in a knowledge base: a key written twice (the second silently wins),
anchors and aliases (a few lines can expand to billions of values), dates turned into date objects, and files of
any size or encoding. This loader refuses those with a `Problem` pointing at the line, and can later say where
any value sits (`LoadedEntry.locate`) so that validation errors point at the right line and column.

Example:

    >>> entry = load_text("id: x\\ncitation:\\n  year: 2025\\n", "x.yaml")
    >>> entry.data["citation"]["year"], entry.locate(("citation", "year"))
    (2025, (3, 9))
"""

from __future__ import annotations

import contextlib
import gc
import os
import stat
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kb.problems import ERROR, Problem, ProblemError, display_path

MAX_FILE_BYTES = 512 * 1024
MAX_DEPTH = 20  # a record's deepest value sits five levels down; far deeper nesting is an attack or a slip
TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _DuplicateKey(yaml.MarkedYAMLError):
    pass


class _AliasUsed(yaml.MarkedYAMLError):
    pass


class _Unusual(Exception):
    """A node the fast path does not build (a custom tag, a merge key, a non-text key): build it the long way."""


STR_TAG, MAP_TAG, SEQ_TAG = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
PLAIN_SCALAR_TAGS = tuple(f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float"))


def _joined(resolvers: dict, wildcard: tuple) -> dict:
    return {first: tuple(found) + wildcard for first, found in resolvers.items()}


class EntryLoader(_BaseLoader):
    """PyYAML's safe loader (C-accelerated when available) that keeps dates as text and refuses
    duplicate keys and aliases.

    Loading is most of what `kb validate` costs, so plain documents (text, numbers, true/false, null, mappings and
    lists: every real entry) take a fast path, `_build`; it gives the same data and the same first error as
    PyYAML's generic constructor, which still handles everything else."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != TIMESTAMP_TAG]
        for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
    }
    # resolve() below is BaseResolver.resolve for a loader without path resolvers, with the lists joined once
    _wildcard = tuple(yaml_implicit_resolvers.get(None, []))
    _resolvers_by_first = _joined(yaml_implicit_resolvers, _wildcard)
    _scalar_constructors = {tag: _BaseLoader.yaml_constructors[tag] for tag in PLAIN_SCALAR_TAGS}

    def resolve(self, kind, value, implicit):
        if self.yaml_path_resolvers:
            return super().resolve(kind, value, implicit)
        if kind is yaml.ScalarNode:
            if implicit[0]:
                for tag, regexp in self._resolvers_by_first.get(value[:1], self._wildcard):
                    if regexp.match(value):
                        return tag
            return STR_TAG
        return MAP_TAG if kind is yaml.MappingNode else SEQ_TAG

    def construct_document(self, node):
        try:
            return self._build(node)
        except _Unusual:
            return super().construct_document(node)

    def _build(self, root):
        """The document's data, breadth first like PyYAML (so the first alias or duplicate key found is the same)."""
        seen: set = set()
        pending: deque = deque()
        data = self._start(root, seen, pending)
        while pending:
            node, target = pending.popleft()
            if node.__class__ is yaml.MappingNode:
                self._refuse_duplicate_keys(node)
                for key_node, value_node in node.value:
                    if key_node.__class__ is not yaml.ScalarNode:
                        raise _Unusual
                    key = self._start(key_node, seen, pending)
                    target[key] = self._start(value_node, seen, pending)
            else:
                for child in node.value:
                    target.append(self._start(child, seen, pending))
        return data

    def _start(self, node, seen: set, pending: deque):
        """A scalar's value, or an empty container that `_build` fills in later."""
        if node in seen:
            raise _AliasUsed(problem="alias", problem_mark=node.start_mark)
        seen.add(node)
        kind, tag = node.__class__, node.tag
        if kind is yaml.ScalarNode:
            if tag == STR_TAG:
                return node.value
            constructor = self._scalar_constructors.get(tag)
            if constructor is None:
                raise _Unusual
            return constructor(self, node)
        if kind is yaml.MappingNode and tag == MAP_TAG:
            container = {}
        elif kind is yaml.SequenceNode and tag == SEQ_TAG:
            container = []
        else:
            raise _Unusual
        pending.append((node, container))
        return container

    def _refuse_duplicate_keys(self, node) -> None:
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    first = seen[key_node.value]
                    raise _DuplicateKey(
                        problem=f"duplicate key '{key_node.value}' (first written on line {first.line + 1})",
                        problem_mark=key_node.start_mark,
                    )
                seen[key_node.value] = key_node.start_mark

    def construct_object(self, node, deep=False):
        if node in self.constructed_objects or node in self.recursive_objects:
            raise _AliasUsed(problem="alias", problem_mark=node.start_mark)
        return super().construct_object(node, deep=deep)

    def construct_mapping(self, node, deep=False):
        self._refuse_duplicate_keys(node)
        return super().construct_mapping(node, deep=deep)


@dataclass
class LoadedEntry:
    """A parsed YAML file: its plain data, and the text to find positions in when a problem needs one."""

    path: str
    text: str
    data: Any
    _root: Any = field(default=None, repr=False)

    def locate(self, keys: tuple = (), at_key: bool = False) -> tuple[int, int]:
        """1-based (line, column) of the value at `keys`, or of the nearest ancestor that exists.

        With `at_key`, the position of the last key itself (where an unknown key was typed)."""
        node = self._root_node()
        position = _mark(node)
        for key in keys:
            child = _child(node, key)
            if child is None:
                break
            key_node, node = child
            position = _mark(key_node if key_node is not None and (at_key or _is_block(node)) else node)
        return position

    def _root_node(self):
        if self._root is None:
            self._root = yaml.compose(self.text, Loader=EntryLoader)
        return self._root


def _is_block(node) -> bool:
    """A block list or mapping starts on the line after its key; people look for the key."""
    return isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and not node.flow_style


def _mark(node) -> tuple[int, int]:
    if node is None:
        return (1, 1)
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _child(node, key):
    """(key node, value node) of `key` in a mapping node, or (None, item) of index `key` in a sequence node."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(key):
                return key_node, value_node
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        return None, node.value[key]
    return None


@contextlib.contextmanager
def gc_paused(collect_after: bool = False, keep_after: bool = False):
    """Switch off Python's cycle collector while a whole knowledge base is loaded and checked (`keep_after`: what
    was made is kept), or while a chunk of pages is rendered (`collect_after`: then collect once, at the end).

    Every entry stays in memory until the run ends, so each automatic collection would walk all the entries read
    so far, and the total work would grow with the square of their number. Parsed YAML (aliases are refused) and
    the records built from it hold no reference cycles, so nothing is left uncollected meanwhile; with
    `keep_after` they are exempted from the collector (`gc.freeze`) before it is switched back on, or its first
    pass would walk every one of them. Rendering makes thousands of short-lived objects per page, and a
    collection every few hundred of them took a fifth of the rendering time; the few cycles Jinja leaves are
    freed by the one collection at the end."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if keep_after:
                gc.freeze()
            gc.enable()
            if collect_after:
                gc.collect(0)  # the objects made since the pause began: this chunk's pages


@contextlib.contextmanager
def gc_frozen():
    """Exempt everything loaded so far (the studies and their links) from the cycle collector's scans.

    Rendering makes short-lived garbage, some of it in cycles (Jinja's), so the collector must run; frozen, the
    thousands of long-lived records are not walked again at each collection, and worker processes forked
    meanwhile (kb.parallel) share their memory instead of copying it as the collector touches it."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def load_entry(path: Path | str) -> LoadedEntry:
    """Read and parse one YAML file; raises `ProblemError` with a precise position when it cannot.

    Only a regular file is read, and never more than MAX_FILE_BYTES of it: a symbolic link (which could publish
    a file from outside the knowledge base), a folder, a device such as /dev/zero or a pipe is refused."""
    shown = display_path(path)
    try:
        raw = _read_regular_file(Path(path), shown)
    except OSError as error:
        raise ProblemError(Problem(shown, 1, 1, ERROR, f"cannot read file: {error.strerror or error}")) from None
    return load_text(_decode(raw, shown), shown)


def _read_regular_file(path: Path, shown: str) -> bytes:
    def refuse(message: str, hint: str) -> ProblemError:
        return ProblemError(Problem(shown, 1, 1, ERROR, message, hint))

    if path.is_symlink():
        raise refuse("is a symbolic link", "copy the file into the knowledge base instead of linking to it")
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise refuse("is not a regular file (a folder, device or pipe)", "entries are YAML files")
    with os.fdopen(descriptor, "rb") as file:
        raw = file.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise refuse(f"file is larger than {MAX_FILE_BYTES:,} bytes", "an entry is a few kilobytes; split or trim it")
    return raw


def _decode(raw: bytes, shown: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = raw[: error.start]
        line = before.count(b"\n") + 1
        col = len(before.rsplit(b"\n", 1)[-1].decode("utf-8", errors="replace")) + 1
        message = f"file is not UTF-8: byte 0x{raw[error.start]:02x} cannot be decoded"
        hint = "save the file as UTF-8 in your editor"
        raise ProblemError(Problem(shown, line, col, ERROR, message, hint)) from None


def load_text(text: str, shown: str) -> LoadedEntry:
    """Parse YAML text that came from `shown` (the path used in messages)."""
    try:
        data = yaml.load(text, Loader=EntryLoader)  # noqa: S506 - EntryLoader is a SafeLoader
    except _AliasUsed:
        raise ProblemError(_alias_problem(text, shown)) from None
    except yaml.MarkedYAMLError as error:
        raise ProblemError(_yaml_problem(error, text, shown)) from None
    except yaml.reader.ReaderError as error:
        raise ProblemError(_character_problem(error, text, shown)) from None
    except yaml.YAMLError as error:
        message = " ".join(f"YAML error: {error}".split())
        raise ProblemError(Problem(shown, 1, 1, ERROR, message)) from None
    except RecursionError:
        raise ProblemError(Problem(shown, 1, 1, ERROR, "values are nested too deeply to be an entry")) from None
    loaded = LoadedEntry(path=shown, text=text, data=data)
    too_deep = _path_deeper_than(data, MAX_DEPTH)
    if too_deep is not None:
        line, col = loaded.locate(too_deep)
        message = f"values are nested more than {MAX_DEPTH} levels deep"
        raise ProblemError(Problem(shown, line, col, ERROR, message, "no field of an entry nests this deep"))
    return loaded


def _path_deeper_than(data: Any, limit: int) -> tuple | None:
    """The keys leading to the first list or mapping nested deeper than `limit` (iteratively: no recursion)."""
    stack = [(data, ())]
    while stack:
        value, keys = stack.pop()
        if len(keys) > limit:
            return keys
        if isinstance(value, dict):
            stack.extend((item, (*keys, key)) for key, item in value.items() if isinstance(item, (dict, list)))
        elif isinstance(value, list):
            stack.extend((item, (*keys, index)) for index, item in enumerate(value) if isinstance(item, (dict, list)))
    return None


_HINTS = {
    "mapping values are not allowed": "put quotes around a value that contains ': '",
    "could not find expected ':'": "each line needs 'key: value'; check this line and the one above",
    "found undefined alias": "anchors and aliases are not allowed in entries",
    "expected a single document": "an entry is one YAML document; remove the extra '---'",
    "could not determine a constructor": "custom YAML tags (!!python/..., !tag) are not allowed",
    "end of stream": "a quote or bracket is opened and never closed",
}


def _yaml_problem(error: yaml.MarkedYAMLError, text: str, shown: str) -> Problem:
    mark = error.problem_mark or error.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = error.problem or "invalid YAML"
    if isinstance(error, _DuplicateKey):
        return Problem(shown, line, col, ERROR, problem, "remove one of them or merge their values")
    message = f"YAML syntax error: {problem}"
    if error.context:
        message += f" ({error.context}"
        if error.context_mark and error.context_mark.line != (mark.line if mark else -1):
            message += f" started on line {error.context_mark.line + 1}"
        message += ")"
    return Problem(shown, line, col, ERROR, message, _hint(message, text, line))


def _hint(message: str, text: str, line: int) -> str | None:
    lines = text.split("\n")[:line]
    if any("\t" in row for row in lines[-2:]):
        return "indent with spaces, not tabs"
    unclosed = _unclosed_quote(lines)
    if unclosed:
        return f"the quote opened on line {unclosed} is never closed"
    return next((hint for needle, hint in _HINTS.items() if needle in message), None)


def _unclosed_quote(lines: list[str]) -> int | None:
    """The last line before the error with an odd number of double quotes: a likely unclosed string."""
    for number in range(len(lines), max(len(lines) - 20, 0), -1):
        row = lines[number - 1].replace('\\"', "")
        if row.lstrip().startswith("#"):
            continue
        if row.count('"') % 2 == 1:
            return number
    return None


def _character_problem(error: yaml.reader.ReaderError, text: str, shown: str) -> Problem:
    """A control character (NUL, BEL, ...) that YAML does not allow, at its line and column."""
    before = text[: error.position]
    line = before.count("\n") + 1
    col = len(before.rsplit("\n", 1)[-1]) + 1
    code = error.character if isinstance(error.character, int) else ord(str(error.character)[:1] or "\0")
    message = f"control character U+{code:04X} is not allowed in YAML"
    return Problem(shown, line, col, ERROR, message, "delete it; it is often pasted in invisibly from a PDF")


def _alias_problem(text: str, shown: str) -> Problem:
    """Point at the first alias (`*name`), which is where the contributor reused a value."""
    mark = None
    try:
        for event in yaml.parse(text, Loader=EntryLoader):
            if isinstance(event, yaml.AliasEvent):
                mark = event.start_mark
                break
    except yaml.YAMLError:
        pass
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    return Problem(
        shown,
        line,
        col,
        ERROR,
        "YAML anchors and aliases (&name, *name) are not allowed in entries",
        "write the value out in full",
    )
