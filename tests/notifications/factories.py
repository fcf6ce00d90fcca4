"""Factories for the notifications app's tests."""

import factory

from notifications.models import Channel, NoticeTemplate, NoticeTemplateVersion


class NoticeTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NoticeTemplate
        django_get_or_create = ["kind", "channel", "language"]

    kind = "eta_update"
    channel = Channel.EMAIL
    language = "en"


class NoticeTemplateVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NoticeTemplateVersion

    template = factory.SubFactory(NoticeTemplateFactory)
    number = factory.Sequence(lambda n: n + 100)
    subject = "Update on {{ incident_reference }}"
    body_text = "Back by {{ eta }}."
    body_html = "<p>Back by {{ eta }}.</p>"
    status = NoticeTemplateVersion.Status.DRAFT
