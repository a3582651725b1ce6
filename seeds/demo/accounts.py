from accounts.models import Role, User
from seeds.demo import DEMO_PASSWORD

DEMO_USERS = [
    ("admin@demo.practice.example", Role.ADMIN, "Ada", "Admin"),
    ("staff@demo.practice.example", Role.STAFF, "Sam", "Coordinator"),
    ("pharmacy@demo.practice.example", Role.STAFF, "Pat", "Liaison"),
]


def demo_user(email: str, role: str, first_name: str, last_name: str) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(
            email,
            DEMO_PASSWORD,
            role=role,
            first_name=first_name,
            last_name=last_name,
            is_staff=role in (Role.STAFF, Role.ADMIN),
            is_superuser=role == Role.ADMIN,
        )
    return user


def run(stdout) -> None:
    for email, role, first, last in DEMO_USERS:
        demo_user(email, role, first, last)
    stdout.write(f"  {len(DEMO_USERS)} back-office accounts")
