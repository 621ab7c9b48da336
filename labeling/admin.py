from django.contrib import admin

from . import models

for model in (models.Project, models.Membership, models.LabelClass, models.Video, models.Track, models.Job):
    admin.site.register(model)
