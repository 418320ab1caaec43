from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Never, NoReturn, Optional, TypeVar, Union

import pytest

from engine.typecheck import (
    flatten,
    is_any,
    is_compatible,
    is_nothing,
    matches,
    specificity,
    type_name,
)

T = TypeVar("T")


class Animal:
    pass


class Dog(Animal):
    pass


class Puppy(Dog):
    pass


# --- matches: can this value be handled by a handler declared for this type? ---


@pytest.mark.parametrize("tp", [Any, object])
@pytest.mark.parametrize("value", [1, "text", None, [1, "a"], Dog()])
def test_matches_accepts_every_value_for_any_and_object(value: object, tp: object) -> None:
    assert matches(value, tp)


def test_matches_accepts_a_subclass_instance_for_its_base() -> None:
    assert matches(Dog(), Animal)
    assert matches(Puppy(), Animal)


def test_matches_refuses_a_base_instance_for_a_subclass() -> None:
    assert not matches(Animal(), Dog)


def test_matches_accepts_a_value_matching_any_union_member() -> None:
    assert matches(1, int | str)
    assert matches("a", int | str)
    assert matches("a", Union[int, str])  # noqa: UP007 - the typing spelling must work too


def test_matches_refuses_a_value_matching_no_union_member() -> None:
    assert not matches(b"a", int | str)
    assert not matches(1.5, int | str)


def test_matches_accepts_none_only_through_an_optional() -> None:
    assert matches(None, int | None)
    assert not matches(None, int)


def test_matches_checks_the_elements_of_a_parameterized_list() -> None:
    assert matches([1, 2, 3], list[int])
    assert not matches(["a", "b"], list[int])
    assert matches(["a", "b"], list[str])
    assert not matches([1, "a"], list[int])


def test_matches_accepts_an_empty_list_for_any_element_type() -> None:
    assert matches([], list[int])
    assert matches([], list[str])


def test_matches_accepts_any_list_for_a_bare_list() -> None:
    assert matches([1, "a", None], list)


def test_matches_refuses_a_different_container_with_the_same_elements() -> None:
    assert not matches((1, 2), list[int])
    assert not matches([1, 2], tuple[int, ...])


def test_matches_checks_nested_element_types() -> None:
    assert matches([[1, 2], [3]], list[list[int]])
    assert not matches([[1], ["a"]], list[list[int]])


def test_matches_checks_union_elements_of_a_list() -> None:
    assert matches([1, "a"], list[int | str])
    assert not matches([1, b"a"], list[int | str])


def test_matches_checks_set_elements() -> None:
    assert matches({1, 2}, set[int])
    assert not matches({1, "a"}, set[int])


def test_matches_checks_dict_keys_and_values() -> None:
    assert matches({"a": 1, "b": 2}, dict[str, int])
    assert not matches({1: 1}, dict[str, int])
    assert not matches({"a": "x"}, dict[str, int])
    assert matches({}, dict[str, int])


def test_matches_checks_each_position_of_a_fixed_tuple() -> None:
    assert matches((1, "a"), tuple[int, str])
    assert not matches(("a", 1), tuple[int, str])


def test_matches_refuses_a_fixed_tuple_of_the_wrong_length() -> None:
    assert not matches((1,), tuple[int, str])
    assert not matches((1, "a", "b"), tuple[int, str])


def test_matches_checks_every_element_of_a_variadic_tuple() -> None:
    assert matches((1, 2, 3), tuple[int, ...])
    assert matches((), tuple[int, ...])
    assert not matches((1, "a"), tuple[int, ...])


def test_matches_compares_literal_values() -> None:
    assert matches("go", Literal["go", "stop"])
    assert not matches("wait", Literal["go", "stop"])


def test_matches_treats_bool_as_an_int_but_not_the_reverse() -> None:
    assert matches(True, int)
    assert not matches(1, bool)


# --- is_compatible: can something declared as S ever be accepted by something declared as T? ---


@pytest.mark.parametrize("tp", [Any, object])
@pytest.mark.parametrize("other", [int, list[str], Dog, int | str])
def test_is_compatible_always_holds_for_any_and_object(tp: object, other: object) -> None:
    assert is_compatible(other, tp)
    assert is_compatible(tp, other)


def test_is_compatible_holds_for_the_same_class() -> None:
    assert is_compatible(int, int)
    assert is_compatible(Dog, Dog)


def test_is_compatible_sends_a_subclass_to_its_base() -> None:
    assert is_compatible(Dog, Animal)
    assert is_compatible(Puppy, Animal)
    assert is_compatible(bool, int)


def test_is_compatible_refuses_a_base_for_a_subclass() -> None:
    assert not is_compatible(Animal, Dog)
    assert not is_compatible(int, bool)


def test_is_compatible_refuses_unrelated_classes() -> None:
    assert not is_compatible(int, str)
    assert not is_compatible(Dog, int)


def test_is_compatible_holds_when_some_source_union_member_is_accepted() -> None:
    assert is_compatible(int | str, str)
    assert is_compatible(Union[bytes, Dog], Animal)  # noqa: UP007 - the typing spelling must work too


def test_is_compatible_holds_when_the_source_fits_some_target_union_member() -> None:
    assert is_compatible(str, int | str)
    assert is_compatible(Dog, int | Animal)
    assert is_compatible(int, Optional[int])  # noqa: UP045 - the typing spelling must work too


def test_is_compatible_refuses_unions_with_no_compatible_pair() -> None:
    assert not is_compatible(int | str, bytes)
    assert not is_compatible(bytes, int | str)
    assert not is_compatible(int | str, bytes | Dog)


