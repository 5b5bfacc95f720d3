from django import template

from salesline.enquiries.access import memberships_of_user

register = template.Library()


@register.filter
def in_a_network(actor) -> bool:
    """Whether any organisation of the actor's user is in a network (the "Networks" entry: the
    page says where to switch to when the one they work in is not)."""
    return bool(actor) and actor.user is not None and memberships_of_user(actor.user).exists()


@register.filter
def category_label(key: str) -> str:
    """An enquiry category's label ("setting_up" -> "Setting up a co-op"); blank: not yet."""
    from salesline.enquiries.models import Category

    if not key:
        return "Not yet categorised"
    return dict(Category.choices).get(key, key)
