from django import template

from console.views import console_pages as pages

register = template.Library()


@register.simple_tag(takes_context=True)
def console_pages(context):
    """(title, url) of the console pages the signed-in person may open (for the admin's home)."""
    request = context.get("request")
    return pages(request.user) if request is not None else []
