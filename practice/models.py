"""Service area (counties) and physicians' credentials (profile, licences, DEA and CDS registrations)."""

from __future__ import annotations

from django.db import models


class ServiceState(models.TextChoices):
    """The states the practice serves. Our own choices, not every US state: a licence elsewhere is meaningless here."""

    FLORIDA = "FL", "Florida"
    NEW_JERSEY = "NJ", "New Jersey"


class County(models.Model):
    """A county of the service area, keyed on its 5-digit FIPS code ("Union" exists in both states).

    Loaded from seeds/data/counties.csv by a data migration, so every environment has all 88.
    """

    fips = models.CharField(max_length=5, primary_key=True)
    name = models.CharField(max_length=64)
    state = models.CharField(max_length=2, choices=ServiceState.choices)

    class Meta:
        ordering = ["state", "name"]
        verbose_name_plural = "counties"
        constraints = [
            models.UniqueConstraint(fields=["state", "name"], name="county_unique_name_per_state"),
            models.CheckConstraint(condition=models.Q(state__in=ServiceState.values), name="county_state_served"),
        ]

    def __str__(self) -> str:
        return f"{self.name}, {self.state} ({self.fips})"
