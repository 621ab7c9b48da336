"""Writes. Every change to the database goes through a function in this package (HackSoft style:
views and serializers stay thin, models carry no logic).

Services raise ``django.core.exceptions.ValidationError`` with one sentence for a person; the API
turns it into ``400 {"detail": ...}``. Role checks live in the views (labeling/permissions.py); the
few rules that depend on *who* asks (e.g. only owners make owners) take the caller's role.
"""
