"""The staff console: pages inside the Django admin (its look, its session sign-in and idle
timeout) for the delivery board, the prescribing-readiness worklist and the review queue
(docs/staff-console.md).

Who may open a page is the API's rule for the same data (accounts.scopes): a page outside the
viewer's capabilities answers 404, like an API route out of scope. The pages read through the
same selectors as the API and write through the same services, so they refuse what the API
refuses.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts import scopes
from accounts.audit import audit_log
from accounts.models import AuditAction
from accounts.scopes import Capability
from api.clock import practice_date, practice_zone
from api.errors import DomainError, NotFound
from careteam.apis import CSV_COLUMNS as READINESS_CSV_COLUMNS
from careteam.readiness import readiness_worklist
from careteam.renderers import CSVRenderer
from careteam.serializers import ReadinessRowOutput
from console import selectors
from console.links import tracking_url
from patients import selectors as patient_selectors
from prescriptions import selectors as rx_selectors
from prescriptions.models import DeliveryOrder, OrderStatus
from prescriptions.services.orders import delivery_order_transition
from prescriptions.state_machine import TRANSITIONS

BOARD_PAGE_SIZE = 50
WORKLIST_PAGE_SIZE = 100
QUEUE_SHOWN = 200  # rows of each review list on the page; the CSV has them all
STATES = [value for value, _ in DeliveryOrder._meta.get_field("ship_to_state").choices]


def staff_page(view):
    """An admin page of the console: staff sign-in (the admin's), times shown in the practice's
    zone (where the staff work), then the page's own capability check."""
    from functools import wraps

    from django.contrib import admin

    @wraps(view)
    def page(request, *args, **kwargs):
        with timezone.override(practice_zone()):
            return view(request, *args, **kwargs)

    return admin.site.admin_view(page)


# --- Who opens what ----------------------------------------------------------------------------
def can_open_board(user) -> bool:
    return scopes.sees_all(user, Capability.SHIPPING)


def can_move_orders(user) -> bool:
    return scopes.sees_all(user, Capability.ORDER_WORK)


def can_open_readiness(user) -> bool:
    return scopes.sees(user, Capability.PRESCRIBING_READINESS)


def can_open_review_queue(user) -> bool:
    return scopes.sees_all(user, Capability.REVIEW_QUEUE)


def console_pages(user) -> list[tuple[str, str]]:
    """(title, url) of each console page this person may open."""
    pages = [
        ("Delivery board", "console:board", can_open_board),
        ("Prescribing readiness", "console:readiness", can_open_readiness),
        ("Review queue", "console:review-queue", can_open_review_queue),
    ]
    return [(title, reverse(name)) for title, name, allowed in pages if allowed(user)]


def _context(request, title: str, **extra) -> dict:
    from django.contrib import admin

    return {
        **admin.site.each_context(request),
        "is_nav_sidebar_enabled": False,  # the console's tables want the page's width
        "title": title,
        "console_pages": console_pages(request.user),
        "zone_name": practice_zone().key,
        **extra,
    }


def _patient_profile_url(user, profile_id) -> str | None:
    """The patient's page in the admin, for those whose admin group opens it."""
    if profile_id is None or not user.has_perm("patients.view_patientprofile"):
        return None
    return reverse("admin:patients_patientprofile_change", args=[profile_id])


def _csv(filename: str, columns: list[str], rows: list[dict]) -> HttpResponse:
    body = CSVRenderer().render({"columns": columns, "rows": rows})
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- Index ---------------------------------------------------------------------------------------
def index(request):
    pages = console_pages(request.user)
    if not pages:
        raise Http404
    return render(request, "console/index.html", _context(request, "Staff console", pages=pages))


# --- Delivery board ------------------------------------------------------------------------------
def _board_filters(params) -> dict:
    status = params.get("status") or None
    state = params.get("state") or None
    overdue = {"yes": True, "no": False}.get(params.get("overdue", ""))
    return {
        "status": status if status in OrderStatus.values else None,
        "state": state if state in STATES else None,
        "overdue": overdue,
    }


def _order_row(order, *, now) -> dict:
    limit = selectors.stuck_limit(order.status)
    in_status = now - order.status_changed_at
    return {
        "order": order,
        "attention": selectors.ATTENTION_LABELS[getattr(order, "attention", selectors.ON_TIME)],
        "time_in_status": selectors.duration_label(in_status),
        "limit": f"{int(limit.total_seconds() // 3600)} h" if limit else "",
        "tracking_url": tracking_url(order.carrier, order.tracking_number),
        "events": list(order.events.all()),
        "next_statuses": [(s, OrderStatus(s).label) for s in OrderStatus.values if s in TRANSITIONS[order.status]],
    }


def _move(request, order_ids: list[str], *, to_status: str, carrier: str, tracking_number: str, note: str) -> None:
    """Each order through the state machine's service, one transaction each: what moves moves,
    what the API would refuse is refused here with the same message."""
    if to_status not in OrderStatus.values:
        messages.error(request, "Choose the status to move the selected orders to.")
        return
    if not order_ids:
        messages.warning(request, "Select at least one order.")
        return
    moved = 0
    for order_id in order_ids:
        try:
            delivery_order_transition(
                actor=request.user,
                order_id=order_id,
                to_status=to_status,
                note=(note or "staff console").strip()[:255],
                carrier=carrier,
                tracking_number=tracking_number,
                request=request,
            )
            moved += 1
        except NotFound:
            messages.error(request, f"Order {order_id[:8]}: not found.")
        except DomainError as refusal:
            messages.error(request, f"Order {order_id[:8]} refused ({refusal.code}): {refusal.message}")
    if moved:
        messages.success(request, f"{moved} order(s) moved to {OrderStatus(to_status).label.lower()}.")


def _order_ids(values) -> list[str]:
    from uuid import UUID

    ids = []
    for value in values:
        try:
            ids.append(str(UUID(value)))
        except (TypeError, ValueError):
            continue
    return ids


@require_http_methods(["GET", "POST"])
def board(request):
    if not can_open_board(request.user):
        raise Http404
    if request.method == "POST":
        if not can_move_orders(request.user):
            raise Http404
        _move(
            request,
            _order_ids(request.POST.getlist("orders")),
            to_status=request.POST.get("to", ""),
            carrier=request.POST.get("carrier", ""),
            tracking_number=request.POST.get("tracking_number", ""),
            note=request.POST.get("note", ""),
        )
        back = request.POST.get("query", "")
        return redirect(reverse("console:board") + (f"?{back}" if back else ""))

    now = timezone.now()
    filters = _board_filters(request.GET)
    orders = selectors.board_orders(now=now, **filters)
    page = Paginator(orders, BOARD_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [_order_row(order, now=now) for order in page.object_list]
    audit_log(request, AuditAction.READ, *[row["order"] for row in rows], detail="console board")
    query = {k: v for k, v in {"status": filters["status"], "state": filters["state"]}.items() if v}
    if filters["overdue"] is not None:
        query["overdue"] = "yes" if filters["overdue"] else "no"
    return render(
        request,
        "console/board.html",
        _context(
            request,
            "Delivery board",
            rows=rows,
            page=page,
            counts=selectors.board_counts(now=now),
            filters=filters,
            query=urlencode(query),
            statuses=OrderStatus.choices,
            states=STATES,
            can_move=can_move_orders(request.user),
            silent_hours=_silent_hours(),
        ),
    )


def _silent_hours() -> int:
    from django.conf import settings

    return settings.SHIPMENT_SILENT_ALERT_HOURS


@require_http_methods(["GET", "POST"])
def order_detail(request, order_id):
    if not can_open_board(request.user):
        raise Http404
    if request.method == "POST":
        if not can_move_orders(request.user):
            raise Http404
        _move(
            request,
            [str(order_id)],
            to_status=request.POST.get("to", ""),
            carrier=request.POST.get("carrier", ""),
            tracking_number=request.POST.get("tracking_number", ""),
            note=request.POST.get("note", ""),
        )
        return redirect("console:order", order_id=order_id)
    try:
        order = rx_selectors.delivery_order_get_for_staff(public_id=order_id)
    except NotFound:
        raise Http404 from None
    now = timezone.now()
    order.attention = selectors.board_orders(now=now).filter(pk=order.pk).values_list("attention", flat=True).first()
    audit_log(request, AuditAction.READ, order, detail="console order")
    row = _order_row(order, now=now)
    return render(
        request,
        "console/order.html",
        _context(
            request, f"Order {str(order.public_id)[:8]}", row=row, order=order, can_move=can_move_orders(request.user)
        ),
    )


# --- Prescribing readiness ------------------------------------------------------------------
def readiness(request):
    if not can_open_readiness(request.user):
        raise Http404
    try:
        on = date.fromisoformat(request.GET["on"]) if request.GET.get("on") else practice_date()
    except ValueError:
        messages.error(request, "The date must be YYYY-MM-DD; showing today.")
        on = practice_date()
    show = request.GET.get("show", "")
    worklist = readiness_worklist(viewer=request.user, on=on)
    rows = worklist.rows
    if show == "not_ready":
        rows = [r for r in rows if not r.ready]
    elif show == "ready":
        rows = [r for r in rows if r.ready]
    if request.GET.get("format") == "csv":
        audit_log(request, AuditAction.READ, *[row.prescription for row in rows], detail="console readiness csv")
        return _csv(f"prescribing-readiness-{on}.csv", READINESS_CSV_COLUMNS, ReadinessRowOutput(rows, many=True).data)
    page = Paginator(rows, WORKLIST_PAGE_SIZE).get_page(request.GET.get("page"))
    shown = list(page.object_list)
    audit_log(request, AuditAction.READ, *[row.prescription for row in shown], detail="console readiness")
    lines = [
        {
            "row": row,
            "patient_url": _patient_profile_url(
                request.user, getattr(getattr(row.prescription.patient, "patient_profile", None), "pk", None)
            ),
        }
        for row in shown
    ]
    query = urlencode({k: v for k, v in {"on": on.isoformat(), "show": show}.items() if v})
    return render(
        request,
        "console/readiness.html",
        _context(
            request,
            "Prescribing readiness",
            worklist=worklist,
            counts=worklist.counts(),
            lines=lines,
            page=page,
            on=on,
            show=show,
            query=query,
        ),
    )


# --- Review queue -----------------------------------------------------------------------------
def _assessment_rows(assessments) -> list[dict]:
    return [
        {
            "assessment_id": str(a.public_id),
            "created_at": a.created_at.isoformat(),
            "outcome": a.outcome,
            "reasons": a.review_codes,
            "state": a.state,
            "county_fips": a.county_id,
            "consent_to_contact": a.consent_to_contact,
            "contact_name": a.contact_name,
            "contact_email": a.contact_email,
            "contact_phone": str(a.contact_phone or ""),
            "patient_id": str(a.patient.public_id) if a.patient_id else "",
        }
        for a in assessments
    ]


def _registration_rows(profiles) -> list[dict]:
    return [
        {
            "patient_id": str(p.user.public_id),
            "legal_first_name": p.legal_first_name,
            "legal_last_name": p.legal_last_name,
            "state": p.state,
            "county_fips": p.county_id,
            "created_at": p.created_at.isoformat(),
            "missing_items": p.missing_items,
        }
        for p in profiles
    ]


def _flag_rows(flags) -> list[dict]:
    return [
        {
            "flag_id": str(f.public_id),
            "patient_id": str(f.patient.public_id),
            "patient_name": f.patient.full_name,
            "kind": f.kind,
            "opened_at": f.opened_at.isoformat(),
            "last_triggered_at": f.last_triggered_at.isoformat(),
            "trigger_count": f.trigger_count,
        }
        for f in flags
    ]


REVIEW_EXPORTS = {
    "assessments": (_assessment_rows, "review-queue-assessments"),
    "registrations": (_registration_rows, "review-queue-registrations"),
    "flags": (_flag_rows, "review-queue-safety-flags"),
}


def review_queue(request):
    if not can_open_review_queue(request.user):
        raise Http404
    lists = {
        "assessments": patient_selectors.review_queue_assessments(viewer=request.user),
        "registrations": patient_selectors.review_queue_registrations(viewer=request.user),
        "flags": patient_selectors.safety_flag_list(viewer=request.user),
    }
    export = request.GET.get("export")
    if export in REVIEW_EXPORTS:
        build, name = REVIEW_EXPORTS[export]
        records = list(lists[export])
        audit_log(request, AuditAction.READ, *records, detail=f"console review queue csv {export}")
        return _csv(f"{name}-{practice_date()}.csv", _columns(export), build(records))
    shown = {key: list(qs[:QUEUE_SHOWN]) for key, qs in lists.items()}
    counts = {key: qs.count() for key, qs in lists.items()}
    audit_log(
        request, AuditAction.READ, *[r for records in shown.values() for r in records], detail="console review queue"
    )
    return render(
        request,
        "console/review_queue.html",
        _context(
            request,
            "Review queue",
            assessments=shown["assessments"],
            registrations=shown["registrations"],
            flags=[
                {
                    "flag": f,
                    "patient_url": _patient_profile_url(
                        request.user, getattr(getattr(f.patient, "patient_profile", None), "pk", None)
                    ),
                }
                for f in shown["flags"]
            ],
            counts=counts,
            shown_limit=QUEUE_SHOWN,
            profile_perm=request.user.has_perm("patients.view_patientprofile"),
            assessment_perm=request.user.has_perm("patients.view_assessment"),
        ),
    )


def _columns(export: str) -> list[str]:
    """The CSV header of an empty export (the keys of a row)."""
    return {
        "assessments": [
            "assessment_id",
            "created_at",
            "outcome",
            "reasons",
            "state",
            "county_fips",
            "consent_to_contact",
            "contact_name",
            "contact_email",
            "contact_phone",
            "patient_id",
        ],
        "registrations": [
            "patient_id",
            "legal_first_name",
            "legal_last_name",
            "state",
            "county_fips",
            "created_at",
            "missing_items",
        ],
        "flags": ["flag_id", "patient_id", "patient_name", "kind", "opened_at", "last_triggered_at", "trigger_count"],
    }[export]
