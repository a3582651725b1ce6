from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "console"
    verbose_name = "Staff console"

    def ready(self):
        from django.contrib import admin

        # The admin's home page lists the console pages the signed-in person may open.
        admin.site.index_template = "console/admin_index.html"
