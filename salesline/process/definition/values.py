"""What counts as a value entered, for minimum fields and gates alike. Pure: no Django."""


def is_blank(value: object) -> bool:
    """True for "nothing entered": 0 and False are real answers, so they are not blank."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | dict | set | frozenset):
        return not value
    return False
