"""Generate a realistic practice at scale for the benchmark (docs/performance.md): `manage.py generate_practice`.

Full size (the default): 50 physicians with profiles, FL/NJ licences, DEA and NJ CDS registrations
and weekly hours; 20,000 patients (Florida Eastern, Florida Central, New Jersey) with profiles,
signed consents, PHQ-9/GAD-7 histories, Stripe mirrors (mostly active, some past_due/canceled)
and invoices; 200,000 appointments over a year (past: completed, cancelled, no-show; future:
booked) laid on a per-physician grid so no two active visits of a physician overlap (the
PostgreSQL exclusion constraint holds); reminder rows for the booked ones; 50,000 delivery
orders from signed prescriptions with their OrderEvent timelines and carrier tracking numbers.

Rows are written with bulk_create in batches, bypassing the services on purpose (the services
are what the benchmark measures; one row at a time through them would take hours). Every
generated person has an email at GEN_DOMAIN, so the data is recognisable. Deterministic: the
same options and seed give the same rows (the clock is the only input that moves: the year
is centred on today). Fake people and fake credential numbers only.

PostgreSQL only, unless --small (a few hundred rows, used by the tests on SQLite).
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

GEN_DOMAIN = "gen.practice.example"
STAFF_EMAIL = f"staff@{GEN_DOMAIN}"
PASSWORD = "Generated-Practice-Password-1"  # the same (fake) password for every generated account
BATCH = 5000

# (city, state, zip, county fips, time zone, share)
PLACES = [
    ("Miami", "FL", "33139", "12086", "America/New_York", 18),
    ("Tampa", "FL", "33606", "12057", "America/New_York", 12),
    ("Orlando", "FL", "32801", "12095", "America/New_York", 12),
    ("Jacksonville", "FL", "32202", "12031", "America/New_York", 10),
    ("Gainesville", "FL", "32601", "12001", "America/New_York", 8),
    ("Pensacola", "FL", "32501", "12033", "America/Chicago", 6),
    ("Panama City", "FL", "32401", "12005", "America/Chicago", 4),
    ("Newark", "NJ", "07102", "34013", "America/New_York", 12),
    ("Hoboken", "NJ", "07030", "34017", "America/New_York", 10),
    ("Trenton", "NJ", "08608", "34021", "America/New_York", 8),
]
FIRST = ["Ava", "Ben", "Chloe", "Dan", "Ema", "Finn", "Gia", "Hugo", "Ines", "Jon", "Kai", "Lea", "Max", "Nia", "Omar"]
LAST = ["Abbott", "Baker", "Cruz", "Diaz", "Evans", "Ford", "Garcia", "Hale", "Ito", "Jones", "Khan", "Lopez", "Moss"]

SLOT_CELL = timedelta(minutes=45)  # visit (<= 30 min) + buffer (10 min) fits in one cell
DAY_START, DAY_END = dtime(8, 0), dtime(20, 0)  # physicians' weekly hours, Monday to Saturday
PAST_DAYS, FUTURE_DAYS = 300, 65
FUTURE_FILL = 0.30  # share of future cells already booked (the rest is what availability offers)

ORDER_FORWARD = [
    "created",
    "sent_to_pharmacy",
    "compounding",
    "shipped",
    "in_transit",
    "out_for_delivery",
    "delivered",
]


class Progress:
    """A one-line progress bar on stdout (\\r), no dependency."""

    def __init__(self, out, label: str, total: int):
        self.out, self.label, self.total, self.done, self.started = out, label, max(total, 1), 0, time.monotonic()
        self._draw()

    def _draw(self, end: str = "") -> None:
        width = 30
        filled = int(width * min(self.done, self.total) / self.total)
        bar = "#" * filled + "." * (width - filled)
        elapsed = time.monotonic() - self.started
        self.out.write(f"\r  {self.label:<22} [{bar}] {self.done:>8,}/{self.total:,} {elapsed:6.1f}s{end}")
        self.out.flush()

    def add(self, n: int) -> None:
        self.done += n
        self._draw()

    def finish(self) -> None:
        self._draw("\n")


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _npi(n: int) -> str:
    from practice.identifiers import npi_check_digit

    first_nine = f"18{n:07d}"
    return first_nine + npi_check_digit(first_nine)


def _dea(prefix: str, n: int) -> str:
    from practice.identifiers import dea_check_digit

    first_eight = f"{prefix}{n:06d}"
    return first_eight + dea_check_digit(first_eight)


class Command(BaseCommand):
    help = "Generate a large, realistic practice (PostgreSQL) for the benchmark; see bench/README in the README."

    def add_arguments(self, parser):
        parser.add_argument("--physicians", type=int, default=50)
        parser.add_argument("--patients", type=int, default=20_000)
        parser.add_argument("--appointments", type=int, default=200_000)
        parser.add_argument("--orders", type=int, default=50_000)
        parser.add_argument("--scale", type=float, default=1.0, help="Multiply every count (0.1 = a tenth).")
        parser.add_argument("--seed", type=int, default=9)
        parser.add_argument("--small", action="store_true", help="A tiny practice; the only size allowed on SQLite.")
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Drop every table of the database and migrate again first (only a database named *bench*).",
        )
        parser.add_argument("--if-missing", action="store_true", help="Do nothing when the data is already there.")

    # --- entry point ---------------------------------------------------------------------
    def handle(self, *args, **opts):
        started = time.monotonic()
        self.out = self.stdout._out  # the raw stream: the progress bar rewrites its line with \r
        vendor = connection.vendor
        if vendor != "postgresql" and not opts["small"]:
            raise CommandError(
                "generate_practice builds hundreds of thousands of rows: it needs PostgreSQL "
                "(DATABASE_URL=postgres://...). On SQLite only --small is allowed."
            )
        if opts["small"]:
            counts = {"physicians": 4, "patients": 40, "appointments": 300, "orders": 60}
        else:
            counts = {k: max(1, int(opts[k] * opts["scale"])) for k in ("physicians", "patients", "appointments")}
            counts["orders"] = int(opts["orders"] * opts["scale"])
        if opts["reset"]:
            self._reset()
        from accounts.models import User

        existing = User.objects.filter(email__endswith="@" + GEN_DOMAIN, role="patient").count()
        if existing:
            if opts["if_missing"] and existing >= counts["patients"]:
                self.out.write(f"generate_practice: already generated ({existing:,} patients); nothing to do.\n")
                return
            raise CommandError(
                f"{existing:,} generated patients are already here: use --reset (bench databases) or --if-missing."
            )
        self.rng = random.Random(opts["seed"])
        self.now = timezone.now().replace(second=0, microsecond=0)
        self.password = make_password(PASSWORD)
        self.out.write(
            f"generate_practice on {vendor} ({connection.settings_dict['NAME']}): "
            + ", ".join(f"{v:,} {k}" for k, v in counts.items())
            + "\n"
        )
        self._physicians(counts["physicians"])
        self._patients(counts["patients"])
        self._appointments(counts["appointments"])
        self._orders(counts["orders"])
        if vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        # Rows were written directly, past the model signals that invalidate cached availability.
        from django.core.cache import cache

        cache.clear()
        elapsed = time.monotonic() - started
        self.out.write(f"generate_practice: done in {elapsed:.1f} s\n")

    # --- helpers -------------------------------------------------------------------------
    def _bulk(self, model, rows, label: str, progress: Progress | None = None) -> list:
        own = progress is None
        progress = progress or Progress(self.out, label, len(rows))
        created = []
        for i in range(0, len(rows), BATCH):
            with transaction.atomic():
                created.extend(model.objects.bulk_create(rows[i : i + BATCH]))
            progress.add(len(rows[i : i + BATCH]))
        if own:
            progress.finish()
        return created

    def _reset(self) -> None:
        from django.core.management import call_command

        name = str(connection.settings_dict["NAME"])
        if connection.vendor != "postgresql" or "bench" not in name:
            raise CommandError(f"--reset drops every table: refused for database {name!r} (its name lacks 'bench').")
        self.out.write(f"reset: dropping and re-creating schema public of {name}\n")
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        call_command("migrate", verbosity=0, interactive=False)

    def _user(self, role: str, email: str, first: str, last: str, **extra):
        from accounts.models import User

        return User(
            public_id=_uuid(self.rng),
            email=email,
            first_name=first,
            last_name=last,
            role=role,
            password=self.password,
            date_joined=self.now - timedelta(days=PAST_DAYS + 30),
            **extra,
        )

    # --- physicians ----------------------------------------------------------------------
    def _physicians(self, n: int) -> None:
        from accounts.models import User

        rng = self.rng
        if not User.objects.filter(email=STAFF_EMAIL).exists():
            User.objects.bulk_create(
                [self._user("staff", STAFF_EMAIL, "Sam", "Staff", staff_role="care_coordinator", is_staff=True)]
            )
        users = [
            self._user("physician", f"dr{i:03d}@{GEN_DOMAIN}", rng.choice(FIRST), f"{rng.choice(LAST)}-{i:03d}")
            for i in range(n)
        ]
        users = self._bulk(User, users, "physicians")
        tables = self._physician_credentials_and_hours(users)
        progress = Progress(self.out, "credentials + hours", sum(len(rows) for _, rows in tables))
        for model, rows in tables:
            self._bulk(model, rows, "", progress)
        progress.finish()
        self.physicians = users

    def _physician_credentials_and_hours(self, users: list) -> list[tuple[type, list]]:
        """(model, rows) in insertion order: profiles, licences, DEA and NJ CDS registrations, weekly
        hours. Records each physician's states and zone for the appointments and patients."""
        from practice.models import DEARegistration, NJCDSRegistration, PhysicianProfile, StateLicense
        from scheduling.models import WeeklyAvailability

        rng = self.rng
        today = self.now.date()
        issued, expires = today - timedelta(days=900), today + timedelta(days=700)
        profiles, licences, deas, cds, weekly = [], [], [], [], []
        self.physician_states: dict[int, tuple[str, ...]] = {}
        self.physician_tz: dict[int, ZoneInfo] = {}
        for i, user in enumerate(users):
            # 40% Florida only, 20% New Jersey only, 40% both (tests of --small get every kind).
            states = ("FL",) if i % 5 in (0, 1) else (("NJ",) if i % 5 == 2 else ("FL", "NJ"))
            tz = "America/Chicago" if (states == ("FL",) and i % 10 == 0) else "America/New_York"
            self.physician_states[user.pk] = states
            self.physician_tz[user.pk] = ZoneInfo(tz)
            profiles.append(self._physician_profile(i, user, states, tz))
            for state in states:
                licence, dea = self._licence_and_dea(i, user, state, issued, expires)
                licences.append(licence)
                deas.append(dea)
            if "NJ" in states:
                cds.append(
                    NJCDSRegistration(
                        public_id=_uuid(rng),
                        physician=user,
                        number=f"D{800000 + i}",
                        issued_on=issued,
                        expires_on=expires,
                    )
                )
            weekly += [  # Monday to Saturday
                WeeklyAvailability(
                    public_id=_uuid(rng), physician=user, weekday=weekday, start_time=DAY_START, end_time=DAY_END
                )
                for weekday in range(6)
            ]
        return [
            (PhysicianProfile, profiles),
            (StateLicense, licences),
            (DEARegistration, deas),
            (NJCDSRegistration, cds),
            (WeeklyAvailability, weekly),
        ]

    def _physician_profile(self, i: int, user, states: tuple[str, ...], tz: str):
        from practice.models import PhysicianProfile

        return PhysicianProfile(
            public_id=_uuid(self.rng),
            user=user,
            npi=_npi(i),
            time_zone=tz,
            accepting_new_patients=True,
            new_patient_cap=None,
            office_address_line1=f"{100 + i} Main Street",
            office_city="Tampa" if states[0] == "FL" else "Newark",
            office_state=states[0],
            office_zip_code="33606" if states[0] == "FL" else "07102",
        )

    def _licence_and_dea(self, i: int, user, state: str, issued: date, expires: date) -> tuple:
        from practice.models import DEARegistration, StateLicense

        licence = StateLicense(
            public_id=_uuid(self.rng),
            physician=user,
            state=state,
            number=f"{'ME' if state == 'FL' else '25MA'}{700000 + i}",
            kind="full_licence",
            issued_on=issued,
            expires_on=expires,
        )
        dea = DEARegistration(
            public_id=_uuid(self.rng),
            physician=user,
            state=state,
            number=_dea("BG" if state == "FL" else "BN", i),
            schedules=["II", "IIN", "III", "IIIN", "IV", "V"],
            issued_on=issued,
            expires_on=expires,
        )
        return licence, dea

    # --- patients ------------------------------------------------------------------------
    def _patients(self, n: int) -> None:
        from accounts.models import User

        rng = self.rng
        weights = [p[5] for p in PLACES]
        users = []
        self.patient_place: dict[str, tuple] = {}
        for i in range(n):
            place = rng.choices(PLACES, weights)[0]
            email = f"patient{i:06d}@{GEN_DOMAIN}"
            self.patient_place[email] = place
            users.append(self._user("patient", email, rng.choice(FIRST), f"{rng.choice(LAST)}-{i:06d}"))
        users = self._bulk(User, users, "patients")
        self.patients = users
        verified = self.now - timedelta(days=PAST_DAYS)
        self._patient_profiles(users, verified)
        self._consent_signatures(users, verified)
        self._questionnaires(users)
        self._billing(users, verified)

    def _patient_profiles(self, users: list, verified: datetime) -> None:
        """A verified address in one of PLACES, and a physician licensed in its state (round robin)."""
        from patients.models import PatientProfile

        by_state = {s: [p.pk for p in self.physicians if s in self.physician_states[p.pk]] for s in ("FL", "NJ")}
        profiles = []
        self.caseload: dict[int, list[int]] = {p.pk: [] for p in self.physicians}
        self.patient_state: dict[int, str] = {}
        self.patient_profile: dict[int, PatientProfile] = {}
        for i, user in enumerate(users):
            city, state, zip_code, fips, tz, _ = self.patient_place[user.email]
            doctors = by_state[state] or [p.pk for p in self.physicians]
            doctor = doctors[i % len(doctors)]
            self.caseload[doctor].append(user.pk)
            self.patient_state[user.pk] = state
            profile = PatientProfile(
                user=user,
                legal_first_name=user.first_name,
                legal_last_name=user.last_name,
                user_first_name=user.first_name,  # bulk_create sends no pre_save (patients/ordering.py)
                user_last_name=user.last_name,
                date_of_birth=date(1950 + i % 50, 1 + i % 12, 1 + i % 28),
                phone=f"+1305{5550000 + i % 10000:07d}"[:12],
                address_line1=f"{1 + i % 999} Ocean Drive",
                city=city,
                state=state,
                county_id=fips,
                zip_code=zip_code,
                time_zone=tz,
                address_verified_at=verified,
                emergency_contact_name="Pat Contact",
                emergency_contact_phone="+13055550199",
                emergency_contact_relationship="sibling",
                monitor_name="Morgan Monitor",
                monitor_phone="+13055550198",
                monitor_relationship="partner",
                monitor_adult_confirmed=True,
                assigned_physician_id=doctor,
                physician_assigned_at=verified,
                created_at=verified,
            )
            profiles.append(profile)
            self.patient_profile[user.pk] = profile
        self._bulk(PatientProfile, profiles, "patient profiles")

    def _consent_signatures(self, users: list, verified: datetime) -> None:
        from patients.models import ConsentSignature
        from patients.services.consents import body_hash, current_documents

        documents = current_documents()
        signatures = [
            ConsentSignature(
                public_id=_uuid(self.rng),
                patient=user,
                document=doc,
                document_kind=doc.kind,
                document_version=doc.version,
                body_sha256=body_hash(doc.body),
                signed_at=verified,
                ip_address="127.0.0.1",
                user_agent="generate_practice",
            )
            for user in users
            for doc in documents
        ]
        self._bulk(ConsentSignature, signatures, "consent signatures")

    def _questionnaires(self, users: list) -> None:
        """Two or three PHQ-9 and one or two GAD-7 each, improving over time."""
        from patients.models import QuestionnaireResponse
        from patients.scoring import score

        rng = self.rng
        answers_cache: dict[tuple, object] = {}
        responses = []
        for user in users:
            for instrument, items, count in (("phq9", 9, 2 + rng.random() * 2), ("gad7", 7, 1 + rng.random() * 2)):
                for k in range(int(count)):
                    level = max(0, 3 - k - rng.randint(0, 1))
                    answers = tuple(min(3, max(0, level + rng.randint(-1, 0))) for _ in range(items))
                    if instrument == "phq9":
                        answers = answers[:8] + (0,)  # item 9 negative: no safety flags in generated data
                    key = (instrument, answers)
                    if key not in answers_cache:
                        answers_cache[key] = score(instrument, list(answers))
                    scored = answers_cache[key]
                    responses.append(
                        QuestionnaireResponse(
                            public_id=_uuid(rng),
                            patient=user,
                            instrument=instrument,
                            answers=list(scored.answers),
                            total=scored.total,
                            band=scored.band,
                            taken_at=self.now - timedelta(days=PAST_DAYS - 90 * k - rng.randint(0, 20)),
                            is_baseline=k == 0,
                        )
                    )
        self._bulk(QuestionnaireResponse, responses, "questionnaires")

    def _billing(self, users: list, verified: datetime) -> None:
        """Stripe mirrors: mostly active, some past_due or canceled; three monthly invoices each."""
        from billing.models import StripeCustomer, Subscription

        rng = self.rng
        customers, subscriptions = [], []
        self.good_standing: set[int] = set()
        for user in users:
            tag = f"gen{user.pk:08d}"
            roll = rng.random()
            status = "active" if roll < 0.88 else ("past_due" if roll < 0.95 else "canceled")
            if status == "active":
                self.good_standing.add(user.pk)
            customer = StripeCustomer(patient=user, stripe_customer_id=f"cus_{tag}", created_at=verified)
            customers.append(customer)
            period_start = self.now - timedelta(days=rng.randint(1, 29))
            subscriptions.append(
                Subscription(
                    public_id=_uuid(rng),
                    patient=user,
                    customer=customer,
                    stripe_subscription_id=f"sub_{tag}",
                    status=status,
                    price_id="price_generated",
                    current_period_start=period_start,
                    current_period_end=period_start + timedelta(days=30),
                    canceled_at=self.now - timedelta(days=3) if status == "canceled" else None,
                    ended_at=self.now - timedelta(days=3) if status == "canceled" else None,
                    past_due_since=self.now - timedelta(days=3) if status == "past_due" else None,
                    stripe_created_at=verified,
                    snapshot_at=self.now - timedelta(days=1),
                    created_at=verified,
                )
            )
        self._bulk(StripeCustomer, customers, "stripe customers")
        subscriptions = self._bulk(Subscription, subscriptions, "subscriptions")
        self._invoices(subscriptions)

    def _invoices(self, subscriptions: list) -> None:
        from billing.models import Invoice

        invoices = []
        for sub in subscriptions:
            for months_ago in (2, 1, 0):
                created = sub.current_period_start - timedelta(days=30 * months_ago)
                unpaid = months_ago == 0 and sub.status == "past_due"
                invoices.append(
                    Invoice(
                        public_id=_uuid(self.rng),
                        patient_id=sub.patient_id,
                        subscription=sub,
                        stripe_invoice_id=f"in_{sub.stripe_subscription_id[4:]}_{months_ago}",
                        number=f"GEN-{sub.patient_id:06d}-{3 - months_ago}",
                        status="open" if unpaid else "paid",
                        amount_due=25000,
                        amount_paid=0 if unpaid else 25000,
                        attempt_count=2 if unpaid else 1,
                        period_start=created,
                        period_end=created + timedelta(days=30),
                        stripe_created_at=created,
                        paid_at=None if unpaid else created + timedelta(hours=1),
                        snapshot_at=self.now - timedelta(days=1),
                        created_at=created,
                    )
                )
        self._bulk(Invoice, invoices, "invoices")

    # --- appointments --------------------------------------------------------------------
    def _cells(self, physician_id: int) -> tuple[list[datetime], list[datetime]]:
        """Every 45-minute cell of the physician's hours over the year, as UTC (past, future).
        Future cells start after the booking lead time so a booked visit is a valid one."""
        tz = self.physician_tz[physician_id]
        today = self.now.astimezone(tz).date()
        past, future = [], []
        lead = self.now + timedelta(hours=3)
        for offset in range(-PAST_DAYS, FUTURE_DAYS + 1):
            day = today + timedelta(days=offset)
            if day.weekday() == 6:
                continue
            start = datetime.combine(day, DAY_START, tzinfo=tz)
            end = datetime.combine(day, DAY_END, tzinfo=tz)
            while start + SLOT_CELL <= end:
                utc = start.astimezone(UTC)
                if utc < self.now - timedelta(hours=1):
                    past.append(utc)
                elif utc > lead:
                    future.append(utc)
                start = start + SLOT_CELL
        return past, future

    def _appointments(self, n: int) -> None:
        from scheduling.models import Appointment, AppointmentType

        rng = self.rng
        types = {t.code: t for t in AppointmentType.objects.all()}
        per_physician = max(1, n // len(self.physicians))
        rows: list[Appointment] = []
        self.completed_visits: dict[int, tuple[int, datetime]] = {}  # patient -> (physician, completed at)
        future_booked: dict[int, int] = {}
        first_visit_done: set[int] = set()
        for physician in self.physicians:
            past, future = self._cells(physician.pk)
            patients = self.caseload[physician.pk]
            if not patients:
                continue
            n_future = min(len(future), int(per_physician * FUTURE_DAYS / (PAST_DAYS + FUTURE_DAYS) * 1.0))
            n_future = min(n_future, int(len(future) * FUTURE_FILL))
            n_past = min(len(past), per_physician - n_future)
            chosen = sorted(rng.sample(past, n_past)) + sorted(rng.sample(future, n_future))
            for k, starts_at in enumerate(chosen):
                row = self._appointment(physician, k, starts_at, patients, types, future_booked, first_visit_done)
                if row is not None:
                    rows.append(row)
        rows = self._bulk(Appointment, rows, "appointments")
        self._reminders(rows)

    def _appointment(
        self,
        physician,
        k: int,
        starts_at: datetime,
        patients: list[int],
        types: dict,
        future_booked: dict[int, int],
        first_visit_done: set[int],
    ):
        """The k-th visit of the physician's grid, or None when the patients picked already have two
        upcoming visits. The first visit of a patient is their free consultation."""
        from scheduling.models import Appointment

        rng = self.rng
        patient_id = patients[k % len(patients)]
        if starts_at > self.now:
            # At most two upcoming visits per patient (the booking rule allows three).
            if future_booked.get(patient_id, 0) >= 2:
                patient_id = patients[rng.randrange(len(patients))]
                if future_booked.get(patient_id, 0) >= 2:
                    return None
            future_booked[patient_id] = future_booked.get(patient_id, 0) + 1
            status = "booked"
        else:
            roll = rng.random()
            status = "completed" if roll < 0.86 else ("cancelled" if roll < 0.95 else "no_show")
        code = "follow_up"
        if patient_id not in first_visit_done and status != "cancelled":
            code = "free_consultation"
            first_visit_done.add(patient_id)
        elif rng.random() < 0.25:
            code = "medication_review"
        kind = types[code]
        ends_at = starts_at + timedelta(minutes=kind.duration_minutes)
        row = Appointment(
            public_id=_uuid(rng),
            patient_id=patient_id,
            physician=physician,
            appointment_type=kind,
            starts_at=starts_at,
            ends_at=ends_at,
            buffer_minutes=kind.buffer_minutes,
            status=status,
            idempotency_key=f"gen-{physician.pk}-{k}",
            patient_state=self.patient_state[patient_id],
            patient_state_at_visit=self.patient_state[patient_id] if status == "completed" else "",
            created_at=starts_at - timedelta(days=rng.randint(1, 20)),
        )
        if status == "completed":
            row.started_at, row.completed_at = starts_at, ends_at
            self.completed_visits[patient_id] = (physician.pk, ends_at)
        elif status == "cancelled":
            row.cancelled_at = starts_at - timedelta(days=1)
        return row

    def _reminders(self, appointments: list) -> None:
        """The 24-hour and 1-hour reminders of every booked visit, by email and SMS; those due are sent."""
        from scheduling.models import Reminder

        reminders = []
        for appointment in appointments:
            if appointment.status != "booked":
                continue
            for kind, hours in (("24h", 24), ("1h", 1)):
                for channel in ("email", "sms"):
                    due = appointment.starts_at - timedelta(hours=hours)
                    sent = due <= self.now
                    reminders.append(
                        Reminder(
                            appointment=appointment,
                            channel=channel,
                            kind=kind,
                            due_at=due,
                            status="sent" if sent else "pending",
                            sent_at=due if sent else None,
                            attempts=1 if sent else 0,
                        )
                    )
        self._bulk(Reminder, reminders, "reminders")

    # --- prescriptions and delivery orders -----------------------------------------------
    def _orders(self, n: int) -> None:
        from prescriptions.models import DeliveryOrder

        if n <= 0:
            return
        product, pharmacy = self._product_and_pharmacy()
        # One signed prescription per patient with a completed visit, up to ~3 orders each.
        per_rx = 3
        prescriptions = self._signed_prescriptions(n, per_rx, product=product, pharmacy=pharmacy)
        orders, paths = [], []
        remaining = n
        for index, rx in enumerate(prescriptions):
            count = min(remaining, per_rx if index < len(prescriptions) - 1 else remaining)
            if count <= 0:
                break
            span = max(1.0, (self.now - rx.signed_at).total_seconds() / 86400 - 1)
            for sequence in range(1, count + 1):
                created_at = rx.signed_at + timedelta(days=span * (sequence - 1) / count)
                order, path = self._delivery_order(rx, sequence, created_at, pharmacy=pharmacy)
                orders.append(order)
                paths.append((path, created_at))
            remaining -= count
        orders = self._bulk(DeliveryOrder, orders, "delivery orders")
        self._order_events(orders, paths)

    def _product_and_pharmacy(self) -> tuple:
        """The troche and a compounding pharmacy licensed to ship to FL and NJ (made once)."""
        from prescriptions.models import MedicationProduct, Pharmacy, PharmacyStateLicence

        product, _ = MedicationProduct.objects.get_or_create(
            dosage_form="buccal_troche",
            strength=Decimal("100"),
            strength_unit="mg",
            defaults={
                "name": "Ketamine buccal troche",
                "route": "buccal",
                "dispensing_unit": "troche",
                "heat_sensitive": True,
            },
        )
        pharmacy, created = Pharmacy.objects.get_or_create(
            name="Generated Compounding Pharmacy", defaults={"email": f"orders@{GEN_DOMAIN}", "state": "TX"}
        )
        if created:
            expires = self.now.date() + timedelta(days=700)
            PharmacyStateLicence.objects.bulk_create(
                [
                    PharmacyStateLicence(
                        pharmacy=pharmacy,
                        state="FL",
                        kind="fl_nonresident_permit",
                        licence_number="GEN-FL-1",
                        expires_on=expires,
                    ),
                    PharmacyStateLicence(
                        pharmacy=pharmacy,
                        state="NJ",
                        kind="nj_registration",
                        licence_number="GEN-NJ-1",
                        expires_on=expires,
                    ),
                ]
            )
        return product, pharmacy

    def _signed_prescriptions(self, n: int, per_rx: int, *, product, pharmacy) -> list:
        """Enough signed prescriptions for n orders, for patients picked at random among those with a
        completed visit, signed by that visit's physician after it."""
        from prescriptions.models import Prescription

        rng = self.rng
        candidates = sorted(self.completed_visits.items())
        rng.shuffle(candidates)
        wanted_rx = min(len(candidates), max(1, -(-n // per_rx)))
        prescriptions = []
        for patient_id, (physician_id, visit_end) in candidates[:wanted_rx]:
            signed_at = max(visit_end + timedelta(hours=2), self.now - timedelta(days=170))
            signed_at = min(signed_at, self.now - timedelta(days=1))
            state = self.patient_state[patient_id]
            prescriptions.append(
                Prescription(
                    public_id=_uuid(rng),
                    patient_id=patient_id,
                    physician_id=physician_id,
                    product=product,
                    pharmacy=pharmacy,
                    dose="100 mg",
                    directions="One troche during a monitored session, twice weekly.",
                    quantity=8,
                    first_fill_quantity=4,
                    days_supply=28,
                    refills=5,
                    status="signed",
                    patient_state=state,
                    signed_at=signed_at,
                    expires_on=(signed_at + timedelta(days=182)).date(),
                    snapshot={"generated": True, "patient_state": state, "drug": "Ketamine buccal troche 100 mg"},
                    created_at=signed_at,
                )
            )
        return self._bulk(Prescription, prescriptions, "prescriptions")

    def _delivery_order(self, rx, sequence: int, created_at: datetime, *, pharmacy) -> tuple:
        """A fill and the status path it took: older ones mostly delivered, recent ones on their way."""
        from prescriptions.models import DeliveryOrder

        rng = self.rng
        profile = self.patient_profile[rx.patient_id]
        age_days = (self.now - created_at).total_seconds() / 86400
        if age_days > 10:
            roll = rng.random()
            target = "delivered" if roll < 0.93 else ("cancelled" if roll < 0.96 else "returned")
        else:
            target = ORDER_FORWARD[min(6, int(age_days / 1.5))]
            if rng.random() < 0.05:
                target = "exception"
        path = self._path(target)
        steps = len(path) - 1
        changed_at = min(created_at + timedelta(hours=12 * steps), self.now - timedelta(minutes=5))
        order = DeliveryOrder(
            public_id=_uuid(rng),
            prescription=rx,
            patient_id=rx.patient_id,
            pharmacy=pharmacy,
            sequence=sequence,
            quantity=4 if sequence == 1 else 8,
            status=target,
            status_changed_at=changed_at,
            ship_to_name=f"{profile.legal_first_name} {profile.legal_last_name}",
            ship_to_line1=profile.address_line1,
            ship_to_city=profile.city,
            ship_to_state=profile.state,
            ship_to_zip=profile.zip_code,
            ship_to_county_fips=profile.county_id,
            created_at=created_at,
        )
        if "shipped" in path:
            order.carrier = "USPS"
            order.tracking_number = f"9400{rx.patient_id:010d}{sequence:02d}"
            order.tracker_id = f"trk_gen_{rx.patient_id:08d}_{sequence:02d}"
            order.carrier_status = {"delivered": "delivered", "returned": "return_to_sender"}.get(target, "in_transit")
            order.shipped_at = created_at + timedelta(hours=36)
            order.last_carrier_update = changed_at
            if target == "delivered":
                order.delivered_at = changed_at
        return order, path

    def _order_events(self, orders: list, paths: list[tuple[list[str], datetime]]) -> None:
        """Each order's timeline, one event per step of its path, twelve hours apart."""
        from prescriptions.models import OrderEvent

        events = []
        for order, (path, created_at) in zip(orders, paths, strict=True):
            previous = ""
            for step, status in enumerate(path):
                source = "easypost" if step >= 4 else ("pharmacy_gateway" if step == 1 else "system")
                events.append(
                    OrderEvent(
                        order=order,
                        from_status=previous,
                        to_status=status,
                        source=source,
                        occurred_at=min(created_at + timedelta(hours=12 * step), self.now - timedelta(minutes=5)),
                        note="generated",
                    )
                )
                previous = status
        self._bulk(OrderEvent, events, "order events")

    @staticmethod
    def _path(target: str) -> list[str]:
        if target == "cancelled":
            return ["created", "cancelled"]
        if target in ("exception", "returned"):
            return [*ORDER_FORWARD[:5], target]
        return ORDER_FORWARD[: ORDER_FORWARD.index(target) + 1]
