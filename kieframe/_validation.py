"""Validate a model input against its msgspec Struct, reporting every problem at once.

The happy path is one ``msgspec.convert`` of the whole input (plus a JSON encode, which proves the
request body can be sent). Only when that fails is the input explained (``_validation_explain``):
field by field, against the limits read back with ``msgspec.inspect``, every problem worded with
its field path (``multi_prompt[2].duration``) and its limit. The explanation is made when the error
is first read, not when it is raised; whatever the input holds (objects, bytes, lone surrogates,
1000-deep nesting, enormous integers, NaN), it ends in :class:`~kieframe.InputValidationError`.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import msgspec
import msgspec.inspect as mi

from ._errors import InputValidationError, Problem, explained_later
from ._request_body import body_encoder, body_head
from ._validation_explain import Explainer
from ._validation_types import (
    has,
    has_step,
    holds_object,
    is_nested,
    lenient_twin,
    needs_own_check,
    not_plain_json,
    sending_twin,
    struct_attributes,
    unbounded_int,
    whole_numbers,
)
from ._validation_values import (
    PLAIN_LEAVES,
    all_json,
    builtin_values,
    finite_or_none,
    ints_fit,
    plain,
    without_nulls,
)
from ._validation_walk import check_value

__all__ = ["Preparer", "Validator", "validator_for"]

R = TypeVar("R")

#: A submit's validation of an input (and its callback URL): the create to send, or None.
Preparer = Callable[[Any, "str | None"], "R | None"]

_ENCODE = msgspec.json.Encoder().encode
_asdict = msgspec.structs.asdict
_astuple = msgspec.structs.astuple
_convert = msgspec.convert
_STR_KEYS = frozenset({str}).issuperset


class Validator:
    """The validation of one input Struct type: one msgspec pass, explained only on failure.

    A refused input raises an :class:`~kieframe.InputValidationError` that keeps (a shallow copy
    of) the input and words its problems when they are first read.
    """

    __slots__ = (
        "_as_struct",
        "_checks_after",
        "_explain",
        "_explainer",
        "_flat",
        "_free_ints",
        "_lenient",
        "_node",
        "_nullable",
        "_sending",
        "_sent_free_ints",
        "_stepped",
        "_unset",
        "_whole_lists",
        "_whole_numbers",
        "input_type",
        "plain_json",
    )

    def __init__(self, input_type: type[msgspec.Struct]) -> None:
        self.input_type = input_type
        node = mi.type_info(input_type)
        assert isinstance(node, mi.StructType)
        self._node = node
        # msgspec lets NaN or infinity through a float open on a side, and has no decimal steps:
        # the fields that hold such a number are walked after msgspec passed them.
        self._checks_after = tuple(
            field.encode_name for field in node.fields if has(field.type, needs_own_check)
        )
        self._stepped = frozenset(
            field.encode_name for field in node.fields if has(field.type, has_step)
        )
        self._lenient = lenient_twin(input_type, node)
        self._explainer: Explainer | None = None
        #: What an error explained later calls: ``explain``, then the explainer's own, once built.
        self._explain: Callable[[Any], list[Problem]] = self.explain
        #: Whether a converted input holds JSON values only (no Any, bytes, dates...), so that
        #: its body encodes the same with msgspec as with the json module.
        self.plain_json = not has(node, not_plain_json, skip_root=True)
        # Without objects inside it, an input is sent as the Struct itself (no dict on the way):
        # as it is if no optional field is unset, else as its lenient twin (which leaves None
        # out). Not a Struct that encodes otherwise than as a plain object.
        config = input_type.__struct_config__
        self._as_struct = not (
            self._lenient is None
            or config.omit_defaults
            or config.array_like
            or config.tag is not None
            or has(node, holds_object, skip_root=True)
        )
        # Such an input is converted straight into what is sent, where a twin can hold it.
        self._sending = sending_twin(input_type, node) if self._as_struct else None
        # The number fields (and lists of numbers) whose whole values the Struct makes ints, by
        # the names kie.ai uses: the twin takes an int as an int, but a whole float as a float.
        names = {attribute: key for key, attribute in struct_attributes(input_type).items()}
        numbers, lists = whole_numbers(input_type)
        self._whole_numbers = tuple(names[name] for name in numbers)
        self._whole_lists = tuple(names[name] for name in lists)
        # An int without a bound takes any integer in msgspec; kie.ai takes 64 bits. The sending
        # twin bounds its own (msgspec checks them); the fields where one is left are checked.
        self._free_ints = _free_ints(node)
        sent = None if self._sending is None else mi.type_info(self._sending)
        self._sent_free_ints = _free_ints(sent) if isinstance(sent, mi.StructType) else ()
        # A Struct of plain values dumps with a shallow asdict; only nullable fields may be None.
        self._flat = not has(node, is_nested, skip_root=True) and all(
            field.name == field.encode_name for field in node.fields
        )
        self._nullable = tuple(
            field.name
            for field in node.fields
            if has(field.type, lambda n: isinstance(n, mi.NoneType | mi.AnyType))
        )
        self._unset = _any_none(self._nullable)

    def __call__(self, data: Any, *, model_id: str) -> Any:
        """Return ``data`` as the input Struct, or raise one error listing every problem.

        Values of a ``str``, ``int`` or ``float`` subclass (``numpy.str_``, a ``StrEnum``
        member...) are taken as the plain value they are.
        """
        given = data
        try:
            given = data if type(data) is dict else plain(data)
            if not (
                type(given) is dict
                and PLAIN_LEAVES.issuperset(map(type, given.values()))
                and _STR_KEYS(map(type, given))
            ):
                given = builtin_values(given)
            value = _convert(given, self.input_type)
            _ENCODE(value)  # lone surrogates pass convert but cannot be sent
        except Exception:  # a ValidationError, or msgspec choking (a lone surrogate...)
            raise self.refused(given, model_id=model_id) from None
        if self._checks_after:
            self.check_after(given, model_id=model_id)
        if self._free_ints:
            self.check_ints(given, self._free_ints, model_id=model_id)
        return value

    def preparer(
        self,
        *,
        model_id: str,
        rules: tuple[Callable[[Any], Iterable[Problem]], ...],
        record: Callable[..., R],
    ) -> Preparer[R]:
        """The submit's one pass for the inputs of one model: validate, then encode the input.

        The function it returns takes the input and the callback URL (or None), and gives the
        create to send as a ``record`` (the submit's ``Submission``, made with the keywords
        ``model``, ``validated``, ``callback_url``, ``given``: the ``input`` object or a Struct
        that :func:`msgspec.to_builtins` turns into it, ``input_json``: that object's JSON, and
        ``content``: the whole createTask body's JSON around it). It raises
        :class:`~kieframe.InputValidationError` (every problem, the ``rules``' too) if the input
        is refused. It gives None when the input is not a dict of JSON values (it may hold
        local files or unchecked fields), the Struct may hold more than JSON values, or the input
        cannot be encoded: the full way then takes it, and says why.
        """
        if not self.plain_json:
            return lambda data, callback_url: None
        convert, input_type, encode, body = (
            _convert,
            self.input_type,
            _ENCODE,
            body_encoder(model_id),
        )
        checks_after, check_after, refused = self._checks_after, self.check_after, self.refused
        check_ints, validator = self.check_ints, self
        later = explained_later
        dump, as_struct, unset, lenient = self.dump, self._as_struct, self._unset, self._lenient
        leaves_only = PLAIN_LEAVES.issuperset  # the usual flat input, told apart without a call

        free_ints = self._free_ints
        fit = _fitting(free_ints)

        def prepare(data: Any, callback_url: str | None) -> R | None:
            if type(data) is not dict:
                return None
            try:
                value = convert(data, input_type)
            except Exception:
                if leaves_only(map(type, data.values())):
                    # a dict of plain values (see refused): explained when the error is read
                    raise later(model_id, validator._explain, dict(data)) from None
                if not all_json(data) or builtin_values(data) is not data:
                    return None  # a local file, an unchecked field, a str subclass...
                raise refused(data, model_id=model_id) from None
            if checks_after:
                check_after(data, model_id=model_id)
            if fit is not None and not fit(data):
                if builtin_values(data) is not data:
                    return None  # an int subclass: the full way words it as the plain int
                check_ints(data, free_ints, model_id=model_id)
            given: Mapping[str, Any] | msgspec.Struct
            try:  # a value msgspec took but cannot send (a str subclass...): the full way
                if not as_struct:
                    given = dump(value)
                elif unset(value):  # an optional field left unset: sent without it
                    given = lenient(*_astuple(value))  # type: ignore[misc]
                else:
                    given = value
                content = encode(given)
            except Exception:
                return None
            if rules:
                problems = [problem for rule in rules for problem in rule(value)]
                if problems:
                    raise InputValidationError(model_id, problems)
            return record(
                model=model_id,
                given=given,
                validated=True,
                callback_url=callback_url,
                input_json=content,
                content=body(content, callback_url),
            )

        sending = None if rules else self._sending
        if sending is not None:  # no rule needs the input Struct: converted into what is sent
            head, join = body_head(model_id), b"".join
            numbers, lists = self._whole_numbers, self._whole_lists
            sent_free_ints = self._sent_free_ints
            sent_fit = _fitting(sent_free_ints)
            more = bool(numbers or lists or checks_after or sent_fit is not None)

            def prepare_sent(data: Any, callback_url: str | None) -> R | None:
                if type(data) is not dict:
                    return None
                try:
                    value = convert(data, sending)
                except Exception:
                    if leaves_only(map(type, data.values())):
                        raise later(model_id, validator._explain, dict(data)) from None
                    if not all_json(data) or builtin_values(data) is not data:
                        return None  # a local file, an unchecked field, a str subclass...
                    raise refused(data, model_id=model_id) from None
                if more:  # (most models have none of these: one test for them all)
                    # A whole float where the input Struct keeps whole numbers ints: its way.
                    for name in numbers:
                        number = data.get(name)
                        if type(number) is float and number.is_integer():
                            return prepare(data, callback_url)
                    for name in lists:
                        if _holds_whole_float(data.get(name)):
                            return prepare(data, callback_url)
                    if checks_after:
                        check_after(data, model_id=model_id)
                    if sent_fit is not None and not sent_fit(data):
                        if builtin_values(data) is not data:
                            return None  # an int subclass: the full way words it as the plain int
                        check_ints(data, sent_free_ints, model_id=model_id)
                try:
                    content = encode(value)
                except Exception:
                    return None
                return record(
                    model=model_id,
                    given=value,
                    validated=True,
                    callback_url=callback_url,
                    input_json=content,
                    # the usual body (no callback URL) put together here: one call less
                    content=join((head, content, b"}"))
                    if callback_url is None
                    else body(content, callback_url),
                )

            return prepare_sent

        return prepare

    def refused(self, data: Any, *, model_id: str) -> InputValidationError:
        """The error for an input msgspec refused, worded now (its owner could change a value)."""
        return InputValidationError(model_id, self._explain(data))

    def explain(self, data: Any) -> list[Problem]:
        """Every problem of ``data`` msgspec refused, each with its field path and limit."""
        return self._explaining().explain(data)

    def check_after(self, given: Mapping[str, Any], *, model_id: str) -> None:
        """Raise for what msgspec let through: NaN or infinity, a number off its decimal step.

        ``given`` is the input object msgspec just converted.
        """
        if not self._checks_after:
            return
        for name in self._checks_after:
            value = given.get(name)
            if value is not None and (name in self._stepped or not finite_or_none(value)):
                break
        else:
            return  # nothing but finite numbers where no step applies: msgspec checked them
        problems = self._explaining().walk_fields(given, self._checks_after)
        if problems:
            raise InputValidationError(model_id, problems)

    def check_ints(
        self, given: Mapping[str, Any], fields: tuple[tuple[str, mi.Type], ...], *, model_id: str
    ) -> None:
        """Raise for an integer kie.ai cannot take (past 64 bits) in ``fields`` of ``given``.

        ``given`` is the input object msgspec just converted; ``fields`` are the names and types
        of its fields that hold an int without a bound.
        """
        problems: list[Problem] = []
        for name, node in fields:
            value = given.get(name)
            if not ints_fit(value):
                check_value(node, value, name, problems)
        if problems:
            raise InputValidationError(model_id, problems)

    def _explaining(self) -> Explainer:
        """The explainer, built the first time an input is refused (two threads may build two)."""
        explainer = self._explainer
        if explainer is None:
            explainer = self._explainer = Explainer(
                self.input_type,
                self._node,
                lenient=self._lenient,
                stepped=self._stepped,
            )
            self._explain = explainer.explain
        return explainer

    def dump(self, value: msgspec.Struct) -> dict[str, Any]:
        """A validated input as the JSON object kie.ai expects, unset (None) fields left out.

        In nested objects too; a Struct of plain values is taken apart shallowly (the fast path).
        """
        if not self._flat:
            raw: dict[str, Any] = without_nulls(msgspec.to_builtins(value))
            return raw
        body: dict[str, Any] = _asdict(value)
        for name in self._nullable:
            if body[name] is None:
                del body[name]
        return body


def _holds_whole_float(values: Any) -> bool:
    """Whether ``values`` is a list or tuple holding a whole float (``8.0``)."""
    return isinstance(values, list | tuple) and any(
        type(value) is float and value.is_integer() for value in values
    )


def _free_ints(node: mi.StructType) -> tuple[tuple[str, mi.Type], ...]:
    """The fields of a Struct that hold an int without a bound, with their types."""
    return tuple(
        (field.encode_name, field.type) for field in node.fields if has(field.type, unbounded_int)
    )


def _fitting(fields: tuple[tuple[str, mi.Type], ...]) -> Callable[[Any], bool] | None:
    """A quick test that the integers in ``fields`` of an input object take 64 bits at most.

    None where there are no such fields. One field (a seed, mostly) is tested without a loop.
    """
    names = tuple(name for name, _ in fields)
    if not names:
        return None
    if len(names) > 1:
        return lambda data: all(ints_fit(data.get(name)) for name in names)
    (name,) = names

    def fits(data: Any) -> bool:
        value = data.get(name)
        return value is None or ints_fit(value)

    return fits


def _any_none(names: tuple[str, ...]) -> Callable[[Any], bool]:
    """A test of whether any of the attributes ``names`` of a Struct may be None.

    With more than two, it says yes at once: rebuilding the Struct costs less than looking.
    """
    if not names:
        return lambda value: False
    if len(names) > 2:
        return lambda value: True
    several = operator.attrgetter(*names)
    if len(names) == 1:
        return lambda value: several(value) is None
    return lambda value: None in several(value)


@functools.cache
def validator_for(input_type: type[msgspec.Struct]) -> Validator:
    """The (cached) :class:`Validator` of an input Struct type."""
    return Validator(input_type)
