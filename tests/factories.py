"""Factories shared by every app's tests. Each app's own factories live in tests/<app>/factories.py."""

import factory

from accounts.models import Role, StaffRole, User

PASSWORD = "Correct-Horse-Battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    role = Role.PATIENT
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create and results:
            instance.save()


class PatientUserFactory(UserFactory):
    role = Role.PATIENT


class PhysicianUserFactory(UserFactory):
    role = Role.PHYSICIAN


class StaffUserFactory(UserFactory):
    """A care coordinator (the sub-role every staff account had before there were others)."""

    role = Role.STAFF
    staff_role = StaffRole.CARE_COORDINATOR
    is_staff = True


CareCoordinatorFactory = StaffUserFactory


class PharmacyLiaisonFactory(StaffUserFactory):
    staff_role = StaffRole.PHARMACY_LIAISON


class MedicalDirectorFactory(StaffUserFactory):
    staff_role = StaffRole.MEDICAL_DIRECTOR


class AdminUserFactory(UserFactory):
    role = Role.ADMIN
    is_staff = True
    is_superuser = True
