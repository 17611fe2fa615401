"""Qlik licence-rule conditions: the grammar, its parser and the frozen syntax tree.

Grammar (precedence ``!`` over ``and`` over ``or``, as Qlik documents: "NOT is evaluated first,
then AND, and finally OR" --
https://help.qlik.com/en-US/sense/April2018/Subsystems/ManagementConsole/Content/Sense_QMC/operators-and-functions-for-conditions.htm)::

    condition  := [ or ]                      empty: the rule applies to every user
    or         := and { "or" and }
    and        := not { "and" not }
    not        := "!" not | primary
    primary    := "(" or ")" | comparison
    comparison := operand [ op operand ]      without op, the operand must be a function call
    op         := "=" | "==" | "!=" | "!==" | "like" | "matches"
    operand    := string | path [ "(" [ operand { "," operand } ] ")" ]
    path       := name { "." [ "@" ] name }   user.group, user.@Dept, resource.stream.HasPrivilege

What the sources say, and what remains an assumption:

- Operators ``=`` and ``!=`` are case-insensitive, ``==`` and ``!==`` case-sensitive, and a
  comparison with a list property holds when a value in the list matches ("The full list does not
  have to match"): help.qlik.com/en-us/sense/2.2/Subsystems/ManagementConsole/Content/
  operator-equal.htm, operator-not-equal.htm, operator-strict-equal.htm,
  operator-strict-not-equal.htm. (So ``==`` is valid; ``===`` is not.)
- NOT is written ``!`` (operator-not.htm shows ``!(EXPRESSION)``); the preinstalled rules also write
  ``!`` directly before a comparison. No Qlik source shows a ``not`` keyword: it is refused.
- ``like`` and ``matches`` take a static string on the right; property values cannot be patterns
  (Qlik support, community.qlik.com/t5/Management-Governance/QSEoW-Security-rules-Use-of-matches-
  like-with-user-attributes/td-p/2539293).
- The same thread says Qlik wants ``and``, ``or``, ``like`` and ``matches`` in lower case. This
  parser accepts any case (licsync compares case-insensitively) and records a :class:`Caveat`
  so the loader can warn before QRS sees it.
- An empty condition makes the rule apply to all users ("you can leave the Conditions field
  empty"): help.qlik.com/en-us/sense/2.0/Subsystems/ManagementConsole/Content/
  rules-conditions-advanced-view.htm.
- QRS stores the condition in ``SystemRule.rule``, at most 2048 characters (QRS OpenAPI spec);
  longer text is refused before parsing, and nesting is bounded so no input reaches Python's
  recursion limit.
- Strings are in double quotes. Qlik's own documentation writes ``\\\\w`` inside ``matches``
  patterns, so a backslash escapes ``"`` and ``\\``; any other backslash is kept as written.
  Assumptions: single-quoted strings are refused (no Qlik example uses them); the comparison
  operators are exactly the six above (``<``, ``>``, ``<>`` are refused); custom property and
  attribute names consist of letters, digits and ``_``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from licsync.errors import RuleSyntaxError
from licsync.rules.patterns import LikePattern, RegexPattern, compile_like, compile_regex
from licsync.rules.properties import Source, resolve

__all__ = [
    "MAX_DEPTH",
    "MAX_LENGTH",
    "Always",
    "And",
    "Call",
    "Caveat",
    "Compare",
    "Condition",
    "Literal",
    "Node",
    "Not",
    "Op",
    "Operand",
    "Or",
    "Predicate",
    "Property",
    "parse_condition",
]

MAX_LENGTH = 2048
"""QRS ``SystemRule.rule`` maxLength."""

MAX_DEPTH = 64
"""Deepest nesting of parentheses, ``!`` and call arguments accepted (the QMC writes 2 or 3)."""


class Op(enum.Enum):
    """A comparison operator."""

    EQ = "="
    STRICT_EQ = "=="
    NE = "!="
    STRICT_NE = "!=="
    LIKE = "like"
    MATCHES = "matches"


@dataclass(frozen=True, slots=True)
class Literal:
    """A double-quoted string, escapes resolved; ``offset`` is where its opening quote is."""

    value: str
    offset: int


@dataclass(frozen=True, slots=True)
class Property:
    """A property path such as ``user.group`` or ``user.@Dept``, segments as written.

    Attributes:
        path: the dot-separated segments, ``@`` kept on custom property names.
        source: where a user's values come from; None when unknowable ahead of login.
    """

    path: tuple[str, ...]
    offset: int
    source: Source | None = field(default=None, compare=False)

    @property
    def text(self) -> str:
        """The path as written, e.g. ``user.@Dept``."""
        return ".".join(self.path)


@dataclass(frozen=True, slots=True)
class Call:
    """A function call such as ``resource.HasPrivilege("read")``: never knowable ahead of login."""

    path: tuple[str, ...]
    args: tuple[Operand, ...]
    offset: int

    @property
    def text(self) -> str:
        """The call with its function name and ``(...)``, e.g. ``user.IsAnonymous()``."""
        return ".".join(self.path) + ("(...)" if self.args else "()")


Operand = Literal | Property | Call


@dataclass(frozen=True, slots=True)
class Compare:
    """``left op right``; ``offset`` is where the operator is.

    Attributes:
        pattern: the compiled right-hand pattern of ``like`` / ``matches``, None otherwise.
    """

    left: Operand
    op: Op
    right: Operand
    offset: int
    pattern: LikePattern | RegexPattern | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Predicate:
    """A function call used as a whole condition, e.g. ``resource.stream.HasPrivilege("read")``."""

    call: Call


@dataclass(frozen=True, slots=True)
class Not:
    """``!operand``."""

    operand: Node
    offset: int


@dataclass(frozen=True, slots=True)
class And:
    """Two or more conditions joined by ``and``."""

    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """Two or more conditions joined by ``or``."""

    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Always:
    """The empty condition: Qlik applies such a rule to every user."""


Node = Compare | Predicate | Not | And | Or | Always


@dataclass(frozen=True, slots=True, order=True)
class Caveat:
    """Something that parses but may not mean in Qlik what it seems to; for a loader warning."""

    offset: int
    message: str


@dataclass(frozen=True, slots=True)
class Condition:
    """A parsed licence-rule condition.

    Attributes:
        text: the condition exactly as given.
        root: the syntax tree (parentheses dropped: they only group).
        unknowable: operands that cannot be known before login, as written, in order of first
            appearance (``user.environment.browser``, ``resource.name``, ``user.IsAnonymous()``).
        caveats: warnings about valid but doubtful constructs, in text order.
    """

    text: str
    root: Node
    unknowable: tuple[str, ...] = ()
    caveats: tuple[Caveat, ...] = ()

    @property
    def references_unknowable(self) -> bool:
        """Whether some operand can only be known at login (so verdicts may be UNKNOWN)."""
        return bool(self.unknowable)

    @property
    def applies_to_all(self) -> bool:
        """Whether the condition is empty, which makes Qlik apply the rule to every user."""
        return isinstance(self.root, Always)


def parse_condition(text: str) -> Condition:
    """Parse a licence-rule condition.

    Raises:
        RuleSyntaxError: with the reason and the 0-based offset of the problem.
    """
    if len(text) > MAX_LENGTH:
        raise RuleSyntaxError(
            f"condition is {len(text)} characters long; QRS accepts at most {MAX_LENGTH}",
            offset=MAX_LENGTH,
        )
    tokens, caveats = _tokenize(text)
    parser = _Parser(tokens, caveats)
    root = parser.parse()
    return Condition(
        text=text,
        root=root,
        unknowable=tuple(dict.fromkeys(parser.unknowable)),
        caveats=tuple(sorted(parser.caveats)),
    )


# --- tokens ------------------------------------------------------------------------------------


class _Kind(enum.Enum):
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","
    NOT = "!"
    OP = "op"
    KEYWORD = "keyword"
    STRING = "string"
    PATH = "path"
    END = "end"


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _Kind
    text: str  # as written (for messages)
    offset: int
    value: str = ""  # string contents, lower-cased keyword, or operator
    parts: tuple[str, ...] = ()  # path segments


_KEYWORDS = frozenset({"and", "or", "like", "matches"})
_OPERATOR_CHARS = frozenset("=!<>&|~")
_OPERATORS = frozenset({"=", "==", "!=", "!=="})
_WHITESPACE = frozenset(" \t\r\n\f\v")
_OPERATOR_HINTS = {
    "===": "write '==' (case-sensitive) or '=' (case-insensitive)",
    "!===": "write '!==' (case-sensitive) or '!=' (case-insensitive)",
    "<>": "write '!='",
    "&&": "write 'and'",
    "&": "write 'and'",
    "||": "write 'or'",
    "|": "write 'or'",
    "=~": "write 'like' or 'matches'",
    "!~": "write !(... matches ...)",
}
_DEFAULT_OPERATOR_HINT = "conditions compare with =, ==, !=, !==, like and matches"


def _is_name_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _tokenize(text: str) -> tuple[list[_Token], list[Caveat]]:
    tokens: list[_Token] = []
    caveats: list[Caveat] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in _WHITESPACE or (ch > "\x7f" and ch.isspace()):
            i += 1
        elif ch == "(":
            tokens.append(_Token(_Kind.LPAREN, ch, i))
            i += 1
        elif ch == ")":
            tokens.append(_Token(_Kind.RPAREN, ch, i))
            i += 1
        elif ch == ",":
            tokens.append(_Token(_Kind.COMMA, ch, i))
            i += 1
        elif ch == '"':
            i = _string(text, i, tokens)
        elif ch in _OPERATOR_CHARS:
            i = _operator(text, i, tokens)
        elif _is_name_char(ch):
            i = _path(text, i, tokens, caveats)
        else:
            raise RuleSyntaxError(_unexpected(ch), offset=i)
    tokens.append(_Token(_Kind.END, "", n))
    return tokens, caveats


def _unexpected(ch: str) -> str:
    if ch == "\x00":
        return "NUL character (U+0000) is not allowed in a condition"
    if ch == "'":
        return "strings are written in double quotes, not single quotes"
    if ch == ".":
        return "unexpected '.': a property path starts with user. or resource."
    if ch.isprintable():
        return f"unexpected character '{ch}'"
    return f"unexpected non-printing character U+{ord(ch):04X}"


def _string(text: str, start: int, tokens: list[_Token]) -> int:
    chars: list[str] = []
    i, n = start + 1, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            tokens.append(_Token(_Kind.STRING, text[start : i + 1], start, value="".join(chars)))
            return i + 1
        if ch == "\x00":
            raise RuleSyntaxError(_unexpected(ch), offset=i)
        if ch == "\\" and i + 1 < n and text[i + 1] in '"\\':
            chars.append(text[i + 1])
            i += 2
            continue
        chars.append(ch)
        i += 1
    raise RuleSyntaxError("unterminated string: the closing '\"' is missing", offset=start)


def _operator(text: str, start: int, tokens: list[_Token]) -> int:
    end = start
    while end < len(text) and text[end] in _OPERATOR_CHARS:
        end += 1
    run = text[start:end]
    if run in _OPERATORS:
        tokens.append(_Token(_Kind.OP, run, start, value=run))
    elif set(run) == {"!"}:
        # `!!x` is two NOTs; each `!` is its own token so nesting is counted.
        tokens.extend(_Token(_Kind.NOT, "!", start + k) for k in range(len(run)))
    else:
        hint = _OPERATOR_HINTS.get(run, _DEFAULT_OPERATOR_HINT)
        raise RuleSyntaxError(f"unknown operator '{run}': {hint}", offset=start)
    return end


def _path(text: str, start: int, tokens: list[_Token], caveats: list[Caveat]) -> int:
    parts: list[str] = []
    i, n = start, len(text)
    while True:
        segment_start = i
        if parts and i < n and text[i] == "@":
            i += 1
        name_start = i
        while i < n and _is_name_char(text[i]):
            i += 1
        if i == name_start:
            after = "'@'" if name_start > segment_start else "'.'"
            raise RuleSyntaxError(f"expected a property name after {after}", offset=i)
        parts.append(text[segment_start:i])
        if i < n and text[i] == ".":
            i += 1
            continue
        break
    written = text[start:i]
    folded = written.casefold()
    if len(parts) == 1 and folded in _KEYWORDS:
        if written != folded:
            caveats.append(
                Caveat(
                    start, f"Qlik expects lower-case operators: write '{folded}', not '{written}'"
                )
            )
        tokens.append(_Token(_Kind.KEYWORD, written, start, value=folded))
    elif len(parts) == 1 and folded == "not":
        raise RuleSyntaxError(
            "unknown operator 'not': Qlik writes NOT as '!', e.g. !(user.group = \"X\")",
            offset=start,
        )
    else:
        tokens.append(_Token(_Kind.PATH, written, start, parts=tuple(parts)))
    return i


# --- parser ------------------------------------------------------------------------------------

_OPS_BY_KEYWORD = {"like": Op.LIKE, "matches": Op.MATCHES}


def _describe(token: _Token) -> str:
    if token.kind is _Kind.END:
        return "the end of the condition"
    if token.kind is _Kind.STRING:
        shown = token.value if len(token.value) <= 24 else token.value[:24] + "..."
        return f'the string "{shown}"'
    return f"'{token.text}'"


class _Parser:
    """Recursive descent over the token list; depth bounded by ``MAX_DEPTH``."""

    def __init__(self, tokens: list[_Token], caveats: list[Caveat]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0
        self.caveats = caveats
        self.unknowable: list[str] = []

    @property
    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def advance(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def is_keyword(self, word: str) -> bool:
        token = self.peek
        return token.kind is _Kind.KEYWORD and token.value == word

    def enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise RuleSyntaxError(
                f"condition nests deeper than {MAX_DEPTH} levels of parentheses and '!'",
                offset=token.offset,
            )

    def leave(self) -> None:
        self.depth -= 1

    def parse(self) -> Node:
        if self.peek.kind is _Kind.END:
            return Always()
        node = self.disjunction(after=None)
        token = self.peek
        if token.kind is _Kind.RPAREN:
            raise RuleSyntaxError(
                "unbalanced parenthesis: ')' has no matching '('", offset=token.offset
            )
        if token.kind is not _Kind.END:
            raise RuleSyntaxError(
                f"expected 'and' or 'or' between conditions, found {_describe(token)}",
                offset=token.offset,
            )
        return node

    def disjunction(self, after: str | None) -> Node:
        operands = [self.conjunction(after)]
        while self.is_keyword("or"):
            operands.append(self.conjunction(f"'{self.advance().text}'"))
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def conjunction(self, after: str | None) -> Node:
        operands = [self.negation(after)]
        while self.is_keyword("and"):
            operands.append(self.negation(f"'{self.advance().text}'"))
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def negation(self, after: str | None) -> Node:
        token = self.peek
        if token.kind is not _Kind.NOT:
            return self.primary(after)
        self.advance()
        self.enter(token)
        operand = self.negation("'!'")
        self.leave()
        return Not(operand, token.offset)

    def primary(self, after: str | None) -> Node:
        token = self.peek
        if token.kind is _Kind.LPAREN:
            self.advance()
            self.enter(token)
            if self.peek.kind is _Kind.RPAREN:
                raise RuleSyntaxError(
                    "empty parentheses: expected a condition inside", offset=self.peek.offset
                )
            node = self.disjunction(after="'('")
            closing = self.peek
            if closing.kind is _Kind.END:
                raise RuleSyntaxError(
                    "unbalanced parenthesis: '(' is never closed", offset=token.offset
                )
            if closing.kind is not _Kind.RPAREN:
                raise RuleSyntaxError(
                    f"expected 'and', 'or' or ')', found {_describe(closing)}",
                    offset=closing.offset,
                )
            self.advance()
            self.leave()
            return node
        if token.kind in (_Kind.STRING, _Kind.PATH):
            return self.comparison()
        where = f" after {after}" if after else ""
        if token.kind is _Kind.END:
            raise RuleSyntaxError(f"expected a condition{where}", offset=token.offset)
        if token.kind is _Kind.RPAREN and after is None:
            raise RuleSyntaxError(
                "unbalanced parenthesis: ')' has no matching '('", offset=token.offset
            )
        raise RuleSyntaxError(
            f"expected a condition{where}, found {_describe(token)}", offset=token.offset
        )

    def comparison(self) -> Node:
        left = self.operand(after=None)
        token = self.peek
        op: Op | None = None
        if token.kind is _Kind.OP:
            op = Op(token.value)
        elif token.kind is _Kind.KEYWORD and token.value in _OPS_BY_KEYWORD:
            op = _OPS_BY_KEYWORD[token.value]
        if op is None:
            if isinstance(left, Call):
                return Predicate(left)
            what = "a string" if isinstance(left, Literal) else f"'{left.text}'"
            raise RuleSyntaxError(
                f"{what} on its own is not a condition: expected an operator such as '=' or "
                f"'like' after it, found {_describe(token)}",
                offset=token.offset,
            )
        self.advance()
        if op in (Op.LIKE, Op.MATCHES):
            right = self.peek
            if right.kind is not _Kind.STRING:
                raise RuleSyntaxError(
                    f"expected a string after '{token.text}'", offset=right.offset
                )
            self.advance()
            literal = Literal(right.value, right.offset)
            if op is Op.LIKE:
                pattern: LikePattern | RegexPattern = compile_like(literal.value)
                if "?" in literal.value:
                    self.caveats.append(
                        Caveat(
                            right.offset,
                            "Qlik documents only '*' as a 'like' wildcard; whether '?' is one is "
                            "unknown, so users it would decide are reported as unknown",
                        )
                    )
            else:
                pattern = compile_regex(literal.value, offset=right.offset)
            return Compare(left, op, literal, token.offset, pattern)
        right_operand = self.operand(after=f"'{token.text}'")
        if op in (Op.NE, Op.STRICT_NE):
            self.note_not_equal(left, right_operand, token)
        return Compare(left, op, right_operand, token.offset)

    def note_not_equal(self, left: Operand, right: Operand, token: _Token) -> None:
        for side in (left, right):
            if isinstance(side, Property) and side.source and side.source.multi_valued:
                self.caveats.append(
                    Caveat(
                        token.offset,
                        f"'{token.text}' on {side.text}, which can hold several values: Qlik may "
                        f"hold it true when any one value differs, so a user with several values "
                        f"is reported as unknown; write !({side.text} = ...) to mean 'has no "
                        f"such value'",
                    )
                )
                return

    def operand(self, after: str | None) -> Operand:
        token = self.peek
        if token.kind is _Kind.STRING:
            self.advance()
            return Literal(token.value, token.offset)
        if token.kind is not _Kind.PATH:
            where = f" after {after}" if after else ""
            raise RuleSyntaxError(
                f"expected a property or a string{where}, found {_describe(token)}",
                offset=token.offset,
            )
        self.advance()
        if self.peek.kind is _Kind.LPAREN:
            return self.call(token)
        source = resolve(token.parts)
        if source is None:
            self.unknowable.append(token.text)
            root = token.parts[0].casefold()
            if root not in ("user", "resource"):
                self.caveats.append(
                    Caveat(
                        token.offset,
                        f"'{token.text}' is neither a user nor a resource property; licsync "
                        f"treats it as unknown",
                    )
                )
        return Property(token.parts, token.offset, source)

    def call(self, name: _Token) -> Call:
        opening = self.advance()
        self.enter(opening)
        args: list[Operand] = []
        if self.peek.kind is not _Kind.RPAREN:
            while True:
                if self.peek.kind is _Kind.END:
                    raise RuleSyntaxError(
                        "unbalanced parenthesis: '(' is never closed", offset=opening.offset
                    )
                args.append(self.operand(after=None))
                token = self.peek
                if token.kind is _Kind.COMMA:
                    self.advance()
                    continue
                if token.kind is _Kind.RPAREN:
                    break
                if token.kind is _Kind.END:
                    raise RuleSyntaxError(
                        "unbalanced parenthesis: '(' is never closed", offset=opening.offset
                    )
                raise RuleSyntaxError(
                    f"expected ',' or ')' in the arguments of '{name.text}', found "
                    f"{_describe(token)}",
                    offset=token.offset,
                )
        self.advance()
        self.leave()
        call = Call(name.parts, tuple(args), name.offset)
        self.unknowable.append(call.text)
        return call
