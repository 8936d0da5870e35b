from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "full_name", "role", "township", "facility", "is_active")
    list_filter = ("role", "is_active", "township")
    fieldsets = BaseUserAdmin.fieldsets + (("角色与范围", {"fields": ("full_name", "role", "township", "facility")}),)
    add_fieldsets = BaseUserAdmin.add_fieldsets + (("角色与范围", {"fields": ("full_name", "role", "township", "facility")}),)
