from django import template

from salesline.enquiries.access import member_networks

register = template.Library()


@register.filter
def in_a_network(actor) -> bool:
    """Whether the actor's organisation is a member of any network (the "Networks" entry)."""
    return bool(actor) and member_networks(actor).exists()
