from django import template

from salesline.enquiries.access import member_networks

register = template.Library()


@register.filter
def in_a_network(actor) -> bool:
    """Whether the actor's organisation is a member of any network (the "Networks" entry)."""
    return bool(actor) and member_networks(actor).exists()


@register.filter
def category_label(key: str) -> str:
    """An enquiry category's label ("setting_up" -> "Setting up a co-op"); blank: not yet."""
    from salesline.enquiries.models import Category

    if not key:
        return "Not yet categorised"
    return dict(Category.choices).get(key, key)
