from django.contrib import admin

from . import models

for model in (models.Project, models.Membership, models.LabelClass, models.Video, models.Track, models.Job):
    admin.site.register(model)


@admin.register(models.ReidModel)
class ReidModelAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "project", "status", "created_at", "seconds")
    list_filter = ("status",)
    readonly_fields = ("job", "created_by", "created_at", "losses")