def test_is_compatible_checks_list_element_types() -> None:
    assert is_compatible(list[int], list[int])
    assert is_compatible(list[Dog], list[Animal])
    assert not is_compatible(list[int], list[str])
    assert not is_compatible(list[Animal], list[Dog])


def test_is_compatible_accepts_a_bare_list_in_either_direction() -> None:
    assert is_compatible(list, list[int])
    assert is_compatible(list[int], list)


def test_is_compatible_refuses_a_different_container() -> None:
    assert not is_compatible(list[int], set[int])
    assert not is_compatible(tuple[int, ...], list[int])
    assert not is_compatible(list[int], int)


def test_is_compatible_accepts_a_list_for_an_abstract_sequence() -> None:
    assert is_compatible(list[int], Sequence[int])
    assert not is_compatible(list[int], Sequence[str])


def test_is_compatible_checks_dict_key_and_value_types() -> None:
    assert is_compatible(dict[str, int], dict[str, object])
    assert is_compatible(dict[str, Dog], dict[str, Animal])
    assert not is_compatible(dict[str, int], dict[int, int])
    assert not is_compatible(dict[str, int], dict[str, str])


def test_is_compatible_checks_fixed_tuple_positions() -> None:
    assert is_compatible(tuple[int, str], tuple[int, str])
    assert not is_compatible(tuple[int, str], tuple[int, int])


def test_is_compatible_refuses_a_fixed_tuple_for_a_variadic_tuple_of_another_element() -> None:
    # The `str` in a `tuple[int, str]` is never accepted by a `tuple[int, ...]` handler.
    assert not matches((1, "a"), tuple[int, ...])
    assert not is_compatible(tuple[int, str], tuple[int, ...])
    assert is_compatible(tuple[int, int], tuple[int, ...])


def test_is_compatible_refuses_a_variadic_tuple_for_a_fixed_tuple_needing_another_element() -> None:
    # A `tuple[int, ...]` never holds the `str` that a `tuple[int, str]` handler needs.
    assert not is_compatible(tuple[int, ...], tuple[int, str])
    assert is_compatible(tuple[int, ...], tuple[int, int])


def test_is_compatible_checks_nested_generics() -> None:
    assert is_compatible(list[list[int]], list[list[int]])
    assert not is_compatible(list[list[int]], list[list[str]])


def test_is_compatible_checks_literal_values_against_the_target() -> None:
    assert is_compatible(Literal["a", "b"], str)
    assert not is_compatible(Literal[1, 2], str)


def test_is_compatible_does_not_reject_what_it_cannot_check() -> None:
    assert is_compatible(T, int)
    assert is_compatible(int, T)


# --- specificity: rank of a handler type for a payload class (lower is closer) ---


def test_specificity_ranks_the_exact_class_first() -> None:
    assert specificity(Dog, Dog) == 0


def test_specificity_ranks_a_closer_base_lower_than_a_farther_one() -> None:
    assert specificity(Puppy, Puppy) < specificity(Puppy, Dog) < specificity(Puppy, Animal)


@pytest.mark.parametrize("catch_all", [Any, object])
def test_specificity_ranks_any_and_object_after_every_real_base(catch_all: object) -> None:
    assert specificity(Puppy, Animal) < specificity(Puppy, catch_all)


def test_specificity_ranks_a_non_matching_type_after_any() -> None:
    assert specificity(Dog, Any) < specificity(Dog, int)
    assert specificity(Dog, int) > len(Dog.__mro__)


def test_specificity_uses_the_best_member_of_a_union() -> None:
    assert specificity(Puppy, int | Dog) == specificity(Puppy, Dog)
    assert specificity(Puppy, Animal | Puppy) == 0


def test_specificity_ranks_a_generic_by_its_origin() -> None:
    assert specificity(list, list[int]) == 0
    assert specificity(bool, int) == 1


# --- flatten, is_any, is_nothing, type_name ---


def test_flatten_splits_a_pipe_union() -> None:
    assert flatten(int | str) == (int, str)


def test_flatten_splits_a_typing_union_and_optional() -> None:
    assert flatten(Union[int, str, bytes]) == (int, str, bytes)  # noqa: UP007
    assert flatten(Optional[int]) == (int, type(None))  # noqa: UP045


def test_flatten_leaves_a_single_type_alone() -> None:
    assert flatten(int) == (int,)
    assert flatten(Any) == (Any,)


def test_flatten_does_not_split_a_union_inside_a_container() -> None:
    assert flatten(list[int | str]) == (list[int | str],)


def test_flatten_turns_none_into_nonetype() -> None:
    assert flatten(None) == (type(None),)


def test_is_any_holds_only_for_any_and_object() -> None:
    assert is_any(Any)
    assert is_any(object)
    assert not is_any(int)
    assert not is_any(list[Any])


def test_is_nothing_holds_for_none_and_never() -> None:
    assert is_nothing(None)
    assert is_nothing(type(None))
    assert is_nothing(Never)
    assert is_nothing(NoReturn)
    assert not is_nothing(int)
    assert not is_nothing(Any)


@pytest.mark.parametrize(
    ("tp", "expected"),
    [
        (int, "int"),
        (Dog, "Dog"),
        (Any, "Any"),
        (list[int], "list[int]"),
        (int | str, "int | str"),
        (dict[str, list[int]], "dict[str, list[int]]"),
    ],
)
def test_type_name_is_readable(tp: object, expected: str) -> None:
    assert type_name(tp) == expected
