"""The only tags and filters a notice template may use.

Templates are written by staff in the browser, so they get a deliberately small
language: placeholders, ``if``/``else``, comments and a few text filters. ``load``,
``include``, ``url`` and the rest are unknown here and fail to compile.
"""

from django.template import Library, defaultfilters, defaulttags

register = Library()

register.tag("if", defaulttags.do_if)
register.tag("comment", defaulttags.comment)

for _name in (
    "default",
    "upper",
    "lower",
    "title",
    "capfirst",
    "linebreaksbr",
    "truncatechars",
    "truncatewords",
):
    register.filter(_name, getattr(defaultfilters, _name))
