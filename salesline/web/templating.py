"""The template backend of the web pages: Django's, with text that cannot be encoded repaired.

A lone UTF-16 surrogate stored before the text rule (core.text), or written to the database
directly, would make the response's UTF-8 encoding fail, and a whole list would answer 500 for
one bad row. Each rendered page has such characters replaced by U+FFFD instead.
"""

from __future__ import annotations

from django.template.backends.django import DjangoTemplates, Template
from django.utils.safestring import SafeString

from salesline.core.text import scrub


class ScrubbedTemplate(Template):
    def render(self, context=None, request=None):
        rendered = super().render(context, request)
        cleaned = scrub(rendered)
        if cleaned is rendered:
            return rendered
        # The output was escaped already; replacing a character by U+FFFD keeps it so.
        return SafeString(cleaned)


class ScrubbingTemplates(DjangoTemplates):
    def from_string(self, template_code):
        return ScrubbedTemplate(self.engine.from_string(template_code), self)

    def get_template(self, template_name):
        template = super().get_template(template_name)
        return ScrubbedTemplate(template.template, self)
