"""Factories shared by every app's tests."""

import factory
from django.contrib.auth.models import Group

from deposits.models import Branch, Customer
from outage_desk.models import User
from tests.log_guard import sensitive


class BranchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Branch
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"B{n:03d}")
    name = factory.Sequence(lambda n: f"Branch {n}")
    timezone = "Europe/London"
    currency = "GBP"


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer
        skip_postgeneration_save = True

    @factory.post_generation
    def _guard(self, create: bool, extracted: object, **kwargs: object) -> None:
        sensitive(self.account, self.name, self.email, self.phone)

    account = factory.Sequence(lambda n: f"GB{n:08d}")
    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    phone = factory.Sequence(lambda n: f"+4477009{n:05d}")
    branch = factory.SubFactory(BranchFactory)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "pw")
    branch = factory.SubFactory(BranchFactory)

    @factory.post_generation
    def roles(
        self, create: bool, extracted: list[str] | None, **kwargs: object
    ) -> None:
        if create and extracted:
            self.groups.set([Group.objects.get(name=name) for name in extracted])
        if create:
            self.save()
