"""The staff console's pages, inside the admin (/admin/console/): the admin's sign-in, session
and idle timeout apply; each page checks the viewer's capability (console.views)."""

from django.urls import path

from console import views

app_name = "console"

urlpatterns = [
    path("", views.staff_page(views.index), name="index"),
    path("deliveries/", views.staff_page(views.board), name="board"),
    path("deliveries/<uuid:order_id>/", views.staff_page(views.order_detail), name="order"),
    path("prescribing-readiness/", views.staff_page(views.readiness), name="readiness"),
    path("review-queue/", views.staff_page(views.review_queue), name="review-queue"),
]
