"""django-filter FilterSets for the staff delivery board. The API validates the query string
with DeliveryOrderQueryInput (400 with field codes); the selector applies the filters here."""

import django_filters

from prescriptions.models import DeliveryOrder
from prescriptions.selectors import overdue_q


class DeliveryOrderFilter(django_filters.FilterSet):
    status = django_filters.CharFilter(field_name="status")
    state = django_filters.CharFilter(field_name="ship_to_state")
    pharmacy = django_filters.UUIDFilter(field_name="pharmacy__public_id")
    carrier = django_filters.CharFilter(field_name="carrier", lookup_expr="iexact")
    overdue = django_filters.BooleanFilter(method="filter_overdue")

    class Meta:
        model = DeliveryOrder
        fields = ["status", "state", "pharmacy", "carrier", "overdue"]

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(overdue_q()) if value else queryset.exclude(overdue_q())
