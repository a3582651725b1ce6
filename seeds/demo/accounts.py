from accounts.models import Role, StaffRole, User
from seeds.demo import DEMO_PASSWORD

# Administrators manage accounts only; each staff member sees what their sub-role needs
# (docs/roles-and-access.md). None is a superuser.
DEMO_USERS = [
    ("admin@demo.practice.example", Role.ADMIN, "", "Ada", "Admin"),
    ("staff@demo.practice.example", Role.STAFF, StaffRole.CARE_COORDINATOR, "Sam", "Coordinator"),
    ("pharmacy@demo.practice.example", Role.STAFF, StaffRole.PHARMACY_LIAISON, "Pat", "Liaison"),
    ("director@demo.practice.example", Role.STAFF, StaffRole.MEDICAL_DIRECTOR, "Dana", "Director"),
]


def demo_user(email: str, role: str, first_name: str, last_name: str, staff_role: str = "") -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(
            email,
            DEMO_PASSWORD,
            role=role,
            staff_role=staff_role,
            first_name=first_name,
            last_name=last_name,
            is_staff=role in (Role.STAFF, Role.ADMIN),
        )
    return user


def run(stdout) -> None:
    for email, role, staff_role, first, last in DEMO_USERS:
        demo_user(email, role, first, last, staff_role=staff_role)
    stdout.write(f"  {len(DEMO_USERS)} back-office accounts")
